#include <respool/lease_info.hpp>

#include <sstream>

#include <fmt/format.h>

#include "pool_core_internal.hpp"

namespace respool {

std::string format_site(const std::source_location& site)
{
    return fmt::format("{}:{}", site.file_name(), site.line());
}

std::string describe(const LeaseInfo& lease)
{
    std::ostringstream thread;
    thread << lease.thread;
    std::string s = fmt::format("{} held {} by thread {} (resource #{})", format_site(lease.site),
                                detail::format_duration(lease.age), thread.str(), lease.resource_id);
    if (lease.site.function_name() && *lease.site.function_name())
        s += fmt::format(" in {}", lease.site.function_name());
    return s;
}

namespace detail {
std::string format_duration(std::chrono::nanoseconds d)
{
    const double ns = static_cast<double>(d.count());
    if (ns < 1e3) return fmt::format("{} ns", d.count());
    if (ns < 1e6) return fmt::format("{:.1f} µs", ns / 1e3);
    if (ns < 1e9) return fmt::format("{:.1f} ms", ns / 1e6);
    return fmt::format("{:.2f} s", ns / 1e9);
}
} // namespace detail

} // namespace respool

#include <stdexcept>

namespace respool::detail {
void throw_empty_lease()
{
    throw std::logic_error("respool: use of an empty lease (released, moved-from or default-constructed)");
}
} // namespace respool::detail
