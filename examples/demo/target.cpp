#include "target.hpp"

#include <numeric>

namespace demo {

std::string_view to_string(Outcome outcome) noexcept
{
    switch (outcome) {
    case Outcome::ok: return "ok";
    case Outcome::timeout: return "timeout";
    case Outcome::circuit_open: return "circuit_open";
    case Outcome::create_failed: return "create_failed";
    case Outcome::request_failed: return "request_failed";
    case Outcome::other: return "other";
    }
    return "?";
}

std::uint64_t Counts::errors() const noexcept
{
    return std::accumulate(outcomes.begin(), outcomes.end(), std::uint64_t{0}) - ok();
}

Counts Counts::operator-(const Counts& earlier) const noexcept
{
    Counts d;
    d.attempts = attempts - earlier.attempts;
    d.leased = leased - earlier.leased;
    for (std::size_t i = 0; i < outcome_count; ++i) d.outcomes[i] = outcomes[i] - earlier.outcomes[i];
    return d;
}

respool::PoolOptions demo_pool_options(std::string_view name, std::size_t pool_size,
                                       std::shared_ptr<respool::EventListener> listener)
{
    using namespace std::chrono_literals;
    respool::PoolOptions o;
    o.name = std::string(name);
    o.max_size = pool_size;
    o.acquire_timeout = acquire_timeout;
    // Servers on loopback connect in milliseconds or not at all; a short
    // create deadline and breaker pause make the outage and the recovery
    // visible within seconds (production defaults: 10 s and 1 s).
    o.create_timeout = 1s;
    o.create_backoff_max = 500ms;
    o.circuit_open_time = 500ms;
    o.leak_threshold = leak_threshold;
    o.leak_mode = respool::LeakMode::report;
    // Housekeeping (leak scan) four times a second, so the leak report comes
    // soon after the threshold.
    o.housekeeping_interval = 250ms;
    o.drain_timeout = 2s;
    o.listener = std::move(listener);
    // The listener shows what matters; log lines on stderr would tear the live view.
    o.logger = [](respool::LogLevel, std::string_view) {};
    return o;
}

} // namespace demo
