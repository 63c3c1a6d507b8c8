// Internal: decides when the pool may start a creation, so that a dead or
// recovering server meets neither a retry loop nor a connect storm:
//   - exponential back-off with jitter between failed creations;
//   - a circuit breaker that opens on *sustained* failure: at least
//     `threshold` consecutive failures spanning at least `failure_window`
//     from the first of them (a blip - a restart, a few connections broken
//     on arrival - is retried with back-off within the callers' deadlines
//     instead of failing them); once open, acquires that need a creation fail
//     fast, after `open_time` it lets one probe through (half-open), and a
//     probe's success closes it;
//   - slow start after recovery: concurrency 1, doubling per success up to
//     max_concurrent_creates;
//   - an optional token bucket on creations per second.
// Pure logic on nanoseconds passed in (so tests drive it with any numbers);
// the pool passes real steady-clock time, even with a manual clock, because
// it paces real threads against real servers. Called under the pool's lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>

#include <respool/stats.hpp>

namespace respool::detail {

class CreationGovernor {
public:
    struct Config {
        std::int64_t backoff_initial = 0;  // ticks
        std::int64_t backoff_max = 0;      // ticks
        std::size_t threshold = 0;         // 0 = no breaker
        std::int64_t open_time = 0;        // ticks
        std::int64_t failure_window = 0;   // ticks the run of failures must span; 0 = count only
        double tokens_per_tick = 0;        // 0 = no rate limit
        double burst = 1;
        std::size_t max_concurrent = 1;
    };
    enum class Transition { none, opened, reopened, closed };
    static constexpr std::int64_t never = INT64_MAX;

    CreationGovernor(const Config& config, std::uint64_t seed);

    /// May a creation start now, with `creating` already in flight? If not,
    /// `retry_at` is when to ask again, or `never` if only another
    /// creation's result can change the answer.
    bool try_start(std::int64_t now, std::size_t creating, std::int64_t& retry_at);
    /// A creation returned a resource: ends a probe (closing the breaker)
    /// and ramps up; the count of consecutive failures stays until `on_proven`.
    Transition on_success(std::int64_t now);
    /// A new resource served a lease healthy or passed a validation: the run
    /// of consecutive failures is over.
    void on_proven() noexcept;
    /// A creation failed, or a new resource failed before it proved itself.
    Transition on_failure(std::int64_t now);

    CircuitState state(std::int64_t now) const noexcept;
    /// True while acquires that need a new resource should fail at once.
    bool fails_fast(std::int64_t now) const noexcept { return state(now) == CircuitState::open; }
    /// Creations allowed in flight now (slow start, one probe when half-open).
    std::size_t concurrency(std::int64_t now) const noexcept;
    std::size_t consecutive_failures() const noexcept { return failures_; }
    /// The pause chosen after the latest failure (ticks), for tests.
    std::int64_t last_backoff() const noexcept { return last_backoff_; }
    /// No creation starts before this (back-off after a failure); 0 when none.
    std::int64_t next_allowed() const noexcept { return next_allowed_; }
    /// When the breaker opened most recently.
    std::int64_t opened_at() const noexcept { return opened_at_; }
    /// When the current run of consecutive failures began (meaningful while
    /// `consecutive_failures() > 0`).
    std::int64_t run_started_at() const noexcept { return run_started_; }

private:
    Config cfg_;
    std::mt19937_64 rng_;
    std::size_t failures_ = 0;
    std::int64_t run_started_ = 0;
    std::int64_t next_allowed_ = 0;
    std::int64_t last_backoff_ = 0;
    bool open_ = false;
    std::int64_t opened_at_ = 0;
    bool probing_ = false;
    std::size_t ramp_;
    double tokens_;
    std::int64_t tokens_at_ = 0;
};

} // namespace respool::detail
