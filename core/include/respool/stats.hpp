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
#include <type_traits>
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

/// Every figure of `PoolStats`, declared once: this list makes the members
/// of `PoolStats` (and of the pool's internal counters), the report of
/// `to_string(PoolStats)`, the Prometheus families of `to_prometheus`, the
/// JSON of `to_json(PoolStats)` and the metric table of docs/observability.md
/// (a test compares them). Adding a counter is a line here and the line of
/// the core that counts it.
///
/// X(kind, field, prometheus_name, unit, report, help):
///   kind             gauge (a count of now, set by the pool), counter (counted
///                    by the pool since it was made), derived (computed from
///                    other counters; see detail/counters.hpp), by_reason (one
///                    counter per `DestroyReason`), state (the breaker's state),
///                    timing (a `Distribution` the counters keep) or
///                    site_timing (the sum of the per-site distributions);
///   field            the member of `PoolStats`;
///   prometheus_name  after "<prefix>_" (timings in seconds, counters end in _total);
///   unit             UCUM, as OpenTelemetry writes it ("{resource}", "s");
///   report           this figure's piece of the report, `{}` for its value
///                    (empty: left out of the report);
///   help             what it counts, one sentence (Prometheus HELP, docs).
// clang-format off
#define RESPOOL_POOL_METRICS(X) \
    X(gauge, total, "resources", "{resource}", "{}", "Resources that exist, counting those being created.") \
    X(gauge, max_size, "max_size", "{resource}", " of {} exist", "Most resources the pool may hold (max_size).") \
    X(gauge, idle, "resources_idle", "{resource}", " ({} idle", "Resources ready to lend.") \
    X(gauge, in_use, "resources_in_use", "{resource}", ", {} in use", "Resources with at least one lease.") \
    X(gauge, creating, "resources_creating", "{resource}", ", {} creating)", "Creations in flight.") \
    X(gauge, leases, "leases", "{lease}", ", {} leases", "Outstanding leases (more than resources in use in shared mode).") \
    X(gauge, waiting, "waiters", "{request}", ", {} waiting", "Callers queued in acquire.") \
    X(gauge, min_idle, "min_idle", "{resource}", "", "Idle resources kept ready (min_idle).") \
    X(gauge, max_idle, "max_idle", "{resource}", "", "Most idle resources kept (max_idle, or max_size when that is 0).") \
    X(counter, acquired, "acquired_total", "{lease}", "\n  acquired {}", "Leases handed out.") \
    X(derived, acquired_direct, "acquired_direct_total", "{lease}", " ({} direct", "Leases handed out without queuing.") \
    X(counter, acquired_waited, "acquired_waited_total", "{lease}", ", {} waited)", "Leases handed out after queuing (the pool was short).") \
    X(counter, created, "created_total", "{resource}", ", created {}", "Resources created.") \
    X(counter, create_failures, "create_failures_total", "{resource}", ", create failures {}", "Creations that failed: create threw, or a new resource failed its first borrow check.") \
    X(counter, timeouts, "acquire_timeouts_total", "{request}", ", timeouts {}", "Acquires that ran out of time.") \
    X(counter, cancellations, "acquire_cancellations_total", "{request}", ", cancelled {}", "Acquires cancelled by their stop token.") \
    X(counter, rejections, "acquire_rejections_total", "{request}", ", rejected {}", "Acquires turned away because max_waiters were queued.") \
    X(counter, leaks_suspected, "leaks_suspected_total", "{lease}", ", leaks suspected {}", "Leases held past leak_threshold.") \
    X(by_reason, destroyed, "destroyed_total", "{resource}", "\n  destroyed {}", "Resources destroyed, by reason.") \
    X(counter, detached, "detached_total", "{resource}", "; detached {}", "Resources taken out of the pool by Lease::detach.") \
    X(counter, validations, "validations_total", "{validation}", "; validations {}", "Validations run on borrow.") \
    X(counter, validation_failures, "validation_failures_total", "{validation}", " ({} failed)", "Validations on borrow that failed.") \
    X(state, circuit, "circuit_state", "1", "\n  circuit {}", "1 for the creation circuit breaker's current state, 0 for the others.") \
    X(counter, circuit_opened, "circuit_opened_total", "{event}", " (opened {} times", "Times the creation circuit breaker opened.") \
    X(counter, fast_failures, "acquire_fast_failures_total", "{request}", ", {} fast failures)", "Acquires failed at once: the circuit was open, or the last creation failure was fatal.") \
    X(counter, leases_overdue, "leases_overdue_total", "{lease}", "; leases overdue {}", "Leases held past max_lease_time without a heartbeat.") \
    X(counter, keepalives, "keepalives_total", "{validation}", "; keepalives {}", "Keepalive validations of idle resources.") \
    X(counter, keepalive_failures, "keepalive_failures_total", "{validation}", " ({} failed)", "Keepalive validations that failed.") \
    X(site_timing, acquire_wait, "acquire_wait_seconds", "s", "\n  wait {}", "Time from acquire to lease.") \
    X(site_timing, hold_time, "hold_seconds", "s", "\n  hold {}", "Time leases were held.") \
    X(timing, create_time, "create_seconds", "s", "\n  create {}", "Time successful creations took.")
// clang-format on

namespace detail::metric_kind {
// Each kind of RESPOOL_POOL_METRICS, and the type of its `PoolStats` member.
struct gauge { using type = std::size_t; };
struct counter { using type = std::uint64_t; };
struct derived { using type = std::uint64_t; };
struct by_reason { using type = DestroyCounts; };
struct state { using type = CircuitState; };
struct timing { using type = Distribution; };
struct site_timing { using type = Distribution; };
} // namespace detail::metric_kind

/// A consistent picture of one pool. Its figures are the members named in
/// the `field` column of RESPOOL_POOL_METRICS above, each with its meaning
/// in the `help` column: gauges and counters are `std::size_t` and
/// `std::uint64_t` (e.g. `idle`, `acquired`), `destroyed` a `DestroyCounts`,
/// `circuit` a `CircuitState`, durations (`acquire_wait`, `hold_time`,
/// `create_time`) `Distribution`s.
struct PoolStats {
    std::string name;

#define RESPOOL_POOL_STATS_MEMBER(kind, field, ...) detail::metric_kind::kind::type field{};
    RESPOOL_POOL_METRICS(RESPOOL_POOL_STATS_MEMBER)
#undef RESPOOL_POOL_STATS_MEMBER

    std::vector<SiteStats> sites;          ///< busiest first
    std::vector<ResourceStats> resources;  ///< every live resource
    std::string last_create_error;         ///< empty if creation never failed
    bool closed = false;
};

/// The kinds of figure in RESPOOL_POOL_METRICS.
enum class MetricKind { gauge, counter, derived, by_reason, state, timing, site_timing };

/// One row of RESPOOL_POOL_METRICS, for code that renders every figure
/// (exporters, reports): see the list for what each column holds.
struct MetricInfo {
    MetricKind kind;
    std::string_view field;            ///< the `PoolStats` member, e.g. "acquired"
    std::string_view prometheus_name;  ///< e.g. "acquired_total", after "<prefix>_"
    std::string_view unit;             ///< UCUM, e.g. "{lease}" or "s"
    std::string_view report;           ///< its piece of `to_string(PoolStats)`
    std::string_view help;             ///< one sentence
    /// Counters only grow (counter, derived, by_reason); the rest go up and down.
    constexpr bool monotonic() const noexcept
    {
        return kind == MetricKind::counter || kind == MetricKind::derived || kind == MetricKind::by_reason;
    }
};

/// Every row of RESPOOL_POOL_METRICS, in its order.
inline constexpr MetricInfo pool_metrics[] = {
#define RESPOOL_POOL_METRICS_ROW(kind, field, prometheus_name, unit, report, help) \
    MetricInfo{MetricKind::kind, #field, prometheus_name, unit, report, help},
    RESPOOL_POOL_METRICS(RESPOOL_POOL_METRICS_ROW)
#undef RESPOOL_POOL_METRICS_ROW
};

/// Calls `f(const MetricInfo&, const T& value)` for every figure of `stats`
/// in the list's order; `T` is `std::size_t`, `std::uint64_t`,
/// `DestroyCounts`, `CircuitState` or `Distribution` (see `MetricKind`).
/// Given a non-const `PoolStats`, `value` is a reference to the member.
template <class Stats, class F>
    requires std::is_same_v<std::remove_const_t<Stats>, PoolStats>
void for_each_metric(Stats& stats, F&& f)
{
    std::size_t i = 0;
#define RESPOOL_POOL_METRICS_VISIT(kind, field, ...) f(pool_metrics[i++], stats.field);
    RESPOOL_POOL_METRICS(RESPOOL_POOL_METRICS_VISIT)
#undef RESPOOL_POOL_METRICS_VISIT
}

/// A multi-line human-readable report of `stats`.
RESPOOL_API std::string to_string(const PoolStats& stats);

} // namespace respool
