// PoolEngine: where a resource goes and who is told — the one home of "a place
// became lendable". Every way a place frees up (a lease given back, a new
// resource, a passed borrow validation, the end of a keepalive check or of a
// retire_if look, resume) ends in `place_locked`, which settles the slot's
// state (destroyed, retired, idle) and hands what is lendable to `offer_locked`:
// the fairness policy (hand-off to the oldest waiter past the window, a hint
// within it), the idle sizing (max_idle), and nothing else.
#include "pool_core_internal.hpp"

namespace respool::detail {

void PoolEngine::place_locked(Slot* slot, std::int64_t now, bool returned, Deferred& d) noexcept
{
    switch (slot->state) {
    case SlotState::destroying:
        return;
    case SlotState::retiring:
        if (!slot->held()) inventory_.doom(slot, slot->reason, d.doomed);
        return;
    case SlotState::idle:
        return;  // nobody let go of it: nothing to decide
    case SlotState::leased:
    case SlotState::checking:
        break;
    }
    if (closed_) {
        retire_locked(slot, DestroyReason::closed, d);
        return;
    }
    if (inventory_.over_max()) [[unlikely]] {
        // The pool shrank (resize): whatever is given back first goes.
        retire_locked(slot, DestroyReason::retired, d);
        return;
    }
    if (!slot->held()) {
        if (now >= slot->expires_ticks) {
            retire_locked(slot, DestroyReason::lifetime, d);
            return;
        }
        if (returned) {
            slot->idle_since_ticks = now;
            if (keepalive_ticks_ != INT64_MAX) slot->keepalive_due_ticks = keepalive_due_locked(now);
        }
        inventory_.set_state(slot, SlotState::idle);
    } else if (slot->state == SlotState::checking) {
        return;  // its borrower's check goes on
    }
    offer_locked(slot, now, false, d);
}

void PoolEngine::offer_locked(Slot* slot, std::int64_t now, bool fresh, Deferred& d) noexcept
{
    if (!queue_.empty() && !paused_) {
        // A new resource goes to the oldest waiters, whoever asked for it;
        // a freed one directly only past the fairness window (within it,
        // running threads may take it first, and the oldest waiter is told
        // to look).
        while (!queue_.empty() && inventory_.may_lend(*slot) && (fresh || queue_.hand_off_due(now)))
            grant_locked(*queue_.front(), slot, now, d);
        // Anything still free — on this slot (shared), or an idle one a
        // waiter handed this one was hinted for — is announced to the next.
        if (!queue_.empty() && inventory_.spare() > 0) hint_front_locked(d);
        return;
    }
    if (slot->state == SlotState::idle && inventory_.count(SlotState::idle) > max_idle_)
        retire_locked(slot, DestroyReason::idle, d);
}

void PoolEngine::retire_locked(Slot* slot, DestroyReason why, Deferred& d) noexcept
{
    if (!slot->held() && (slot->state == SlotState::leased || slot->state == SlotState::checking)) {
        inventory_.doom(slot, why, d.doomed);  // nobody holds it: no need to wait
        return;
    }
    inventory_.retire(slot, why, d.doomed);
}

void PoolEngine::tell_locked(Waiter& w, WaitOutcome outcome, Deferred& d) noexcept
{
    const bool was_front = queue_.front() == &w;
    queue_.remove(w, outcome);
    ++w.signals;
    w.next_told = d.told;
    d.told = &w;
    if (was_front && outcome != WaitOutcome::granted) hint_next_locked(d);
}

void PoolEngine::grant_locked(Waiter& w, Slot* slot, std::int64_t now, Deferred& d) noexcept
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

void PoolEngine::hint_next_locked(Deferred& d) noexcept
{
    // The oldest waiter left: if something is free, the next one should look.
    if (!queue_.empty() && inventory_.spare() > 0) hint_front_locked(d);
}

void PoolEngine::hint_front_locked(Deferred& d) noexcept
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

} // namespace respool::detail
