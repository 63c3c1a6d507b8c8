// PoolEngine: housekeeping — idle eviction and lifetime, lease watching
// (leak_threshold, max_lease_time), refill, and keepalive checks of idle
// resources, one at a time and never while callers wait.
#include "pool_core_internal.hpp"

#include <thread>

#include <fmt/format.h>

namespace respool::detail {

void PoolEngine::housekeeper_main() noexcept
{
    Lock lk(mu_);
    while (!closed_) {
        changed_.wait_for(lk, opt_.housekeeping_interval, [&] { return closed_; });
        if (closed_) break;
        lk.unlock();
        run_maintenance();
        lk.lock();
    }
    unref(lk);
}

void PoolEngine::evict_locked(std::int64_t now, Deferred& d) noexcept
{
    // Idle ones: expired ones wherever they are; then, least recently
    // returned first (the front of the idle order), those idle longer than
    // idle_timeout while more than min_idle are idle.
    const IdleList& idle = inventory_.idle_list();
    for (std::size_t i = idle.size(); i-- > 0;)
        if (Slot* s = idle.at(i); now >= s->expires_ticks) inventory_.doom(s, DestroyReason::lifetime, d.doomed);
    while (idle.size() > min_idle_ && now - idle.front()->idle_since_ticks >= idle_timeout_ticks_)
        inventory_.doom(idle.front(), DestroyReason::idle, d.doomed);
    if (!shared_) return;
    // A lease is never taken away: a shared resource due to retire is
    // replaced first (make-before-break) when there is room.
    const auto& slots = inventory_.slots();
    for (std::size_t i = slots.size(); i-- > 0;) {
        Slot* s = slots[i];
        if (s->state != SlotState::leased || now < s->expires_ticks || s->replacement_pending) continue;
        if (!inventory_.at_max()) inventory_.mark_for_replacement(s);
        else retire_locked(s, DestroyReason::lifetime, d);  // no room: stop new leases, finish current ones
    }
}

void PoolEngine::run_maintenance()
{
    LeaseWatch watch;
    Deferred d;
    const std::int64_t now = time_.ticks();
    Lock lk(mu_);
    if (closed_) return;
    ++refs_;  // keeps the pool while we work without the lock
    check_invariants_locked();
    evict_locked(now, d);
    watch_leases_locked(now, watch, d);
    start_creations_locked();
    lk.unlock();

    run_unlocked(d);
    for (Slot* s : watch.to_interrupt) {
        RESPOOL_ASSERT_UNLOCKED();
        interrupt_slot(*s);
    }
    report_lease_notes(watch);
    lk.lock();
    settle_locked(d);
    for (Slot* s : watch.to_interrupt) {
        --s->pins;
        place_locked(s, now, false, d);  // retiring: destroyed now if its holder is gone
    }
    flush(lk, d);
    lk.unlock();

    keep_alive();

    lk.lock();
    check_invariants_locked();
    unref(lk);
}

void PoolEngine::watch_leases_locked(std::int64_t now, LeaseWatch& watch, Deferred& d)
{
    // Leases past leak_threshold (reported once) and past max_lease_time
    // (flagged, asked to stop, optionally interrupted). A long lease is not a leak.
    leases_.scan(
        now, leak_threshold_ticks_,
        [&](LeaseRecord& r) {
            ++counters_.leaks_suspected;
            watch.notes.push_back({leases_.info(r, now, time_), EventKind::leak_suspected});
        },
        [&](LeaseRecord& r) {
            ++counters_.leases_overdue;
            if (!r.stop) r.stop.emplace();
            d.more().stops.push_back(*r.stop);  // requested once unlocked: it runs the holder's callbacks
            const bool reclaim = opt_.reclaim_overdue_leases && caps_.interrupt && !r.reclaimed;
            if (reclaim) {
                // Pinned, so it outlives the holder's return while we interrupt it.
                r.reclaimed = true;
                Slot* s = r.slot;
                ++s->pins;
                retire_locked(s, DestroyReason::broken, d);
                watch.to_interrupt.push_back(s);
            }
            watch.notes.push_back(
                {leases_.info(r, now, time_), reclaim ? EventKind::lease_reclaimed : EventKind::lease_overdue});
        });
}

void PoolEngine::report_lease_notes(const LeaseWatch& watch) const noexcept
{
    for (const LeaseWatch::Note& n : watch.notes) {
        if (n.kind == EventKind::leak_suspected)
            log(LogLevel::warning,
                fmt::format("respool[{}]: possible leak: lease held longer than leak_threshold ({} ms): {}", opt_.name,
                            opt_.leak_threshold.count(), describe(n.info)));
        else
            log(LogLevel::warning,
                fmt::format("respool[{}]: lease held past max_lease_time ({} ms) without a heartbeat{}: {}", opt_.name,
                            opt_.max_lease_time.count(), n.kind == EventKind::lease_reclaimed ? "; reclaimed" : "",
                            describe(n.info)));
        emit(Event{.kind = n.kind, .pool = opt_.name, .resource_id = n.info.resource_id, .duration = n.info.age,
                   .site = n.info.site, .thread = n.info.thread});
    }
}

void PoolEngine::keep_alive()
{
    if (keepalive_ticks_ == INT64_MAX || !caps_.validate) return;
    for (;;) {
        Deferred d;
        const std::int64_t now = time_.ticks();
        Lock lk(mu_);
        // Never hold back a resource someone is waiting for; one at a time,
        // so the others stay idle and lendable meanwhile.
        if (closed_ || !queue_.empty()) return;
        Slot* due = nullptr;
        for (Slot* s : inventory_.slots())
            if (s->state == SlotState::idle && now >= s->keepalive_due_ticks &&
                (!due || s->keepalive_due_ticks < due->keepalive_due_ticks))
                due = s;
        if (!due) return;
        begin_pool_check_locked(due);
        lk.unlock();

        RESPOOL_ASSERT_UNLOCKED();
        const bool ok = validate_slot(*due, deadline_after(opt_.validation_timeout));
        const std::int64_t checked = time_.ticks();
        const std::uint64_t id = due->id;

        lk.lock();
        ++counters_.keepalives;
        if (ok) {
            prove_locked(due);
            due->checked_ticks = checked;
            due->keepalive_due_ticks = keepalive_due_locked(checked);
        } else {
            ++counters_.keepalive_failures;
            failed_unproven_locked(due, "validate() in a keepalive check", d);
            retire_locked(due, DestroyReason::validation, d);
        }
        // Keeps its idle_since, so its place in the idle order and idle eviction still apply.
        end_pool_check_locked(due, checked, d);
        start_creations_locked();
        lk.unlock();
        tell_waiters(d);  // a waiter that arrived during the check may have been handed this one
        if (!ok) emit(Event{.kind = EventKind::keepalive_failed, .pool = opt_.name, .resource_id = id});
        run_unlocked(d);
        lk.lock();
        settle_locked(d);
    }
}

void PoolEngine::begin_pool_check_locked(Slot* slot) noexcept
{
    inventory_.set_state(slot, SlotState::checking);
    ++slot->pins;
}

void PoolEngine::end_pool_check_locked(Slot* slot, std::int64_t now, Deferred& d) noexcept
{
    --slot->pins;
    place_locked(slot, now, false, d);
}

} // namespace respool::detail
