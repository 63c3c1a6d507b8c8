// PoolOptions validation: every rule names its field, and runs before the
// pool starts any thread.
#include <respool/error.hpp>
#include <respool/options.hpp>

#include <fmt/format.h>

namespace respool::detail {

namespace {
[[noreturn]] void reject(const char* field, const std::string& rule)
{
    throw InvalidOptions(fmt::format("respool: invalid PoolOptions.{}: {}", field, rule), field);
}

// About 100 years: longer durations overflow deadline arithmetic in
// nanoseconds and are surely a mistake (use 0 where 0 means "off").
constexpr std::chrono::hours longest{24 * 365 * 100};

template <class D>
void check_range(const char* field, D value, bool zero_allowed)
{
    if (value.count() < 0) reject(field, fmt::format("{} must not be negative", value.count()));
    if (!zero_allowed && value.count() == 0) reject(field, "must be greater than zero");
    if (value > longest) reject(field, "is longer than 100 years (overflows deadline arithmetic)");
}
} // namespace

void validate_options(const PoolOptions& o)
{
    if (o.name.empty()) reject("name", "must not be empty");
    if (o.max_size == 0) reject("max_size", "must be at least 1");
    if (o.max_size > max_pool_size)
        reject("max_size", fmt::format("{} exceeds the limit of {} resources per pool", o.max_size, max_pool_size));
    if (o.min_idle > o.max_size)
        reject("min_idle", fmt::format("{} exceeds max_size ({})", o.min_idle, o.max_size));
    if (o.max_idle != 0 && o.max_idle > o.max_size)
        reject("max_idle", fmt::format("{} exceeds max_size ({})", o.max_idle, o.max_size));
    if (o.max_idle != 0 && o.max_idle < o.min_idle)
        reject("max_idle", fmt::format("{} is below min_idle ({})", o.max_idle, o.min_idle));
    check_range("acquire_timeout", o.acquire_timeout, false);
    check_range("fairness_window", o.fairness_window, true);
    if (o.max_concurrent_creates == 0) reject("max_concurrent_creates", "must be at least 1");
    check_range("create_timeout", o.create_timeout, false);
    check_range("create_backoff_initial", o.create_backoff_initial, false);
    check_range("create_backoff_max", o.create_backoff_max, false);
    if (o.create_backoff_max < o.create_backoff_initial)
        reject("create_backoff_max", fmt::format("{} ms is shorter than create_backoff_initial ({} ms)",
                                                 o.create_backoff_max.count(), o.create_backoff_initial.count()));
    check_range("circuit_open_time", o.circuit_open_time, o.circuit_breaker_threshold == 0);
    check_range("circuit_failure_window", o.circuit_failure_window, true);
    if (!(o.max_creates_per_second >= 0.0 && o.max_creates_per_second < 1e9))
        reject("max_creates_per_second", fmt::format("{} must be a finite number >= 0", o.max_creates_per_second));
    check_range("keepalive_interval", o.keepalive_interval, true);
    check_range("max_lease_time", o.max_lease_time, true);
    check_range("validate_after_idle", o.validate_after_idle, true);
    check_range("validation_timeout", o.validation_timeout, false);
    check_range("idle_timeout", o.idle_timeout, true);
    check_range("max_lifetime", o.max_lifetime, true);
    if (!(o.lifetime_jitter >= 0.0 && o.lifetime_jitter <= 0.5))
        reject("lifetime_jitter", fmt::format("{} is outside [0, 0.5]", o.lifetime_jitter));
    if (o.max_lifetime.count() > 0 && o.idle_timeout.count() > 0 && o.idle_timeout > o.max_lifetime)
        reject("idle_timeout", fmt::format("{} ms is longer than max_lifetime ({} ms): resources would retire "
                                           "before they could ever time out idle; lower it or set it to 0",
                                           o.idle_timeout.count(), o.max_lifetime.count()));
    check_range("leak_threshold", o.leak_threshold, true);
    if (o.leak_threshold.count() > 0 && o.max_lifetime.count() > 0 && o.leak_threshold >= o.max_lifetime)
        reject("leak_threshold", fmt::format("{} ms is not shorter than max_lifetime ({} ms)",
                                             o.leak_threshold.count(), o.max_lifetime.count()));
    check_range("drain_timeout", o.drain_timeout, true);
    check_range("housekeeping_interval", o.housekeeping_interval, false);
    if (o.max_tracked_sites == 0) reject("max_tracked_sites", "must be at least 1");
    if (o.max_tracked_sites > 10'000) reject("max_tracked_sites", "must be at most 10000");
}

} // namespace respool::detail
