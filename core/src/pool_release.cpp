// PoolEngine: giving a resource back — the return checks, and the accounting
// of resources that fail before they have served anyone. Where the resource
// goes next is pool_dispatch.cpp's to decide.
#include "pool_core_internal.hpp"

#include <fmt/format.h>

namespace respool::detail {

void PoolEngine::release(LeaseRecord* rec) noexcept
{
    Slot* slot = rec->slot;
    const ReturnVerdict verdict = run_return_checks(rec);
    // Read after the hooks, so that the time stamps (idle since, keepalive
    // due, expiry) describe the resource as it goes back; and before the
    // lock, like the hold time's bucket: the clock read and the arithmetic
    // after it stay out of the critical section.
    const std::int64_t now = time_.ticks();
    const std::int64_t held = now - rec->acquired_ticks;
    const int held_bucket = Histogram::index(held);

    Deferred d;
    Lock lk(mu_);
    const bool was_reported = rec->leak_reported;
    const SourceLocation site = rec->site;
    const std::thread::id thread = rec->thread;
    const bool broken = verdict.broken || rec->reclaimed;  // interrupted by the pool: never lend it again
    leases_.sites().on_release(rec->site_index, held, held_bucket);
    slot->last_holder = thread;
    leases_.remove(rec);  // our reference stays until the end: it keeps the pool while we finish
    inventory_.drop_lease(slot);
    if (broken) {
        if (verdict.by_adapter) failed_unproven_locked(slot, "is_broken() or reset() on return", d);
        retire_locked(slot, DestroyReason::broken, d);
    } else if (!slot->proven && !validation_is_the_judge_) {
        prove_locked(slot);
    }
    place_locked(slot, now, true, d);
    check_small_locked();
    if (!was_reported) [[likely]] {
        finish_and_unref(lk, d);
        return;
    }
    const std::uint64_t id = slot->id;  // the slot may be gone once the lock is released
    lk.unlock();
    run_unlocked(d);  // waiters first: the note below is user code
    const auto age = time_.to_duration(held);
    log(LogLevel::warning, fmt::format("respool[{}]: the lease acquired at {} that was reported as a leak "
                                       "was returned after all, held {}",
                                       opt_.name, format_site(site), format_duration(age)));
    emit(Event{.kind = EventKind::leak_returned, .pool = opt_.name, .resource_id = id, .duration = age,
               .site = site, .thread = thread});
    lk.lock();
    settle_locked(d);
    unref(lk);
}

PoolEngine::ReturnVerdict PoolEngine::run_return_checks(const LeaseRecord* rec) noexcept
{
    Slot& slot = *rec->slot;
    ReturnVerdict v{rec->broken, false};
    // The user's hook first, on the resource as its holder left it; false
    // is the user's verdict (like mark_broken), not a failed creation.
    if (!v.broken && caps_.on_release) [[unlikely]] {
        RESPOOL_ASSERT_UNLOCKED();
        v.broken = !on_release_slot(slot);
    }
    // An exclusive resource is the holder's alone until it is back in the
    // pool, so it can be checked and reset without the lock.
    if (!v.broken && caps_.is_broken) {
        RESPOOL_ASSERT_UNLOCKED();
        v.broken = v.by_adapter = slot_is_broken(slot);
    }
    if (!v.broken && caps_.reset && !shared_) {
        RESPOOL_ASSERT_UNLOCKED();
        v.broken = v.by_adapter = !reset_slot(slot);
    }
    return v;
}

void PoolEngine::prove_locked(Slot* slot) noexcept
{
    if (slot->proven) return;
    slot->proven = true;
    governor_.on_proven();
}

void PoolEngine::failed_unproven_locked(Slot* slot, const char* what, Deferred& d) noexcept
{
    // A resource the adapter finds broken before it ever proved itself
    // (served a lease healthy, or passed a validation where every borrow
    // validates) is a creation that failed late (a server that accepts and
    // drops connections, say): it counts for back-off and the breaker, or
    // the pool would create and destroy resources as fast as it can.
    if (slot->proven || slot->state == SlotState::retiring || slot->state == SlotState::destroying) return;
    slot->proven = true;  // counted once
    const std::string text = fmt::format("a new resource (#{}) failed {} before it had proved itself", slot->id, what);
    creation_failed_locked(nullptr, text, false, d);
    d.more().failure = text;
}

} // namespace respool::detail
