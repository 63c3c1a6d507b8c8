// respool/options.hpp — every setting of a pool, with production defaults.
//
// `PoolOptions` is a plain struct: set what you need, leave the rest.
// The pool's constructor validates it and throws `respool::InvalidOptions`
// naming the field and the rule broken, before any thread starts.
//
//   respool::PoolOptions o;
//   o.name = "orders-db";
//   o.max_size = 16;
//   o.min_idle = 2;
//   o.leak_threshold = std::chrono::seconds(10);
//   respool::Pool pool{MyAdapter{}, o};
//
// Defaults follow HikariCP's production choices where they apply (30 s
// acquire timeout, 10 min idle timeout, 30 min lifetime, 5 s validation);
// docs/concepts.md gives the reason for each.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include <respool/deadline.hpp>

namespace respool {

class EventListener;

/// Which idle resource a borrow takes.
enum class IdleOrder {
    lifo,  ///< the most recently returned: warm caches, and the rest age out
    fifo,  ///< the least recently returned: spreads use over every resource
};

/// How hard the pool looks for leases that are never given back.
enum class LeakMode {
    off,     ///< no leak reports (leases are still listed by `leases()`)
    report,  ///< report leases held past `leak_threshold` (event + log line)
    strict,  ///< also report every lease still out at `close()`; for tests
};

/// Severity of a log line the pool writes.
enum class LogLevel { debug, info, warning, error };

/// Receives the pool's log lines; called outside the pool's lock, from any thread.
using Logger = std::function<void(LogLevel, std::string_view message)>;

/// The largest `max_size` a pool accepts. Nothing is allocated up front for
/// it: the pool's lists grow with the resources that really exist.
inline constexpr std::size_t max_pool_size = 1'000'000;

/// Settings of a pool. All durations must be non-negative; zero means "off"
/// where a field says so.
struct PoolOptions {
    /// Names the pool in messages, events and metrics.
    std::string name = "pool";

    // --- sizing ---
    /// Most resources that exist at once, counting those being created and
    /// those being destroyed. At most `max_pool_size`.
    std::size_t max_size = 10;
    /// Idle resources kept ready, refilled in the background.
    std::size_t min_idle = 0;
    /// Most idle resources kept; returns beyond it are destroyed. 0 means `max_size`.
    std::size_t max_idle = 0;

    // --- acquiring ---
    /// Timeout of `acquire()` without options.
    std::chrono::milliseconds acquire_timeout{30'000};
    /// Most callers waiting at once; one more fails at once with `QueueFull`.
    std::size_t max_waiters = 100'000;
    /// How long the oldest waiter may be overtaken by running threads before
    /// every returned resource goes to it directly. 0 = strict FIFO hand-off.
    std::chrono::microseconds fairness_window{1'000};
    /// Which idle resource a borrow takes.
    IdleOrder idle_order = IdleOrder::lifo;

    // --- creating ---
    /// Most creations in flight at once (no connect storm).
    std::size_t max_concurrent_creates = 2;
    /// Deadline of each `create` call, counted from its start.
    std::chrono::milliseconds create_timeout{10'000};

    // --- creation governor (resilience) ---
    /// First pause after a failed creation; doubles per consecutive failure,
    /// with jitter (each pause is between half and all of its nominal length).
    std::chrono::milliseconds create_backoff_initial{50};
    /// Longest pause between failed creations.
    std::chrono::milliseconds create_backoff_max{1'000};
    /// Consecutive creation failures that open the circuit breaker; 0 = no breaker.
    std::size_t circuit_breaker_threshold = 5;
    /// How long the breaker stays open before one probe creation is tried.
    std::chrono::milliseconds circuit_open_time{1'000};
    /// The breaker opens only on sustained failure: the run of consecutive
    /// failures must also span this long (from its first failure to the
    /// latest). A shorter blip - a restart, connections broken on arrival -
    /// costs callers a wait within their deadlines, not an error; 0 = count only.
    std::chrono::milliseconds circuit_failure_window{2'000};
    /// Most creations started per second (token bucket, burst of one second's
    /// worth); 0 = unlimited.
    double max_creates_per_second = 0;

    // --- health ---
    /// Validate on borrow when the resource has been idle longer than this;
    /// 0 = validate on every borrow. Needs the adapter's `validate`.
    std::chrono::milliseconds validate_after_idle{500};
    /// Upper bound of one validation (the caller's deadline may be shorter).
    /// Short, so a borrower that meets a dead connection pays at most this
    /// before the pool moves on to another resource.
    std::chrono::milliseconds validation_timeout{2'000};

    /// Validate idle resources this often (each with up to 10 % jitter),
    /// never while callers wait; 0 = off. Needs the adapter's `validate`.
    /// On by default so dead idle connections are found in the background,
    /// not by a borrower: two round trips a minute per idle resource.
    std::chrono::milliseconds keepalive_interval{30'000};

    // --- lifetime ---
    /// Idle resources beyond `min_idle` are destroyed after this long unused. 0 = never.
    std::chrono::milliseconds idle_timeout{600'000};
    /// Every resource is retired after this long (minus jitter). 0 = never.
    std::chrono::milliseconds max_lifetime{1'800'000};
    /// Fraction of `max_lifetime` subtracted at random per resource, so that
    /// resources made together do not expire together. In [0, 0.5].
    double lifetime_jitter = 0.025;

    // --- leases ---
    /// A lease held longer is reported once as a suspected leak. 0 = off.
    std::chrono::milliseconds leak_threshold{0};
    /// What leak tracking does; see `LeakMode`.
    LeakMode leak_mode = LeakMode::report;
    /// A lease held longer without `Lease::heartbeat()` is flagged overdue
    /// (event, counter, `leases()`), and its stop token is requested. 0 = off.
    std::chrono::milliseconds max_lease_time{0};
    /// Also interrupt an overdue lease's resource (adapters with an
    /// `interrupt(Resource&) noexcept` hook), so its holder's I/O fails and
    /// the resource is destroyed when given back.
    bool reclaim_overdue_leases = false;
    /// How long `close()` waits for outstanding leases by default.
    std::chrono::milliseconds drain_timeout{5'000};

    // --- background work ---
    /// Period of housekeeping: eviction, lifetime, refill, leak scan.
    std::chrono::milliseconds housekeeping_interval{1'000};
    /// Run housekeeping on a background thread. Turn off to drive it by hand
    /// with `Pool::run_maintenance()` (tests with a manual clock).
    bool background_housekeeping = true;
    /// Most acquire sites tracked separately in the stats; the rest are pooled
    /// under "other".
    std::size_t max_tracked_sites = 32;

    // --- seams ---
    /// Receives structured events; may be null.
    std::shared_ptr<EventListener> listener;
    /// Receives log lines; null writes warnings and errors to stderr.
    Logger logger;
    /// Source of "now" for bookkeeping; null reads the hardware clock.
    std::shared_ptr<const Clock> clock;
};

/// Settings of one acquire.
struct AcquireOptions {
    /// How long the whole acquire may take: queueing, creating, validating.
    /// Negative (the default) means the pool's `acquire_timeout`;
    /// `milliseconds::max()` means no deadline (wait until served, cancelled
    /// or closed).
    std::chrono::milliseconds timeout{-1};
    /// Cancels the wait when stop is requested; the acquire throws `Cancelled`.
    std::stop_token stop{};
};

namespace detail {
/// Throws `InvalidOptions` naming the first field that breaks a rule.
void validate_options(const PoolOptions& options);
} // namespace detail

} // namespace respool
