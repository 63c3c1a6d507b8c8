// PoolEngine: changing a running pool — resize and min_idle, waiting until it
// is warm, pause and resume, retiring resources on demand, and detaching a
// leased resource for good. Each is a short walk over the parts under the
// lock; user code (the retire_if predicate) runs with the lock released.
#include "pool_core_internal.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace respool::detail {

namespace {

[[noreturn]] void reject(const char* field, const std::string& rule)
{
    throw InvalidOptions(fmt::format("respool: invalid PoolOptions.{}: {}", field, rule), field);
}

} // namespace

void PoolEngine::resize(std::size_t max_size)
{
    Deferred d;
    Lock lk(mu_);
    if (max_size == 0) reject("max_size", "must be at least 1");
    if (max_size > max_pool_size)
        reject("max_size", fmt::format("{} exceeds the limit of {} resources per pool", max_size, max_pool_size));
    if (max_size < min_idle_) reject("max_size", fmt::format("{} is below min_idle ({})", max_size, min_idle_));
    ++refs_;
    inventory_.set_max_size(max_size);
    max_idle_ = max_idle_setting_ == 0 ? max_size : std::min(max_idle_setting_, max_size);
    // Shrinking: idle ones go now, least recently used first; held ones as
    // they are given back (place_locked), creations in flight on arrival
    // (deliver_locked).
    while (inventory_.over_max() && !inventory_.idle_list().empty())
        inventory_.doom(inventory_.idle_list().front(), DestroyReason::retired, d.doomed);
    // Growing: the queue's demand may now be met.
    start_creations_locked();
    finish_and_unref(lk, d);
}

void PoolEngine::set_min_idle(std::size_t min_idle)
{
    Lock lk(mu_);
    if (min_idle > inventory_.max_size())
        reject("min_idle", fmt::format("{} exceeds max_size ({})", min_idle, inventory_.max_size()));
    if (max_idle_setting_ != 0 && min_idle > max_idle_)
        reject("min_idle", fmt::format("{} exceeds max_idle ({})", min_idle, max_idle_));
    min_idle_ = min_idle;
    start_creations_locked();  // the refill, at once
    if (ready_waiters_ > 0) changed_.notify_all();  // a lower min_idle may be met already
}

void PoolEngine::wait_ready(std::chrono::milliseconds timeout)
{
    const Deadline until = deadline_after(timeout);
    const auto start = SteadyClock::now();
    Lock lk(mu_);
    ++refs_;
    ++ready_waiters_;
    const std::uint64_t failures_seen = counters_.create_failures;
    const auto existing = [&] { return inventory_.slots().size() - inventory_.count(SlotState::retiring); };
    // A fatal creation failure ends the wait at once, as it fails waiting
    // acquires: retrying will not help until someone fixes the cause.
    const auto failed_fatally = [&] { return creation_fatal_ && counters_.create_failures > failures_seen; };
    const auto done = [&] { return closed_ || existing() >= min_idle_ || failed_fatally(); };
    start_creations_locked();
    if (until == Deadline::max()) changed_.wait(lk, done);
    else changed_.wait_until(lk, until, done);
    --ready_waiters_;
    if (closed_ || existing() >= min_idle_) {
        const bool closed = closed_;
        unref(lk);
        if (closed) throw PoolClosed(fmt::format("respool[{}]: the pool was closed in wait_ready", opt_.name));
        return;
    }
    const std::string how_many =
        fmt::format("respool[{}]: wait_ready {} after {}: {} of min_idle {} resource(s) exist", opt_.name,
                    failed_fatally() ? "gave up" : "timed out", format_duration(SteadyClock::now() - start),
                    existing(), min_idle_);
    if (counters_.create_failures > failures_seen || governor_.consecutive_failures() > 0) {
        CreateFailed failed(fmt::format("{}; creating a resource failed: {}", how_many, counters_.last_create_error),
                            counters_.last_create_error, counters_.last_create_exception);
        unref(lk);
        throw failed;
    }
    const std::int64_t now = ticks_unlocked(lk);
    const PoolSnapshot snap = snapshot_locked();
    AcquireTimeout timed_out(fmt::format("{}{} [{} of max_size {} exist: {} in use, {} idle, {} creating]", how_many,
                                         paused_ ? "; the pool is paused (resume() lets creation start)" : "",
                                         snap.total, snap.max_size, snap.in_use, snap.idle, snap.creating),
                             AcquirePhase::creating, snap, leases_.holders(now, time_));
    unref(lk);
    throw timed_out;
}

void PoolEngine::pause()
{
    Lock lk(mu_);
    // Creators see no demand and stop; nothing is lent until resume().
    paused_ = true;
}

void PoolEngine::resume()
{
    Deferred d;
    const std::int64_t now = time_.ticks();
    Lock lk(mu_);
    if (!paused_) return;
    ++refs_;
    paused_ = false;
    // Serve the queue at once, oldest first, from what is lendable (most
    // recently returned first); then create for the rest.
    const IdleList& idle = inventory_.idle_list();
    while (!queue_.empty() && !idle.empty()) offer_locked(idle.back(), now, true, d);
    if (shared_)
        for (Slot* s : inventory_.slots())
            if (!queue_.empty() && inventory_.may_lend(*s)) offer_locked(s, now, true, d);
    start_creations_locked();
    finish_and_unref(lk, d);
}

void PoolEngine::retire_all()
{
    Deferred d;
    Lock lk(mu_);
    ++refs_;
    // Backwards: dooming one moves the last slot into its place, which has been seen.
    const auto& slots = inventory_.slots();
    for (std::size_t i = slots.size(); i-- > 0;) retire_locked(slots[i], DestroyReason::retired, d);
    start_creations_locked();  // min_idle and the queue, as places free up
    finish_and_unref(lk, d);
}

void PoolEngine::retire_if(const std::function<bool(const Slot&)>& pred)
{
    struct Candidate {
        Slot* slot;
        std::uint64_t id;
    };
    std::vector<Candidate> candidates;
    Lock lk(mu_);
    ++refs_;
    for (Slot* s : inventory_.slots())
        if (s->state == SlotState::idle) candidates.push_back({s, s->id});
    for (const Candidate& c : candidates) {
        // Still here and still idle? (Pointers are compared, not followed, until found.)
        Slot* slot = nullptr;
        for (Slot* s : inventory_.slots())
            if (s == c.slot && s->id == c.id && s->state == SlotState::idle) slot = s;
        if (!slot || closed_) continue;
        // Out for a check, like a keepalive: not lent, not destroyed, while the predicate reads it.
        begin_pool_check_locked(slot);
        lk.unlock();
        bool retire = false;
        std::exception_ptr error;
        RESPOOL_ASSERT_UNLOCKED();
        try {
            retire = pred(*slot);
        } catch (...) {
            error = std::current_exception();
        }
        Deferred d;
        const std::int64_t now = time_.ticks();
        lk.lock();
        if (retire) retire_locked(slot, DestroyReason::retired, d);
        end_pool_check_locked(slot, now, d);  // back to its place in the idle order (or to a waiter), or destroyed
        start_creations_locked();
        flush(lk, d);
        if (error) {
            unref(lk);
            std::rethrow_exception(error);
        }
    }
    unref(lk);
}

Slot* PoolEngine::detach(LeaseRecord* rec)
{
    if (shared_)
        throw std::logic_error("respool: Lease::detach() in shared lease mode: other leases share this resource; "
                               "give the lease back instead");
    const std::int64_t now = time_.ticks();
    Deferred d;
    Lock lk(mu_);
    Slot* slot = rec->slot;
    if (slot->pins > 0)
        throw std::logic_error("respool: Lease::detach(): the pool is interrupting this resource (an overdue lease "
                               "being reclaimed); give the lease back instead");
    const std::int64_t held = now - rec->acquired_ticks;
    leases_.sites().on_release(rec->site_index, held, Histogram::index(held));
    leases_.remove(rec);
    inventory_.drop_lease(slot);
    inventory_.forget(slot);  // its place is free now
    ++counters_.detached;
    start_creations_locked();  // a waiter may get a new one in its place
    finish_and_unref(lk, d);   // the lease's reference
    return slot;
}

void PoolEngine::report_hook_failure(const char* hook, const char* what) const noexcept
{
    try {
        log(LogLevel::warning, fmt::format("respool[{}]: the {} hook threw: {}; the resource is destroyed",
                                           opt_.name, hook, what));
    } catch (...) {
        // Out of memory for the message: the resource is destroyed all the same.
    }
}

} // namespace respool::detail
