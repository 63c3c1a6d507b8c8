#include <respool/stats.hpp>

#include <type_traits>

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

// The report is the pieces of RESPOOL_POOL_METRICS (stats.hpp) in its order,
// each with its figure in place of `{}`.
std::string to_string(const PoolStats& s)
{
    std::string out = fmt::format("pool {}{}: ", detail::printable(s.name), s.closed ? " (closed)" : "");
    for_each_metric(s, [&](const MetricInfo& m, const auto& value) {
        using T = std::decay_t<decltype(value)>;
        std::string text;
        if constexpr (std::is_same_v<T, Distribution>) {
            text = dist(value);
        } else if constexpr (std::is_same_v<T, DestroyCounts>) {
            text = fmt::format("{} (", value.total());
            for (std::size_t r = 0; r < destroy_reason_count; ++r)
                text += fmt::format("{}{} {}", r ? ", " : "", to_string(static_cast<DestroyReason>(r)), value.by_reason[r]);
            text += ')';
        } else if constexpr (std::is_same_v<T, CircuitState>) {
            text = to_string(value);
        } else {
            text = fmt::format("{}", value);
        }
        out += fmt::format(fmt::runtime(m.report), text);
    });
    out += '\n';
    if (!s.last_create_error.empty()) out += fmt::format("  last create error: {}\n", detail::printable(s.last_create_error));
    for (const SiteStats& site : s.sites)
        out += fmt::format("  site {}: acquired {}, holding {}, wait {}, hold {}\n", detail::printable(site.site), site.acquired,
                           site.holding, dist(site.wait), dist(site.hold));
    return out;
}

} // namespace respool
