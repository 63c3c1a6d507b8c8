// respool/format.hpp — printing the pool's types with fmt.
//
// `fmt::formatter` specialisations, so stats, leases and events print with
// `{}` like any other value. A `PoolStats` prints exactly as
// `respool::to_string(stats)` (a multi-line report); the others print on one
// line. Width, fill and alignment specs apply to the whole text.
//
//   fmt::print("{}", pool.stats());              // the multi-line report
//   fmt::print("wait: {}\n", pool.stats().acquire_wait);  // "p50 1.2 ms p99 8.0 ms max 9.1 ms (n=40)"
//   for (const auto& l : pool.leases()) fmt::print("  {}\n", l);
//   fmt::print("{:>10}", respool::DestroyReason::broken);
//
// Thread-safety: the functions here only read their arguments.
// Secrets: nothing here prints a connection target; adapters keep secrets out
// of the error messages that events carry.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

#include <respool/error.hpp>
#include <respool/event.hpp>
#include <respool/lease_info.hpp>
#include <respool/stats.hpp>

namespace respool {

/// "p50 1.2 ms p99 8.0 ms max 9.1 ms (n=40)", or "-" when nothing was recorded.
RESPOOL_API std::string to_string(const Distribution& distribution);

/// `describe(lease)`: "file.cpp:42 held 1.2 s by thread … (resource #3)".
RESPOOL_API std::string to_string(const LeaseInfo& lease);

/// One human-readable line, e.g. "[orders] resource #3 destroyed (broken)".
RESPOOL_API std::string to_string(const Event& event);

/// "queued", "creating" or "validating".
RESPOOL_API std::string_view to_string(AcquirePhase phase) noexcept;

namespace detail {
/// Formats a value through its `respool::to_string`, honouring width and fill.
template <class T>
struct ToStringFormatter : fmt::formatter<std::string_view> {
    template <class FormatContext>
    auto format(const T& value, FormatContext& ctx) const -> decltype(ctx.out())
    {
        const auto text = respool::to_string(value);
        return fmt::formatter<std::string_view>::format(std::string_view(text), ctx);
    }
};
} // namespace detail

} // namespace respool

template <>
struct fmt::formatter<respool::PoolStats> : respool::detail::ToStringFormatter<respool::PoolStats> {};
template <>
struct fmt::formatter<respool::Distribution> : respool::detail::ToStringFormatter<respool::Distribution> {};
template <>
struct fmt::formatter<respool::LeaseInfo> : respool::detail::ToStringFormatter<respool::LeaseInfo> {};
template <>
struct fmt::formatter<respool::Event> : respool::detail::ToStringFormatter<respool::Event> {};
template <>
struct fmt::formatter<respool::DestroyReason> : respool::detail::ToStringFormatter<respool::DestroyReason> {};
template <>
struct fmt::formatter<respool::CircuitState> : respool::detail::ToStringFormatter<respool::CircuitState> {};
template <>
struct fmt::formatter<respool::EventKind> : respool::detail::ToStringFormatter<respool::EventKind> {};
template <>
struct fmt::formatter<respool::AcquirePhase> : respool::detail::ToStringFormatter<respool::AcquirePhase> {};
