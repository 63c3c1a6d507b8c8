// respool/stats.hpp — what the pool is doing, in numbers.
//
// `Pool::stats()` returns a `PoolStats` copied under the pool's lock: gauges
// (how many resources are where now), counters (since the pool was made),
// distributions (p50/p99/max of wait, hold and create times) and the same
// wait/hold figures per acquire site, so the stats name the code path that
// holds the pool. Cheap enough to scrape every second; not for the hot path.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <respool/detail/export.hpp>

namespace respool {

/// Why a resource was destroyed.
enum class DestroyReason {
    idle,        ///< idle longer than `idle_timeout`, or beyond `max_idle`
    lifetime,    ///< older than `max_lifetime`
    broken,      ///< `is_broken`, `mark_broken()` or a failed `reset`
    validation,  ///< `validate` said no (or threw, or ran out of time)
    closed,      ///< the pool was closed
    retired,     ///< `retire_all`, `retire_if`, or `resize` below the number that existed
};
inline constexpr std::size_t destroy_reason_count = 6;

/// "idle", "lifetime", "broken", "validation", "closed" or "retired".
RESPOOL_API std::string_view to_string(DestroyReason reason) noexcept;

/// The creation breaker: closed (creating normally), open (creation kept
/// failing; acquires that need a new resource fail fast), half-open (one
/// probe creation at a time tests the server).
enum class CircuitState { closed, open, half_open };

/// "closed", "open" or "half_open".
RESPOOL_API std::string_view to_string(CircuitState state) noexcept;

/// Upper bounds of the histogram buckets every `Distribution` counts (and
/// Prometheus' `le` labels): 10 µs to 30 s in 1-2.5-5 steps, then +Inf.
inline constexpr std::array<std::chrono::nanoseconds, 20> histogram_bounds = [] {
    using std::chrono::microseconds;
    std::array<std::chrono::nanoseconds, 20> b{};
    const long long steps[] = {10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
                               100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = microseconds(steps[i]);
    return b;
}();

/// p50, p99 and max of a set of durations (about ±12 % resolution), and how
/// many fell under each of `histogram_bounds`.
struct Distribution {
    std::uint64_t count = 0;
    std::chrono::nanoseconds p50{};
    std::chrono::nanoseconds p99{};
    std::chrono::nanoseconds max{};
    std::chrono::nanoseconds sum{};  ///< for averages and Prometheus' _sum
    /// Cumulative: `buckets[i]` observations took at most `histogram_bounds[i]`
    /// (one that the ±12 % resolution cannot place below a bound is counted
    /// above it, so a count is never overstated); `count` is the +Inf bucket.
    std::array<std::uint64_t, histogram_bounds.size()> buckets{};
};

/// Figures of one acquire site (a file:line that calls `acquire`).
struct SiteStats {
    std::string site;            ///< "file.cpp:42", or "other" for sites beyond the tracked limit
    std::string function;        ///< the enclosing function, as the compiler names it
    std::uint64_t acquired = 0;  ///< leases taken here
    std::size_t holding = 0;     ///< leases from here outstanding now
    Distribution wait;           ///< time to get the lease
    Distribution hold;           ///< time until it was given back
};

/// One live resource.
struct ResourceStats {
    std::uint64_t id = 0;
    std::size_t leases = 0;           ///< holders now (calls in flight, in shared mode)
    std::chrono::nanoseconds age{};   ///< since creation
    std::chrono::nanoseconds idle{};  ///< since its last holder let go; 0 while leased
    bool retiring = false;            ///< takes no new leases; destroyed once free
};

/// Destroyed resources, by reason.
struct DestroyCounts {
    std::uint64_t by_reason[destroy_reason_count] = {};
    std::uint64_t operator[](DestroyReason r) const noexcept { return by_reason[static_cast<int>(r)]; }
    RESPOOL_API std::uint64_t total() const noexcept;
};

/// A consistent picture of one pool.
struct PoolStats {
    std::string name;
    std::size_t max_size = 0;

    // gauges
    std::size_t total = 0;     ///< resources that exist: idle + in_use + creating (+ being destroyed)
    std::size_t idle = 0;      ///< ready to lend
    std::size_t in_use = 0;    ///< with at least one lease
    std::size_t leases = 0;    ///< outstanding leases (more than in_use in shared mode)
    std::size_t waiting = 0;   ///< callers queued in acquire
    std::size_t creating = 0;  ///< creations in flight

    // counters
    std::uint64_t acquired = 0;         ///< leases handed out
    std::uint64_t acquired_direct = 0;  ///< of `acquired`: served without queuing
    std::uint64_t acquired_waited = 0;  ///< of `acquired`: served after queuing (the pool was short)
    std::uint64_t detached = 0;         ///< resources taken out of the pool by `Lease::detach`
    std::uint64_t created = 0;          ///< resources made
    DestroyCounts destroyed;            ///< resources destroyed, by reason
    std::uint64_t create_failures = 0;  ///< failed creations: `create` threw, or a new resource was broken
                                        ///< or invalid before it had served a lease (the breaker counts both)
    std::uint64_t timeouts = 0;         ///< acquires that ran out of time
    std::uint64_t cancellations = 0;    ///< acquires whose stop token fired
    std::uint64_t rejections = 0;       ///< acquires turned away by `max_waiters`
    std::uint64_t validations = 0;      ///< `validate` calls on borrow
    std::uint64_t validation_failures = 0;
    std::uint64_t leaks_suspected = 0;  ///< leases held past `leak_threshold`
    std::uint64_t leases_overdue = 0;   ///< leases past `max_lease_time` without a heartbeat
    std::uint64_t keepalives = 0;       ///< keepalive validations of idle resources
    std::uint64_t keepalive_failures = 0;
    std::uint64_t circuit_opened = 0;   ///< times the creation breaker opened
    std::uint64_t fast_failures = 0;    ///< acquires failed at once: `CircuitOpen`, or `CreateFailed` after a fatal failure

    // distributions
    Distribution acquire_wait;
    Distribution hold_time;
    Distribution create_time;

    std::vector<SiteStats> sites;          ///< busiest first
    std::vector<ResourceStats> resources;  ///< every live resource
    std::string last_create_error;         ///< empty if creation never failed
    CircuitState circuit = CircuitState::closed;
    bool closed = false;
};

/// A multi-line human-readable report of `stats`.
RESPOOL_API std::string to_string(const PoolStats& stats);

} // namespace respool
