// PoolCore: acquiring — the fast path, the wait in the queue, and the
// borrow checks (is_broken, validate), all under the caller's one deadline.
#include "pool_core_internal.hpp"

#include <optional>
#include <thread>

#include <fmt/format.h>

namespace respool::detail {

LeaseRecord* PoolCore::acquire(std::chrono::milliseconds timeout, const std::stop_token& stop,
                               const SourceLocation& site, bool may_wait)
{
    AcquireContext ctx{timeout, stop, site, may_wait};
    ctx.start_ticks = time_.ticks();
    Deferred d;
    Lock lk(mu_);
    ++refs_;  // the caller's own reference; it becomes its lease's
    try {
        if (closed_) throw PoolClosed(fmt::format("respool[{}]: the pool is closed", opt_.name));
        if (stop.stop_requested()) {
            ++counters_.cancellations;
            throw Cancelled(fmt::format("respool[{}]: acquire cancelled before it began", opt_.name));
        }
        LeaseRecord* rec = obtain_locked(ctx, lk, d, ctx.start_ticks);
        if (rec) rec = checked_out(rec, ctx, lk, d);
        if (rec) return rec;
        if (!lk.owns_lock()) lk.lock();
        finish_and_unref(lk, d);  // try_acquire found nothing
        return nullptr;
    } catch (const AcquireTimeout& e) {
        if (!lk.owns_lock()) lk.lock();
        lk.unlock();
        run_unlocked(d);
        emit(Event{.kind = EventKind::acquire_timeout, .pool = opt_.name, .duration = timeout, .message = e.what(),
                   .site = site, .thread = ctx.thread});
        lk.lock();
        settle_locked(d);
        unref(lk);
        throw;
    } catch (...) {
        if (!lk.owns_lock()) lk.lock();
        finish_and_unref(lk, d);
        throw;
    }
}

LeaseRecord* PoolCore::obtain_locked(AcquireContext& ctx, Lock& lk, Deferred& d, std::int64_t now)
{
    for (;;) {
        if (!paused_ && queue_.may_overtake(now))
            if (Slot* slot = inventory_.find(opt_.idle_order, ctx.thread, now, d.doomed))
                return lease_locked(slot, ctx, now);
        if (d.doomed) {
            // Expired resources met on the way: destroy them before waiting,
            // so that their places can be refilled meanwhile.
            flush(lk, d);
            if (closed_) throw PoolClosed(fmt::format("respool[{}]: the pool is closed", opt_.name));
            now = time_.ticks();
            continue;
        }
        if (!ctx.may_wait) return nullptr;
        ctx.waited = true;  // acquired_waited, if this call ends with a lease
        return wait_locked(ctx, lk, d);
    }
}

LeaseRecord* PoolCore::lease_locked(Slot* slot, const AcquireContext& ctx, std::int64_t now)
{
    // Decided here, under the lock, so the borrow checks can run without it.
    const bool validate = caps_.validate && !slot->fresh && slot->state == SlotState::idle &&
                          now - std::max(slot->idle_since_ticks, slot->checked_ticks) >= validate_after_idle_ticks_;
    const std::int64_t deadline = max_lease_ticks_ == INT64_MAX || now > INT64_MAX - max_lease_ticks_
                                      ? INT64_MAX
                                      : now + max_lease_ticks_;
    LeaseRecord* rec = leases_.add(slot, ctx.site, ctx.thread, now, now - ctx.start_ticks, deadline);
    rec->validate_due = validate;
    slot->fresh = false;
    inventory_.lend(slot, validate);
    ++counters_.acquired;
    if (ctx.waited) ++counters_.acquired_waited;
    return rec;
}

void PoolCore::tell_locked(Waiter& w, WaitOutcome outcome, Deferred& d) noexcept
{
    const bool was_front = queue_.front() == &w;
    queue_.remove(w, outcome);
    ++w.signals;
    w.next_told = d.told;
    d.told = &w;
    if (was_front && outcome != WaitOutcome::granted) hint_next_locked(d);
}

void PoolCore::grant_locked(Waiter& w, Slot* slot, std::int64_t now, Deferred& d) noexcept
{
    // Leased in the waiter's name now, so that a thread can return without
    // taking the lock again; its caller reference becomes the lease's.
    // (Every waiter is a sleeping thread today.)
    auto& tw = static_cast<ThreadWaiter&>(w);
    LeaseRecord* rec = lease_locked(slot, *tw.ctx, now);
    queue_.remove(w, WaitOutcome::granted);
    ++w.signals;                                    // before the grant is published:
    w.grant.store(rec, std::memory_order_release);  // the waiter reads `signals` after it
    w.next_told = d.told;
    d.told = &w;
}

void PoolCore::hint_next_locked(Deferred& d) noexcept
{
    // The oldest waiter left: if something is free, the next one should look.
    if (!queue_.empty() && inventory_.spare() > 0) hint_front_locked(d);
}

void PoolCore::hint_front_locked(Deferred& d) noexcept
{
    // Posted after the lock is released, like a final outcome: a wake-up is
    // a system call, and the woken thread's first act is to take this lock.
    Waiter* w = queue_.hint_front();
    // A quiet waiter is left to look by itself while running threads take
    // what is returned; once a second resource sits idle, they are not
    // keeping up, and it should not wait for its timer.
    if (!w && inventory_.count(SlotState::idle) >= 2) w = queue_.wake_quiet_front();
    if (!w) return;
    if (d.hinted && d.hinted != w) d.hinted->signal(*d.hinted);  // a second one in one go: rare
    d.hinted = w;
}

LeaseRecord* PoolCore::wait_locked(AcquireContext& ctx, Lock& lk, Deferred& d)
{
    if (queue_.size() >= opt_.max_waiters) {
        ++counters_.rejections;
        throw QueueFull(fmt::format("respool[{}]: {} callers are already waiting (max_waiters = {})", opt_.name,
                                    queue_.size(), opt_.max_waiters));
    }
    if (creation_fatal_) [[unlikely]]
        if (const std::int64_t real = real_ns(); fatal_fails_fast_locked(real)) throw_fatal_locked(real);
    if (const std::int64_t real = real_ns(); governor_.fails_fast(real)) throw_circuit_open_locked(real);
    const Deadline deadline = ctx.get_deadline();
    ThreadWaiter w(ctx);
    w.failures_seen = counters_.create_failures;
    queue_.push(w, time_.ticks());
    start_creations_locked();

    auto cancel = [this, &w]() noexcept {
        Waiter* next = nullptr;
        {
            Lock guard(mu_);
            if (!w.queued()) return;  // served or failed already: nothing more may be signalled
            Deferred told;
            tell_locked(w, WaitOutcome::cancelled, told);
            told.told = nullptr;  // signalled below, with the next waiter's hint if there is one
            next = told.hinted;
        }
        w.signal(w);
        if (next) next->signal(*next);
    };
    std::optional<std::stop_callback<decltype(cancel)>> on_stop;
    if (ctx.stop.stop_possible()) {
        // The callback may run at once and takes the lock: register it unlocked.
        lk.unlock();
        on_stop.emplace(ctx.stop, cancel);
        lk.lock();
    }

    LeaseRecord* rec = nullptr;
    std::uint32_t consumed = 0;  // signals taken from the parker
    const auto take_signals = [&](std::uint32_t promised) noexcept {
        for (; consumed < promised; ++consumed) w.parker.wait();
    };
    for (;;) {
        if (!d.empty()) {
            flush(lk, d);  // still queued: a grant may arrive meanwhile
            continue;
        }
        if (!w.queued()) break;
        const bool hinted = w.woken;
        const std::int64_t now = time_.ticks();
        if (queue_.front() == &w && !paused_) {
            if (Slot* slot = inventory_.find(opt_.idle_order, ctx.thread, now, d.doomed)) {
                queue_.remove(w, WaitOutcome::left);
                rec = lease_locked(slot, ctx, now);
                hint_next_locked(d);
                break;
            }
            if (d.doomed) continue;  // expired ones met on the way: destroy them before sleeping
        }
        if (SteadyClock::now() >= deadline) {
            const bool was_front = queue_.front() == &w;
            queue_.remove(w, WaitOutcome::left);
            if (was_front) hint_next_locked(d);
            break;
        }
        Deadline sleep_until = deadline;
        if (hinted && queue_.front() == &w && queue_.may_overtake(now)) {
            // Woken for a resource that a running thread took first: the
            // wake-up was paid for nothing, and the next one likely would be
            // too (a thread that gives a resource back often takes it again at
            // once). Stay out of the hints for a while (`woken` stays set) and
            // look again by ourselves, at growing intervals, never longer than
            // the fairness window; once past it, a returned resource is handed
            // to us directly.
            w.quiet = w.quiet.count() == 0 ? first_quiet_ : std::min(2 * w.quiet, quiet_cap_);
            w.quiet_spell = true;
            sleep_until = std::min(deadline, SteadyClock::now() + w.quiet);
        } else {
            w.woken = false;
            w.quiet_spell = false;
        }
        lk.unlock();
        if (w.parker.wait_until(sleep_until)) ++consumed;
        if (LeaseRecord* granted = w.grant.load(std::memory_order_acquire)) {
            // Handed a resource: the granter leased it in our name, so we
            // leave without touching the lock (which is what makes a
            // hand-off cheap). `signals` is final once we are dequeued.
            take_signals(w.signals);
            on_stop.reset();
            return granted;
        }
        lk.lock();
    }
    // Dequeued: from here on nobody signals `w`.
    if (on_stop || consumed < w.signals) {
        const std::uint32_t promised = w.signals;
        lk.unlock();
        take_signals(promised);
        on_stop.reset();  // waits for a running callback, which needs the lock
        lk.lock();
    }
    switch (w.outcome) {
    case WaitOutcome::granted:
        return w.grant.load(std::memory_order_relaxed);
    case WaitOutcome::failed:
        if (w.circuit_open) {
            throw CircuitOpen(fmt::format("respool[{}]: circuit open: creating a resource failed {} times in a row; "
                                          "last error: {}",
                                          opt_.name, governor_.consecutive_failures(), w.error_text),
                              w.error_text, w.error);
        }
        // Only a fatal failure ends a wait early (a transient one is retried).
        throw CreateFailed(fmt::format("respool[{}]: creating a resource failed with an error the adapter "
                                       "classifies as fatal (not retried for waiting callers): {}",
                                       opt_.name, w.error_text),
                           w.error_text, w.error);
    case WaitOutcome::closed:
        throw PoolClosed(fmt::format("respool[{}]: the pool was closed while waiting", opt_.name));
    case WaitOutcome::cancelled:
        ++counters_.cancellations;
        throw Cancelled(fmt::format("respool[{}]: acquire cancelled by its stop token after {}", opt_.name,
                                    format_duration(time_.to_duration(time_.ticks() - ctx.start_ticks))));
    case WaitOutcome::left:
    case WaitOutcome::waiting:
        break;
    }
    if (rec) return rec;  // took a free resource as the oldest waiter
    // A creator thread that has not begun yet (a busy machine) is a creation on its way.
    ctx.phase = inventory_.creating() > 0 || creators_ > 0 ? AcquirePhase::creating : AcquirePhase::queued;
    throw_timeout_locked(ctx, w.failures_seen);
}

LeaseRecord* PoolCore::checked_out(LeaseRecord* rec, AcquireContext& ctx, Lock& lk, Deferred& d)
{
    // `lk` may or may not be held on entry (a granted waiter comes here
    // without it). Returns with it released and a lease, or held and null.
    for (;;) {
        Slot* slot = rec->slot;
        const bool need_validate = rec->validate_due;
        if (lk.owns_lock()) {
            if (!d.empty()) flush(lk, d);  // we hold a lease, so the pool stays
            check_small_locked();
            lk.unlock();
        }
        if (!caps_.is_broken && !need_validate && !caps_.on_acquire) return rec;

        RESPOOL_ASSERT_UNLOCKED();
        bool ok = !(caps_.is_broken && slot_is_broken(*slot));
        DestroyReason why = DestroyReason::broken;
        if (ok && need_validate) {
            ctx.phase = AcquirePhase::validating;
            const Deadline limit = deadline_after(opt_.validation_timeout);
            const Deadline until = ctx.may_wait ? std::min(ctx.get_deadline(), limit) : limit;
            RESPOOL_ASSERT_UNLOCKED();
            ok = validate_slot(*slot, until);
            why = DestroyReason::validation;
            if (!ok)
                emit(Event{.kind = EventKind::validation_failed, .pool = opt_.name, .resource_id = slot->id,
                           .message = "validate() failed on borrow"});
        }
        // The user's verdict, after the adapter's: like mark_broken(), not a failed creation.
        bool hook_said_no = false;
        if (ok && caps_.on_acquire) {
            RESPOOL_ASSERT_UNLOCKED();
            ok = on_acquire_slot(*slot);
            hook_said_no = !ok;
            if (hook_said_no) why = DestroyReason::broken;
        }
        const std::int64_t now = time_.ticks();
        lk.lock();
        if (need_validate) {
            ++counters_.validations;
            if (!ok) ++counters_.validation_failures;
        }
        if (ok && need_validate) {
            prove_locked(slot);
            slot->checked_ticks = now;
            if (slot->state == SlotState::checking) inventory_.set_state(slot, SlotState::leased);
        }
        const bool late = ctx.may_wait && need_validate && SteadyClock::now() >= ctx.get_deadline();
        // Retired meanwhile (retire_all, a shrink): not lent again.
        const bool gone = closed_ || ctx.stop.stop_requested() || late || slot->state == SlotState::retiring;
        if (ok && !gone) {
            lk.unlock();
            return rec;
        }
        // Not handed out after all: undo the lease, keep or destroy the resource.
        --counters_.acquired;
        if (ctx.waited) --counters_.acquired_waited;
        leases_.discard(rec);
        inventory_.drop_lease(slot);
        if (!ok) {
            if (!hook_said_no)
                failed_unproven_locked(slot, why == DestroyReason::broken ? "is_broken() on borrow" : "validate() on borrow",
                                       d);
            retire_locked(slot, why, d);
        }
        place_locked(slot, now, false, d);
        if (closed_) throw PoolClosed(fmt::format("respool[{}]: the pool was closed during acquire", opt_.name));
        if (ctx.stop.stop_requested()) {
            ++counters_.cancellations;
            throw Cancelled(fmt::format("respool[{}]: acquire cancelled while validating", opt_.name));
        }
        if (ctx.may_wait && SteadyClock::now() >= ctx.get_deadline())
            throw_timeout_locked(ctx, counters_.create_failures);

        rec = obtain_locked(ctx, lk, d, time_.ticks());
        if (!rec) return nullptr;
    }
}

} // namespace respool::detail
