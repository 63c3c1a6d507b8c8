#include <respool/lease_info.hpp>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "pool_core_internal.hpp"
#include "printable.hpp"

namespace respool {

namespace {

#ifndef RESPOOL_DEFAULT_SOURCE_ROOT
#define RESPOOL_DEFAULT_SOURCE_ROOT ""
#endif

// "a/./b/../c" -> "a/c"; leading ".." of a relative path are kept (the
// caller drops them), "/.." at the root stays at the root.
std::string normalise(std::string_view path)
{
    const bool absolute = !path.empty() && path.front() == '/';
    std::vector<std::string_view> parts;
    std::size_t i = 0;
    while (i <= path.size()) {
        const std::size_t j = std::min(path.find('/', i), path.size());
        const std::string_view part = path.substr(i, j - i);
        if (part == "..") {
            if (!parts.empty() && parts.back() != "..") parts.pop_back();
            else if (!absolute) parts.push_back(part);
        } else if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        i = j + 1;
    }
    std::string out = absolute ? "/" : "";
    for (std::size_t k = 0; k < parts.size(); ++k) {
        if (k) out += '/';
        out += parts[k];
    }
    return out;
}

struct SourceRoot {
    std::mutex mu;
    std::string root;  // normalised, no trailing '/'; empty: strip nothing
    SourceRoot()
    {
        const char* env = std::getenv("RESPOOL_SOURCE_ROOT");
        root = normalise(env ? env : RESPOOL_DEFAULT_SOURCE_ROOT);
    }
};

SourceRoot& source_root_state()
{
    static SourceRoot state;
    return state;
}

} // namespace

void set_source_root(std::string root)
{
    SourceRoot& s = source_root_state();
    std::string normalised = normalise(root);
    std::lock_guard lk(s.mu);
    s.root = std::move(normalised);
}

std::string source_root()
{
    SourceRoot& s = source_root_state();
    std::lock_guard lk(s.mu);
    return s.root;
}

std::string site_path(std::string_view file)
{
    std::string path = normalise(file);
    if (path.empty()) return std::string(file);
    if (path.front() != '/') {
        std::size_t skip = 0;
        while (path.compare(skip, 3, "../") == 0) skip += 3;
        return path.substr(skip);
    }
    const std::string root = source_root();
    if (!root.empty() && root != "/" && path.size() > root.size() + 1 && path.compare(0, root.size(), root) == 0 &&
        path[root.size()] == '/')
        return path.substr(root.size() + 1);
    return path;
}

std::string format_site(const SourceLocation& site)
{
    return fmt::format("{}:{}", site_path(site.file_name() ? site.file_name() : ""), site.line());
}

std::string describe(const LeaseInfo& lease)
{
    std::ostringstream thread;
    thread << lease.thread;
    std::string s = fmt::format("{} held {} by thread {} (resource #{})", format_site(lease.site),
                                detail::format_duration(lease.age), thread.str(), lease.resource_id);
    if (lease.site.function_name() && *lease.site.function_name())
        s += fmt::format(" in {}", lease.site.function_name());
    return detail::printable(s);
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
