// PoolEngine: creating resources — how many are wanted, the creator threads
// (at most max_concurrent_creates, each living while there is demand), where
// a new resource goes, and what a failure does to the waiters: a transient
// one ends no wait (retried with back-off), a fatal one fails every waiter.
#include "pool_core_internal.hpp"

#include <thread>

#include <fmt/format.h>

namespace respool::detail {

std::size_t PoolEngine::creation_demand_locked() const noexcept
{
    if (closed_ || paused_) return 0;
    // Each resource in creation will serve `cap_` waiters. A resource out
    // for a check is not spare: a caller arriving now cannot have it.
    const std::size_t creating = inventory_.creating();
    const std::size_t covered = inventory_.spare() + creating * cap_;
    const std::size_t waiting = queue_.size();
    std::size_t need = waiting > covered ? (waiting - covered + cap_ - 1) / cap_ : 0;
    const std::size_t ready = inventory_.count(SlotState::idle) + inventory_.pool_checks() + creating;
    if (min_idle_ > ready) need = std::max(need, min_idle_ - ready);
    const std::size_t replacing = inventory_.replacements_pending();
    if (replacing > creating) need = std::max(need, replacing - creating);
    // Failing fatally: one attempt at a time (for min_idle, or for the one
    // caller let through per back-off step), never a connect storm.
    if (creation_fatal_) return need > 0 && creating == 0 ? 1 : 0;
    return need;
}

void PoolEngine::start_creations_locked() noexcept
{
    if (closed_) return;
    const std::size_t want = creation_demand_locked();
    if (want == 0) return;
    // One thread per creation allowed in flight; each loops while there is
    // demand, so a burst of waiters does not spawn a burst of threads.
    const std::size_t creating = inventory_.creating();
    const std::size_t target = std::min(governor_.concurrency(real_ns()), creating + want);
    while (creators_ < target &&
           inventory_.total() + (creators_ - std::min(creators_, creating)) < inventory_.max_size()) {
        ++creators_;
        ++refs_;
        try {
            std::thread([this] { creator_main(); }).detach();
        } catch (...) {
            // No thread to be had now: the next demand or housekeeping tries again.
            --creators_;
            --refs_;
            return;
        }
    }
}

std::int64_t PoolEngine::expiry_for_new_slot_locked(std::int64_t now) noexcept
{
    if (lifetime_ticks_ == INT64_MAX) return INT64_MAX;
    // Subtract up to `lifetime_jitter` of the lifetime, so resources made
    // together (a cold start, a recovery) do not all retire together.
    const double jitter = opt_.lifetime_jitter * std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    const std::int64_t life = lifetime_ticks_ - static_cast<std::int64_t>(static_cast<double>(lifetime_ticks_) * jitter);
    return now > INT64_MAX - life ? INT64_MAX : now + life;
}

std::int64_t PoolEngine::keepalive_due_locked(std::int64_t now) noexcept
{
    // Up to 10 % early, so resources returned together are not all checked
    // together. This runs on every return: the time stamp's bits, mixed,
    // serve as the randomness (a generator and floating point cost a
    // seventh of a whole acquire and release).
    const auto mixed = static_cast<std::uint64_t>(now) * 0x9E3779B97F4A7C15ull;
    const std::int64_t early = keepalive_ticks_ / 10 / 1024 * static_cast<std::int64_t>(mixed >> 54);  // 0..1023/1024
    const std::int64_t interval = keepalive_ticks_ - early;
    return now > INT64_MAX - interval ? INT64_MAX : now + interval;
}

void PoolEngine::creator_main() noexcept
{
    Lock lk(mu_);
    while (may_start_creation_locked(lk)) {
        inventory_.begin_creation();
        lk.unlock();
        const Creation c = create_one();
        Deferred d;
        lk.lock();
        const std::uint64_t id = c.slot ? created_locked(c, d) : 0;
        if (!c.slot) {
            inventory_.creation_failed();
            creation_failed_locked(c.error, c.error_text, true, d, c.fatal);
        }
        const std::size_t failures = governor_.consecutive_failures();
        if (ready_waiters_ > 0) changed_.notify_all();  // wait_ready() counts resources
        lk.unlock();
        tell_waiters(d);  // a waiter handed the new resource runs before any listener
        report_creation(c, id, failures);
        run_unlocked(d);
        lk.lock();
        settle_locked(d);
    }
    --creators_;
    unref(lk);
}

bool PoolEngine::may_start_creation_locked(Lock& lk) noexcept
{
    for (;;) {
        if (closed_ || creation_demand_locked() == 0 || inventory_.at_max()) return false;
        const std::int64_t real = real_ns();
        std::int64_t retry_at = CreationGovernor::never;
        if (governor_.try_start(real, inventory_.creating(), retry_at)) return true;
        if (retry_at == CreationGovernor::never) return false;  // another creation's result decides
        // Back-off, open breaker or rate limit: wait (closing wakes us), then look again.
        changed_.wait_for(lk, std::chrono::nanoseconds(retry_at - real), [&] { return closed_; });
    }
}

PoolEngine::Creation PoolEngine::create_one() noexcept
{
    Creation c;
    const auto t0 = SteadyClock::now();
    RESPOOL_ASSERT_UNLOCKED();
    try {
        c.slot = create_slot(deadline_after(opt_.create_timeout, t0), creation_stop_.get_token());
    } catch (const std::exception& e) {
        c.error = std::current_exception();
        c.error_text = e.what();
        c.fatal = creation_is_fatal(e);  // adapter code: classified before the lock is taken
    } catch (...) {
        c.error = std::current_exception();
        c.error_text = "create() threw an exception not derived from std::exception";
    }
    c.took = std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - t0);
    c.done = time_.ticks();  // unlocked: the clock may be the user's
    return c;
}

std::uint64_t PoolEngine::created_locked(const Creation& c, Deferred& d) noexcept
{
    if (const auto t = governor_.on_success(real_ns()); t != CreationGovernor::Transition::none)
        d.more().transition = t;
    ++counters_.created;
    creation_fatal_ = false;  // the cause is fixed: acquires wait for creations again
    counters_.create_time.record(c.took.count());
    Slot* slot = c.slot;
    slot->id = next_id_++;
    slot->created_ticks = slot->idle_since_ticks = c.done;
    slot->expires_ticks = expiry_for_new_slot_locked(c.done);
    if (keepalive_ticks_ != INT64_MAX) slot->keepalive_due_ticks = keepalive_due_locked(c.done);
    inventory_.add(slot);
    const std::uint64_t id = slot->id;
    deliver_locked(slot, c.done, d);  // from here on the slot may be lent or doomed
    return id;
}

void PoolEngine::report_creation(const Creation& c, std::uint64_t id, std::size_t failures) noexcept
{
    if (c.slot) {
        emit(Event{.kind = EventKind::created, .pool = opt_.name, .resource_id = id, .duration = c.took});
        return;
    }
    emit(Event{.kind = EventKind::create_failed, .pool = opt_.name, .duration = c.took, .message = c.error_text});
    // The first failure of a run is news; the rest are in the stats and events.
    log(c.fatal ? LogLevel::error : failures == 1 ? LogLevel::warning : LogLevel::debug,
        fmt::format("respool[{}]: creating a resource failed after {}{}: {}", opt_.name, format_duration(c.took),
                    c.fatal ? " (fatal: waiting callers failed at once)" : "", c.error_text));
}

void PoolEngine::deliver_locked(Slot* slot, std::int64_t now, Deferred& d) noexcept
{
    if (closed_ || inventory_.over_max()) {
        // Closed, or the pool shrank (resize) while it was being made.
        inventory_.doom(slot, closed_ ? DestroyReason::closed : DestroyReason::retired, d.doomed);
        return;
    }
    // Make-before-break: the new channel is ready, so one due for
    // retirement stops taking leases now (and goes once its holders and any
    // check on it are done).
    if (Slot* old = inventory_.replaced_slot()) retire_locked(old, DestroyReason::lifetime, d);
    offer_locked(slot, now, true, d);
}

void PoolEngine::creation_failed_locked(const std::exception_ptr& error, const std::string& text, bool from_create,
                                      Deferred& d, bool fatal) noexcept
{
    const auto transition = governor_.on_failure(real_ns());
    ++counters_.create_failures;
    counters_.last_create_error = text;
    counters_.last_create_exception = error;
    // The latest creation's verdict decides: a transient failure after a
    // fatal one (the password fixed, the server still starting) is retried
    // for waiters again. (A resource broken on arrival says nothing new.)
    if (from_create) creation_fatal_ = fatal;
    const auto fail_every_waiter = [&](bool circuit_open) {
        while (Waiter* w = queue_.front()) {
            w->error = error;
            w->error_text = text;
            w->circuit_open = circuit_open;
            tell_locked(*w, WaitOutcome::failed, d);
        }
    };
    if (fatal) fail_every_waiter(false);  // retrying cannot help: nobody should wait out a timeout for it
    // A transient failure ends no wait: the next attempt (after the back-off)
    // or a lease given back may serve the waiters, each of which gives up at
    // its own deadline with this error (throw_timeout_locked).
    using T = CreationGovernor::Transition;
    if (transition == T::opened) ++counters_.circuit_opened;
    if (transition == T::opened || transition == T::reopened) {
        // Nobody should wait out a timeout for a creation that will not be
        // tried for a while: those queued behind a failed probe too.
        fail_every_waiter(true);
    }
    auto& news = d.more();
    if (transition != T::none) {
        news.transition = transition;
        news.transition_error = text;
    }
    news.consecutive_failures = governor_.consecutive_failures();
}

} // namespace respool::detail
