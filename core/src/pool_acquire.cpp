// PoolEngine: acquiring — the fast path, the wait in the queue, and the
// borrow checks (is_broken, validate, on_acquire), all under the caller's
// one deadline, fixed when the call starts.
#include "pool_core_internal.hpp"

#include <optional>
#include <thread>

#include <fmt/format.h>

namespace respool::detail {

LeaseRecord* PoolEngine::acquire(std::chrono::milliseconds timeout, const std::stop_token& stop,
                               const SourceLocation& site, bool may_wait)
{
    AcquireContext ctx{timeout, stop, site, may_wait};
    ctx.start_ticks = time_.ticks();
    ctx.start_hw = time_.manual() ? hardware_ticks() : ctx.start_ticks;
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

LeaseRecord* PoolEngine::obtain_locked(AcquireContext& ctx, Lock& lk, Deferred& d, std::int64_t now)
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
            now = ticks_unlocked(lk);
            continue;
        }
        if (!ctx.may_wait) return nullptr;
        ctx.waited = true;  // acquired_waited, if this call ends with a lease
        return wait_locked(ctx, lk, d, now);
    }
}

LeaseRecord* PoolEngine::lease_locked(Slot* slot, const AcquireContext& ctx, std::int64_t now)
{
    // Decided here, under the lock, so the borrow checks can run without it.
    const bool validate = caps_.validate && !slot->fresh && slot->state == SlotState::idle &&
                          now - std::max(slot->idle_since_ticks, slot->checked_ticks) >= validate_after_idle_ticks_;
    const std::int64_t deadline = max_lease_ticks_ == INT64_MAX || now > INT64_MAX - max_lease_ticks_
                                      ? INT64_MAX
                                      : now + max_lease_ticks_;
    LeaseRecord* rec = leases_.add(slot, ctx.site, ctx.thread, now, deadline);
    rec->validate_due = validate;
    slot->fresh = false;
    inventory_.lend(slot, validate);
    ++counters_.acquired;
    if (ctx.waited) ++counters_.acquired_waited;
    // A lease its checks may still refuse is not handed out yet: its wait
    // is counted once they pass, and the checks hold a reference of their
    // own, so that ~Pool waits for them (they run adapter and user code).
    if (borrow_checks_due(rec)) ++refs_;
    else leases_.handed_out(rec, now - ctx.start_ticks);
    return rec;
}

void PoolEngine::admit_locked()
{
    if (queue_.size() >= opt_.max_waiters) {
        ++counters_.rejections;
        throw QueueFull(fmt::format("respool[{}]: {} callers are already waiting (max_waiters = {})", opt_.name,
                                    queue_.size(), opt_.max_waiters));
    }
    if (creation_fatal_) [[unlikely]]
        if (const std::int64_t real = real_ns(); fatal_fails_fast_locked(real)) throw_fatal_locked(real);
    if (const std::int64_t real = real_ns(); governor_.fails_fast(real)) throw_circuit_open_locked(real);
}

void PoolEngine::CancelWait::operator()() const noexcept
{
    Waiter* next = nullptr;
    {
        Lock guard(pool->mu_);
        if (!w->queued()) return;  // served or failed already: nothing more may be signalled
        Deferred told;
        pool->tell_locked(*w, WaitOutcome::cancelled, told);
        told.told = nullptr;  // signalled below, with the next waiter's hint if there is one
        next = told.hinted;
    }
    w->signal(*w);
    if (next) next->signal(*next);
}

LeaseRecord* PoolEngine::wait_locked(AcquireContext& ctx, Lock& lk, Deferred& d, std::int64_t now)
{
    admit_locked();
    ThreadWaiter w(ctx);
    w.failures_seen = counters_.create_failures;
    queue_.push(w, now);
    start_creations_locked();
    if (ctx.stop.stop_possible()) {
        // The callback may run at once and takes the lock: register it unlocked.
        lk.unlock();
        w.on_stop.emplace(ctx.stop, CancelWait{this, &w});
        lk.lock();
    }
    LeaseRecord* rec = nullptr;
    for (;;) {
        if (!d.empty()) {
            flush(lk, d);  // still queued: a grant may arrive meanwhile
            now = ticks_unlocked(lk);
            continue;
        }
        if (!w.queued()) break;
        if (queue_.front() == &w && !paused_) {
            if (Slot* slot = inventory_.find(opt_.idle_order, ctx.thread, now, d.doomed)) {
                queue_.remove(w, WaitOutcome::left);
                rec = lease_locked(slot, ctx, now);
                hint_next_locked(d);
                break;
            }
            if (d.doomed) continue;  // expired ones met on the way: destroy them before sleeping
        }
        if (ctx.past_deadline()) {
            const bool was_front = queue_.front() == &w;
            queue_.remove(w, WaitOutcome::left);
            if (was_front) hint_next_locked(d);
            break;
        }
        const Deadline sleep_until = next_look_locked(w, ctx, now);
        lk.unlock();
        if (w.parker.wait_until(sleep_until)) ++w.consumed;
        if (LeaseRecord* granted = w.grant.load(std::memory_order_acquire)) {
            // Handed a resource: the granter leased it in our name, so we
            // leave without touching the lock (which is what makes a
            // hand-off cheap). `signals` is final once we are dequeued.
            w.take_signals(w.signals);
            w.on_stop.reset();
            return granted;
        }
        now = time_.ticks();  // unlocked: the clock may be the user's
        lk.lock();
    }
    return left_queue_locked(w, rec, ctx, lk);
}

Deadline PoolEngine::next_look_locked(ThreadWaiter& w, AcquireContext& ctx, std::int64_t now) noexcept
{
    if (w.woken && queue_.front() == &w && queue_.may_overtake(now)) {
        // Woken for a resource that a running thread took first: the
        // wake-up was paid for nothing, and the next one likely would be
        // too (a thread that gives a resource back often takes it again at
        // once). Stay out of the hints for a while (`woken` stays set) and
        // look again by ourselves, at growing intervals, never longer than
        // the fairness window; once past it, a returned resource is handed
        // to us directly.
        w.quiet = w.quiet.count() == 0 ? first_quiet_ : std::min(2 * w.quiet, quiet_cap_);
        w.quiet_spell = true;
        return std::min(ctx.deadline(), SteadyClock::now() + w.quiet);
    }
    w.woken = false;
    w.quiet_spell = false;
    return ctx.deadline();
}

LeaseRecord* PoolEngine::left_queue_locked(ThreadWaiter& w, LeaseRecord* rec, AcquireContext& ctx, Lock& lk)
{
    // Dequeued: from here on nobody signals `w`.
    if (w.on_stop || w.consumed < w.signals) {
        const std::uint32_t promised = w.signals;
        lk.unlock();
        w.take_signals(promised);
        w.on_stop.reset();  // waits for a running callback, which needs the lock
        lk.lock();
    }
    if (w.outcome == WaitOutcome::granted) return w.grant.load(std::memory_order_relaxed);
    if (rec) return rec;  // took a free resource as the oldest waiter
    const std::int64_t now = ticks_unlocked(lk);
    if (w.outcome != WaitOutcome::left) throw_wait_outcome_locked(w, ctx, now);
    // A creator thread that has not begun yet (a busy machine) is a creation on its way.
    ctx.phase = inventory_.creating() > 0 || creators_ > 0 ? AcquirePhase::creating : AcquirePhase::queued;
    throw_timeout_locked(ctx, w.failures_seen, now);
}

void PoolEngine::throw_wait_outcome_locked(const Waiter& w, const AcquireContext& ctx, std::int64_t now)
{
    switch (w.outcome) {
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
    default:
        ++counters_.cancellations;
        throw Cancelled(fmt::format("respool[{}]: acquire cancelled by its stop token after {}", opt_.name,
                                    format_duration(time_.to_duration(now - ctx.start_ticks))));
    }
}

LeaseRecord* PoolEngine::checked_out(LeaseRecord* rec, AcquireContext& ctx, Lock& lk, Deferred& d)
{
    // `lk` may or may not be held on entry (a granted waiter comes here
    // without it). Returns with it released and a lease, or held and null.
    for (;;) {
        if (lk.owns_lock()) {
            if (!d.empty()) flush(lk, d);  // we hold a lease, so the pool stays
            check_small_locked();
            lk.unlock();
        }
        if (!borrow_checks_due(rec)) return rec;

        const BorrowVerdict v = run_borrow_checks(rec, ctx);
        lk.lock();
        --refs_;  // the checks' own reference (lease_locked); the lease keeps one
        if (closed_) changed_.notify_all();  // ~Pool waits for checks in progress
        Slot* slot = rec->slot;
        if (v.validated) {
            ++counters_.validations;
            if (!v.valid) ++counters_.validation_failures;
        }
        if (slot->state == SlotState::checking) inventory_.set_state(slot, SlotState::leased);  // its check is over
        if (v.validated && v.valid) {
            prove_locked(slot);
            slot->checked_ticks = v.now;
        }
        // Retired meanwhile (retire_all, a shrink): not lent again.
        const bool gone = closed_ || ctx.stop.stop_requested() || v.late || slot->state == SlotState::retiring;
        if (v.ok() && !gone) {
            leases_.handed_out(rec, rec->acquired_ticks - ctx.start_ticks);
            // Shared: the places the check held back are free for the queue.
            if (inventory_.may_lend(*slot)) offer_locked(slot, v.now, false, d);
            if (!d.empty()) flush(lk, d);
            lk.unlock();
            return rec;
        }
        rec = undo_borrow_locked(rec, v, ctx, lk, d);
        if (!rec) return nullptr;
    }
}

PoolEngine::BorrowVerdict PoolEngine::run_borrow_checks(LeaseRecord* rec, AcquireContext& ctx) noexcept
{
    Slot& slot = *rec->slot;
    BorrowVerdict v;
    bool may_block = false;  // a check that may take a while ran: the deadline may have passed meanwhile
    RESPOOL_ASSERT_UNLOCKED();
    v.broken = caps_.is_broken && slot_is_broken(slot);
    if (!v.broken && rec->validate_due) {
        if (ctx.past_deadline()) {
            v.late = true;  // no time left to validate: not lent, and not judged either
        } else {
            ctx.phase = AcquirePhase::validating;
            const Deadline until = std::min(ctx.deadline(), deadline_after(opt_.validation_timeout));
            RESPOOL_ASSERT_UNLOCKED();
            v.validated = true;
            v.valid = validate_slot(slot, until);
            may_block = true;
            if (!v.valid)
                emit(Event{.kind = EventKind::validation_failed, .pool = opt_.name, .resource_id = slot.id,
                           .message = "validate() failed on borrow"});
        }
    }
    // The user's verdict, after the adapter's: like mark_broken(), not a failed creation.
    if (!v.broken && v.valid && !v.late && caps_.on_acquire) {
        RESPOOL_ASSERT_UNLOCKED();
        v.hook_said_no = !on_acquire_slot(slot);
        may_block = true;
    }
    if (may_block && ctx.past_deadline()) v.late = true;
    v.now = time_.ticks();
    return v;
}

LeaseRecord* PoolEngine::undo_borrow_locked(LeaseRecord* rec, const BorrowVerdict& v, AcquireContext& ctx, Lock& lk,
                                          Deferred& d)
{
    // Not handed out after all: as if the lease had not been taken; the
    // resource is kept or destroyed.
    Slot* slot = rec->slot;
    --counters_.acquired;
    if (ctx.waited) --counters_.acquired_waited;
    leases_.discard(rec);
    inventory_.drop_lease(slot);
    if (!v.ok()) {
        const bool invalid = v.validated && !v.valid;
        // A refusal by on_acquire is the user's verdict, not a failed creation.
        if (!v.hook_said_no)
            failed_unproven_locked(slot, invalid ? "validate() on borrow" : "is_broken() on borrow", d);
        retire_locked(slot, invalid ? DestroyReason::validation : DestroyReason::broken, d);
    }
    place_locked(slot, v.now, false, d);
    if (closed_) throw PoolClosed(fmt::format("respool[{}]: the pool was closed during acquire", opt_.name));
    if (ctx.stop.stop_requested()) {
        ++counters_.cancellations;
        throw Cancelled(fmt::format("respool[{}]: acquire cancelled while validating", opt_.name));
    }
    if (ctx.may_wait && ctx.past_deadline()) throw_timeout_locked(ctx, counters_.create_failures, v.now);
    return obtain_locked(ctx, lk, d, ticks_unlocked(lk));
}

} // namespace respool::detail
