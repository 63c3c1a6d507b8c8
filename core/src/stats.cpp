#include <respool/stats.hpp>

#include <fmt/format.h>

#include "pool_core_internal.hpp"
#include "printable.hpp"

namespace respool {

std::string_view to_string(DestroyReason reason) noexcept
{
    switch (reason) {
    case DestroyReason::idle: return "idle";
    case DestroyReason::lifetime: return "lifetime";
    case DestroyReason::broken: return "broken";
    case DestroyReason::validation: return "validation";
    case DestroyReason::closed: return "closed";
    case DestroyReason::retired: return "retired";
    }
    return "unknown";
}

std::string_view to_string(CircuitState state) noexcept
{
    switch (state) {
    case CircuitState::closed: return "closed";
    case CircuitState::open: return "open";
    case CircuitState::half_open: return "half_open";
    }
    return "unknown";
}

std::uint64_t DestroyCounts::total() const noexcept
{
    std::uint64_t n = 0;
    for (auto c : by_reason) n += c;
    return n;
}

namespace {
std::string dist(const Distribution& d)
{
    using detail::format_duration;
    if (d.count == 0) return "-";
    return fmt::format("p50 {} p99 {} max {} (n={})", format_duration(d.p50), format_duration(d.p99),
                       format_duration(d.max), d.count);
}
} // namespace

std::string to_string(const PoolStats& s)
{
    std::string out = fmt::format(
        "pool {}{}: {} of {} exist ({} idle, {} in use, {} creating), {} leases, {} waiting\n"
        "  acquired {} ({} direct, {} waited), created {}, create failures {}, timeouts {}, cancelled {}, rejected {}, leaks suspected {}\n"
        "  destroyed {} (idle {}, lifetime {}, broken {}, validation {}, closed {}, retired {}); detached {}; validations {} ({} failed)\n"
        "  circuit {} (opened {} times, {} fast failures); leases overdue {}; keepalives {} ({} failed)\n"
        "  wait {}\n  hold {}\n  create {}\n",
        detail::printable(s.name), s.closed ? " (closed)" : "", s.total, s.max_size, s.idle, s.in_use, s.creating, s.leases, s.waiting,
        s.acquired, s.acquired_direct, s.acquired_waited, s.created, s.create_failures, s.timeouts, s.cancellations, s.rejections, s.leaks_suspected,
        s.destroyed.total(), s.destroyed[DestroyReason::idle], s.destroyed[DestroyReason::lifetime],
        s.destroyed[DestroyReason::broken], s.destroyed[DestroyReason::validation],
        s.destroyed[DestroyReason::closed], s.destroyed[DestroyReason::retired], s.detached, s.validations, s.validation_failures, to_string(s.circuit),
        s.circuit_opened, s.fast_failures, s.leases_overdue, s.keepalives, s.keepalive_failures, dist(s.acquire_wait),
        dist(s.hold_time), dist(s.create_time));
    if (!s.last_create_error.empty()) out += fmt::format("  last create error: {}\n", detail::printable(s.last_create_error));
    for (const SiteStats& site : s.sites)
        out += fmt::format("  site {}: acquired {}, holding {}, wait {}, hold {}\n", detail::printable(site.site), site.acquired,
                           site.holding, dist(site.wait), dist(site.hold));
    return out;
}

} // namespace respool
