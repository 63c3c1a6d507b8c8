// respool/lease_info.hpp — who holds what: one outstanding lease, described.
//
// `Pool::leases()` returns these, exhaustion errors carry them, and leak
// reports print them, so "the pool is exhausted" always comes with "and here
// is the code holding it".
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

#include <respool/detail/export.hpp>
#include <respool/detail/source_location.hpp>

namespace respool {

/// A snapshot of one outstanding lease.
struct LeaseInfo {
    SourceLocation site;                ///< where `acquire` was called
    std::thread::id thread;             ///< the thread that acquired it
    std::chrono::nanoseconds age{};     ///< how long it has been held
    std::uint64_t resource_id = 0;      ///< the pool's id of the leased resource
    bool leak_reported = false;         ///< held past `leak_threshold` and reported
    bool overdue = false;               ///< held past `max_lease_time` without a heartbeat
    bool reclaimed = false;             ///< its resource was interrupted by the pool (overdue)
};

/// The pool's gauges at one moment, as carried by errors.
struct PoolSnapshot {
    std::size_t max_size = 0;
    std::size_t total = 0;     ///< live resources, including those being created
    std::size_t idle = 0;
    std::size_t in_use = 0;    ///< resources with at least one lease
    std::size_t leases = 0;    ///< outstanding leases (== in_use in exclusive mode)
    std::size_t waiting = 0;
    std::size_t creating = 0;
};

/// "src/file.cpp:42" for an acquire site: the file as `site_path` shows it, and the line.
/// Per-site stats, Prometheus `site` labels, events and leak reports all use it.
RESPOOL_API std::string format_site(const SourceLocation& site);

/// A source file's name as sites show it: not the compiler's path, which
/// holds the build machine's directories ("/home/ci/build/../src/x.cpp"),
/// but the path relative to the source root ("src/x.cpp"). The path is
/// normalised ("a/../" removed); an absolute one loses the source root
/// prefix if it has it; a relative one (meson passes "../src/x.cpp") loses
/// its leading "../" and "./" parts. Other paths are shown whole.
RESPOOL_API std::string site_path(std::string_view file);

/// Sets the source root that `site_path` strips, for the whole process (call
/// it at start-up; thread-safe). Default: the RESPOOL_SOURCE_ROOT environment
/// variable if set, else the source root of the meson build that compiled
/// respool — the parent project's when respool is a subproject. An empty
/// root strips nothing from absolute paths. The compiler can do the same
/// at build time: -fmacro-prefix-map=/abs/src/=  (see docs/observability.md).
RESPOOL_API void set_source_root(std::string root);
/// The root `site_path` strips now.
RESPOOL_API std::string source_root();

/// One line describing a lease:
/// "file.cpp:42 held 1.20 s by thread 140… (resource #7) in void f()" (the
/// function only when the compiler names it; unprintable bytes escaped).
RESPOOL_API std::string describe(const LeaseInfo& lease);

namespace detail {
/// Throws std::logic_error for a use of an empty lease (declared in lease.hpp;
/// declared first here so the declaration that exports it precedes that one).
[[noreturn]] RESPOOL_API void throw_empty_lease();
} // namespace detail

} // namespace respool
