// PoolEngine: what a failed acquire says. A timeout's message is derived from
// the state that kept this caller waiting — holders, creations in flight,
// back-off or breaker with the last creation error, resources busy in a
// check, callers queued ahead — so that a user can tell a pool too small
// from a server that is down from a check that is slow. A wait that ends
// while creations are failing is a `CreateFailed` with the same description.
#include "pool_core_internal.hpp"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

namespace respool::detail {

namespace {

/// Why nothing reached this caller, in a few words.
std::string headline(const PoolSnapshot& snap, std::size_t checking, std::size_t creators, CircuitState circuit,
                     bool backing_off, std::size_t failures, std::chrono::milliseconds create_timeout)
{
    if (circuit != CircuitState::closed)
        return fmt::format("waiting for a resource to be created: the circuit breaker is {} after {} consecutive "
                           "creation failures",
                           circuit == CircuitState::open ? "open" : "half-open (probing)", failures);
    if (snap.creating > 0)
        return fmt::format("waiting for a resource being created ({} creation(s) in flight, create_timeout {} ms)",
                           snap.creating, create_timeout.count());
    if (backing_off)
        return fmt::format("waiting for a resource to be created: creation is pausing after {} consecutive "
                           "failure(s)",
                           failures);
    if (creators > 0) return "waiting for a resource to be created (a creation was starting)";
    const bool full = snap.total >= snap.max_size;
    if (full && checking > 0 && snap.idle <= checking)
        return fmt::format("waiting for a resource busy in a validation ({} being checked; the pool is at max_size)",
                           checking);
    if (full && snap.in_use == snap.total)
        return "waiting for a resource to be returned: the pool is exhausted";
    if (full) return "waiting for a resource to be returned";
    return "waiting for a resource to be created";
}

} // namespace

void PoolEngine::throw_timeout_locked(const AcquireContext& ctx, std::uint64_t failures_seen, std::int64_t now)
{
    const std::int64_t real = real_ns();
    const PoolSnapshot snap = snapshot_locked();
    const std::size_t checking = inventory_.count(SlotState::checking);
    const CircuitState circuit = governor_.state(real);
    const bool backing_off = governor_.consecutive_failures() > 0 && governor_.next_allowed() > real;
    std::string state;
    if (ctx.phase == AcquirePhase::validating)
        state = fmt::format("while validating a resource (validation_timeout {} ms)", opt_.validation_timeout.count());
    else if (paused_)
        state = "waiting: the pool is paused (pause() was called; resume() lets acquires through)";
    else
        state = headline(snap, checking, creators_, circuit, backing_off, governor_.consecutive_failures(),
                         opt_.create_timeout);
    state += fmt::format(" [{} of max_size {} exist: {} in use, {} idle, {} creating", snap.total, snap.max_size,
                         snap.in_use, snap.idle, snap.creating);
    if (checking > 0) state += fmt::format(", {} being checked", checking);
    state += fmt::format("; {} waiting]", snap.waiting);
    const std::uint64_t failed_meanwhile = counters_.create_failures - failures_seen;
    if (ctx.phase != AcquirePhase::validating && failed_meanwhile > 0 && governor_.consecutive_failures() > 0) {
        // Creations failed while this caller waited and are failing still:
        // the cause is the server (or the network), not the pool's size, so
        // it ends as CreateFailed with the last creation error.
        throw CreateFailed(fmt::format("respool[{}]: creating a resource failed: {} (gave up after {} {}; {} "
                                       "creation attempt(s) failed while it waited)",
                                       opt_.name, counters_.last_create_error, format_duration(ctx.timeout), state,
                                       failed_meanwhile),
                           counters_.last_create_error, counters_.last_create_exception);
    }
    ++counters_.timeouts;
    std::vector<LeaseInfo> holders = leases_.holders(now, time_);
    std::string msg = fmt::format("respool[{}]: acquire timed out after {} {}", opt_.name,
                                  format_duration(ctx.timeout), state);
    if (failed_meanwhile > 0 || backing_off || circuit != CircuitState::closed)
        msg += fmt::format("; creation is failing, last error: {}", counters_.last_create_error);
    SourceLocation mine_site{};
    if (const std::size_t mine = leases_.held_by(ctx.thread, mine_site); mine > 0)
        msg += fmt::format("; this thread already holds {} lease(s) from this pool (one acquired at {}): waiting "
                           "for another while holding one can deadlock",
                           mine, format_site(mine_site));
    if (!holders.empty()) {
        msg += "; holders, oldest first:";
        const std::size_t shown = std::min<std::size_t>(holders.size(), 10);
        for (std::size_t i = 0; i < shown; ++i) msg += "\n  " + describe(holders[i]);
        if (holders.size() > shown) msg += fmt::format("\n  ... and {} more", holders.size() - shown);
    }
    throw AcquireTimeout(msg, ctx.phase, snap, std::move(holders));
}

bool PoolEngine::fatal_fails_fast_locked(std::int64_t real_now) const noexcept
{
    // One caller per back-off step is let through to wait for a new attempt,
    // so that the pool finds out when the cause is fixed; every other one
    // fails at once (no creation is started for it).
    const bool attempt_may_start = inventory_.creating() == 0 && creators_ == 0 && !inventory_.at_max() &&
                                   governor_.state(real_now) != CircuitState::open &&
                                   governor_.next_allowed() <= real_now;
    return !attempt_may_start;
}

void PoolEngine::throw_fatal_locked(std::int64_t real_now)
{
    ++counters_.fast_failures;
    std::int64_t next = std::max(governor_.next_allowed(), real_now);
    if (governor_.state(real_now) == CircuitState::open)
        next = std::max(next, governor_.opened_at() + std::chrono::nanoseconds(opt_.circuit_open_time).count());
    throw CreateFailed(fmt::format("respool[{}]: creating a resource failed with an error the adapter classifies "
                                   "as fatal; failing fast until a creation succeeds (next attempt in {} at the "
                                   "earliest): {}",
                                   opt_.name, format_duration(std::chrono::nanoseconds(next - real_now)),
                                   counters_.last_create_error),
                       counters_.last_create_error, counters_.last_create_exception);
}

void PoolEngine::throw_circuit_open_locked(std::int64_t real_now)
{
    ++counters_.fast_failures;
    const auto reopen = std::chrono::nanoseconds(governor_.opened_at() - real_now) + opt_.circuit_open_time;
    throw CircuitOpen(fmt::format("respool[{}]: circuit open: creating a resource failed {} times in a row; failing "
                                  "fast for {} more before a probe; last error: {}",
                                  opt_.name, governor_.consecutive_failures(),
                                  format_duration(std::max(reopen, std::chrono::nanoseconds::zero())),
                                  counters_.last_create_error),
                      counters_.last_create_error, counters_.last_create_exception);
}

} // namespace respool::detail
