// PoolCore: acquiring — the fast path, the wait queue with bounded fairness,
// and the borrow checks (is_broken, validate) under one deadline.
#include "pool_core_internal.hpp"

#include <optional>
#include <thread>

#include <fmt/format.h>

namespace respool::detail {

LeaseRecord* PoolCore::acquire(std::chrono::nanoseconds timeout, const std::stop_token& stop,
                               const std::source_location& site, bool may_wait)
{
    AcquireContext ctx{timeout, stop, site, may_wait};
    ctx.start_ticks = time_.ticks();
    Deferred deferred;
    std::unique_lock lk(mu_, std::defer_lock);
    try {
        lk.lock();
        if (closed_) throw PoolClosed(fmt::format("respool[{}]: the pool is closed", opt_.name));
        if (stop.stop_requested()) {
            ++cancellations_;
            throw Cancelled(fmt::format("respool[{}]: acquire cancelled before it began", opt_.name));
        }
        LeaseRecord* rec = obtain_locked(ctx, lk, deferred, ctx.start_ticks);
        if (!rec) {
            lk.unlock();
            return nullptr;
        }
        return checked_out(rec, ctx, lk, deferred);
    } catch (const AcquireTimeout& e) {
        // Thrown under the lock. Count as a caller while the listeners run
        // unlocked, so the pool cannot be destroyed under them.
        if (!lk.owns_lock()) lk.lock();
        ++callers_;
        lk.unlock();
        if (!deferred.empty()) finish(deferred);
        emit(Event{.kind = EventKind::acquire_timeout, .pool = opt_.name, .duration = timeout,
                   .message = e.what(), .site = site, .thread = std::this_thread::get_id()});
        lk.lock();
        --callers_;
        if (closed_ && callers_ == 0) state_cv_.notify_all();
        const bool last = unreferenced_locked();
        lk.unlock();
        if (last) delete this;
        throw;
    } catch (...) {
        if (lk.owns_lock()) lk.unlock();
        if (!deferred.empty()) finish(deferred);
        throw;
    }
}

LeaseRecord* PoolCore::obtain_locked(AcquireContext& ctx, std::unique_lock<PoolMutex>& lk, Deferred& deferred,
                                     std::int64_t now)
{
    for (;;) {
        if (Slot* slot = may_overtake_locked(now) ? take_available_locked(now, ctx.thread, deferred) : nullptr)
            return lease_locked(slot, ctx, now);
        if (!deferred.empty()) {
            // Expired resources met on the way: destroy them before waiting,
            // so their places can be refilled while we wait.
            flush_locked(lk, deferred);
            if (closed_) throw PoolClosed(fmt::format("respool[{}]: the pool is closed", opt_.name));
            now = time_.ticks();
            continue;
        }
        if (!ctx.may_wait) return nullptr;
        return acquire_slow(ctx, lk, deferred);
    }
}

void PoolCore::flush_locked(std::unique_lock<PoolMutex>& lk, Deferred& deferred)
{
    ++callers_;  // keeps the pool while the lock is released
    lk.unlock();
    finish(deferred);
    lk.lock();
    --callers_;
    if (closed_ && callers_ == 0) state_cv_.notify_all();
}

bool PoolCore::may_overtake_locked(std::int64_t now) const noexcept
{
    // A newcomer may take a free resource ahead of queued callers only while
    // the oldest of them has waited less than the fairness window.
    return waiters_head_ == nullptr || (fairness_ticks_ > 0 && now - waiters_head_->enqueued_ticks < fairness_ticks_);
}

Slot* PoolCore::take_available_locked(std::int64_t now, std::thread::id thread, Deferred& deferred)
{
    if (!shared_) {
        if (opt_.idle_order == IdleOrder::lifo && idle_.size() > 1 && idle_.at(idle_.size() - 1)->last_holder != thread) {
            // Thread affinity: the resource this thread used last, if it is
            // among the most recently returned, still has this core's caches
            // (a connection's buffers, say) warm.
            const std::size_t n = idle_.size();
            for (std::size_t k = 2; k <= n && k <= affinity_scan; ++k) {
                if (idle_.at(n - k)->last_holder != thread) continue;
                Slot* s = idle_.at(n - k);
                if (now >= s->expires_ticks) break;
                idle_.erase(n - k);
                return s;
            }
        }
        while (!idle_.empty()) {
            Slot* s = opt_.idle_order == IdleOrder::lifo ? idle_.pop_back() : idle_.pop_front();
            if (now >= s->expires_ticks) {
                doom_locked(s, DestroyReason::lifetime, deferred);
                continue;
            }
            return s;
        }
        return nullptr;
    }
    Slot* best = nullptr;
    for (Slot* s : slots_)
        if (!s->retiring && !s->checking && s->leases < cap_ && (!best || s->leases < best->leases)) best = s;
    return best;
}

LeaseRecord* PoolCore::lease_locked(Slot* slot, const AcquireContext& ctx, std::int64_t now)
{
    LeaseRecord* rec = free_records_;
    if (rec) free_records_ = rec->next;
    else rec = new LeaseRecord;
    rec->slot = slot;
    rec->site = ctx.site;
    rec->thread = ctx.thread;
    rec->acquired_ticks = now;
    rec->broken = false;
    // Decided here, under the lock, so the borrow checks can run without it.
    rec->validate_due = caps_.validate && !slot->fresh && slot->leases == 0 &&
                        now - std::max(slot->idle_since_ticks, slot->checked_ticks) >= validate_after_idle_ticks_;
    slot->fresh = false;
    rec->leak_reported = false;
    rec->overdue = false;
    rec->reclaimed = false;
    rec->deadline_ticks = max_lease_ticks_ == INT64_MAX || now > INT64_MAX - max_lease_ticks_ ? INT64_MAX
                                                                                            : now + max_lease_ticks_;
    rec->prev = nullptr;
    rec->next = outstanding_;
    if (outstanding_) outstanding_->prev = rec;
    outstanding_ = rec;
    if (slot->leases++ == 0) ++in_use_;
    ++leases_out_;
    ++acquired_;
    rec->site_index = sites_.index_of(ctx.site);
    sites_.on_acquire(rec->site_index, now - ctx.start_ticks);
    return rec;
}

LeaseRecord* PoolCore::checked_out(LeaseRecord* rec, AcquireContext& ctx, std::unique_lock<PoolMutex>& lk,
                                   Deferred& deferred)
{
    // `lk` may or may not be held on entry (a granted waiter comes here without it).
    for (;;) {
        Slot* slot = rec->slot;
        const bool need_validate = rec->validate_due;
        if (lk.owns_lock()) lk.unlock();
        if (!deferred.empty()) finish(deferred);  // we hold a lease, so `this` stays
        if (!caps_.is_broken && !need_validate) return rec;

        bool ok = !(caps_.is_broken && slot_is_broken(*slot));
        DestroyReason why = DestroyReason::broken;
        if (ok && need_validate) {
            ctx.phase = AcquirePhase::validating;
            const Deadline limit = deadline_after(opt_.validation_timeout);
            const Deadline d = ctx.may_wait ? std::min(ctx.get_deadline(), limit) : limit;
            ok = validate_slot(*slot, d);
            why = DestroyReason::validation;
            if (!ok)
                emit(Event{.kind = EventKind::validation_failed, .pool = opt_.name, .resource_id = slot->id,
                           .message = "validate() failed on borrow"});
        }
        lk.lock();
        if (need_validate) {
            ++validations_;
            if (!ok) ++validation_failures_;
        }
        const bool late = ctx.may_wait && need_validate && SteadyClock::now() >= ctx.get_deadline();
        const bool gone = closed_ || ctx.stop.stop_requested() || late;
        if (ok && !gone) {
            lk.unlock();
            return rec;
        }
        // Not handed out after all: undo the lease, keep or destroy the resource.
        --acquired_;
        sites_.on_discard(rec->site_index);
        unlease_locked(rec);
        if (!ok && !slot->retiring) {
            slot->retiring = true;
            slot->destroy_reason = why;
        }
        place_locked(slot, false, time_.ticks(), deferred);
        if (closed_) throw PoolClosed(fmt::format("respool[{}]: the pool was closed during acquire", opt_.name));
        if (ctx.stop.stop_requested()) {
            ++cancellations_;
            throw Cancelled(fmt::format("respool[{}]: acquire cancelled while validating", opt_.name));
        }
        if (ctx.may_wait && SteadyClock::now() >= ctx.get_deadline()) throw_timeout_locked(ctx, create_failures_);

        rec = obtain_locked(ctx, lk, deferred, time_.ticks());
        if (!rec) {
            lk.unlock();
            if (!deferred.empty()) finish(deferred);
            return nullptr;
        }
    }
}

LeaseRecord* PoolCore::acquire_slow(AcquireContext& ctx, std::unique_lock<PoolMutex>& lk, Deferred& deferred)
{
    if (waiting_ >= opt_.max_waiters) {
        ++rejections_;
        throw QueueFull(fmt::format("respool[{}]: {} callers are already waiting (max_waiters = {})", opt_.name,
                                    waiting_, opt_.max_waiters));
    }
    if (const std::int64_t real = real_ns(); governor_.fails_fast(real)) throw_circuit_open_locked(real);
    const Deadline deadline = ctx.get_deadline();
    Waiter w(ctx);
    w.enqueued_ticks = time_.ticks();
    w.failures_seen = create_failures_;
    w.queued = true;
    w.prev = waiters_tail_;
    if (waiters_tail_) waiters_tail_->next = &w;
    else waiters_head_ = &w;
    waiters_tail_ = &w;
    ++waiting_;
    ++callers_;
    start_creations_locked();

    auto cancel = [this, &w]() noexcept {
        std::lock_guard guard(mu_);
        if (!w.queued) return;  // served or failed already: nothing more may be posted
        w.cancelled = true;
        ++w.promised;
        w.parker.post();
    };
    std::optional<std::stop_callback<decltype(cancel)>> on_stop;
    if (ctx.stop.stop_possible()) {
        // The callback may run at once and takes the lock: register it unlocked.
        lk.unlock();
        on_stop.emplace(ctx.stop, cancel);
        lk.lock();
    }

    enum class Outcome { granted, took, failed, closed, cancelled, timed_out } outcome;
    Slot* taken = nullptr;
    std::uint32_t consumed = 0;  // parker tokens taken
    // A grant's token is posted after its granter's unlock: before `w` goes,
    // take every token promised to it (`promised` is final once dequeued).
    const auto take_promised = [&](std::uint32_t promised) noexcept {
        for (; consumed < promised; ++consumed) w.parker.wait();
    };
    for (;;) {
        if (!deferred.empty()) {
            flush_locked(lk, deferred);  // still queued: a grant may arrive meanwhile
            continue;
        }
        if (w.grant.load(std::memory_order_relaxed)) { outcome = Outcome::granted; break; }
        if (w.error) { outcome = Outcome::failed; break; }
        if (closed_) { outcome = Outcome::closed; break; }
        if (w.cancelled || ctx.stop.stop_requested()) { outcome = Outcome::cancelled; break; }
        if (waiters_head_ == &w && (taken = take_available_locked(time_.ticks(), ctx.thread, deferred))) {
            outcome = Outcome::took;
            break;
        }
        if (!deferred.empty()) continue;  // expired ones met on the way: destroy them before sleeping
        if (SteadyClock::now() >= deadline) { outcome = Outcome::timed_out; break; }
        w.woken = false;
        lk.unlock();
        if (w.parker.wait_until(deadline)) ++consumed;
        if (LeaseRecord* rec = w.grant.load(std::memory_order_acquire)) {
            // Handed a resource: the granter leased it in our name and ended
            // our `callers_` share, so we leave without touching the lock
            // (which is what makes a hand-off cheap).
            take_promised(w.promised);
            on_stop.reset();
            return rec;
        }
        lk.lock();
    }
    if (w.queued) remove_waiter_locked(&w);  // from here on nobody posts to `w`
    // Lease before the lock is released again: a taken resource must never be
    // neither idle nor leased while others can see the pool.
    LeaseRecord* rec = nullptr;
    if (outcome == Outcome::granted) rec = w.grant.load(std::memory_order_relaxed);
    if (outcome == Outcome::took) rec = lease_locked(taken, ctx, time_.ticks());
    if (on_stop || consumed < w.promised) {
        const std::uint32_t promised = w.promised;
        lk.unlock();
        take_promised(promised);
        on_stop.reset();  // waits for a running callback, which needs the lock
        lk.lock();
    }
    if (outcome != Outcome::granted) {  // the granter ended a granted waiter's share
        --callers_;
        if (closed_ && callers_ == 0) state_cv_.notify_all();
    }

    switch (outcome) {
    case Outcome::granted:
    case Outcome::took:
        return rec;
    case Outcome::failed:
        if (w.circuit_open) {
            throw CircuitOpen(fmt::format("respool[{}]: circuit open: creating a resource failed {} times in a row; "
                                          "last error: {}",
                                          opt_.name, governor_.consecutive_failures(), w.error_text),
                              w.error_text, w.error);
        }
        throw CreateFailed(fmt::format("respool[{}]: creating a resource failed: {}", opt_.name, w.error_text),
                           w.error_text, w.error);
    case Outcome::closed:
        throw PoolClosed(fmt::format("respool[{}]: the pool was closed while waiting", opt_.name));
    case Outcome::cancelled:
        ++cancellations_;
        throw Cancelled(fmt::format("respool[{}]: acquire cancelled by its stop token after {}", opt_.name,
                                    format_duration(time_.to_duration(time_.ticks() - ctx.start_ticks))));
    case Outcome::timed_out:
        break;
    }
    ctx.phase = creating_ > 0 ? AcquirePhase::creating : AcquirePhase::queued;
    throw_timeout_locked(ctx, w.failures_seen);
}

void PoolCore::throw_circuit_open_locked(std::int64_t now)
{
    ++fast_failures_;
    const auto reopen = std::chrono::nanoseconds(governor_.opened_at() - now) + opt_.circuit_open_time;
    throw CircuitOpen(fmt::format("respool[{}]: circuit open: creating a resource failed {} times in a row; failing "
                                  "fast for {} more before a probe; last error: {}",
                                  opt_.name, governor_.consecutive_failures(),
                                  format_duration(std::max(reopen, std::chrono::nanoseconds::zero())),
                                  last_create_error_),
                      last_create_error_, last_create_exception_);
}

void PoolCore::grant_locked(Waiter* w, Slot* slot, std::int64_t now, Deferred& deferred) noexcept
{
    // Leased in the waiter's name now, so that it can return without taking
    // the lock again; its lease keeps the pool alive in place of `callers_`.
    LeaseRecord* rec = lease_locked(slot, *w->ctx, now);
    remove_waiter_locked(w);
    --callers_;
    ++w->promised;
    w->grant.store(rec, std::memory_order_release);
    w->next_granted = deferred.granted;  // woken by `finish`, after the unlock
    deferred.granted = w;
}

void PoolCore::remove_waiter_locked(Waiter* w) noexcept
{
    const bool was_head = waiters_head_ == w;
    if (w->prev) w->prev->next = w->next;
    else waiters_head_ = w->next;
    if (w->next) w->next->prev = w->prev;
    else waiters_tail_ = w->prev;
    w->prev = w->next = nullptr;
    w->queued = false;
    --waiting_;
    if (was_head && waiters_head_) {
        bool available = !idle_.empty();
        if (shared_)
            for (const Slot* s : slots_) available = available || (!s->retiring && s->leases < cap_);
        if (available) wake_front_locked();
    }
}

void PoolCore::wake_front_locked() noexcept
{
    Waiter* f = waiters_head_;
    if (f && !f->woken) {
        f->woken = true;
        ++f->promised;
        f->parker.post();
    }
}

void PoolCore::throw_timeout_locked(const AcquireContext& ctx, std::uint64_t failures_seen)
{
    ++timeouts_;
    const std::int64_t now = time_.ticks();
    std::vector<LeaseInfo> holders = holders_locked(now);
    const PoolSnapshot snap = snapshot_locked();
    std::string msg = fmt::format("respool[{}]: acquire timed out after {} ", opt_.name, format_duration(ctx.timeout));
    switch (ctx.phase) {
    case AcquirePhase::validating:
        msg += "while validating a resource";
        break;
    case AcquirePhase::creating:
        msg += fmt::format("waiting for a resource being created ({} creation(s) in flight, create_timeout {} ms)",
                           snap.creating, opt_.create_timeout.count());
        break;
    case AcquirePhase::queued:
        if (snap.total < snap.max_size)
            msg += "waiting for a resource to be created (creation is pausing after failures)";
        else
            msg += "waiting for a resource to be returned: the pool is exhausted";
        break;
    }
    msg += fmt::format(" [{} of max_size {} exist: {} in use, {} idle, {} creating; {} waiting]", snap.total,
                       snap.max_size, snap.in_use, snap.idle, snap.creating, snap.waiting);
    if (create_failures_ > failures_seen)
        msg += fmt::format("; creation is failing, last error: {}", last_create_error_);
    const auto me = std::this_thread::get_id();
    std::size_t mine = 0;
    const LeaseInfo* first_mine = nullptr;
    for (const LeaseInfo& h : holders)
        if (h.thread == me && ++mine == 1) first_mine = &h;
    if (mine > 0)
        msg += fmt::format("; this thread already holds {} lease(s) from this pool (one acquired at {}): waiting "
                           "for another while holding one can deadlock",
                           mine, format_site(first_mine->site));
    if (!holders.empty()) {
        msg += "; holders, oldest first:";
        const std::size_t shown = std::min<std::size_t>(holders.size(), 10);
        for (std::size_t i = 0; i < shown; ++i) msg += "\n  " + describe(holders[i]);
        if (holders.size() > shown) msg += fmt::format("\n  ... and {} more", holders.size() - shown);
    }
    throw AcquireTimeout(msg, ctx.phase, snap, std::move(holders));
}

} // namespace respool::detail
