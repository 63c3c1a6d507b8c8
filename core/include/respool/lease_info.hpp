// respool/lease_info.hpp — who holds what: one outstanding lease, described.
//
// `Pool::leases()` returns these, exhaustion errors carry them, and leak
// reports print them, so "the pool is exhausted" always comes with "and here
// is the code holding it".
#pragma once

#include <chrono>
#include <cstdint>
#include <source_location>
#include <string>
#include <thread>

namespace respool {

/// A snapshot of one outstanding lease.
struct LeaseInfo {
    std::source_location site;          ///< where `acquire` was called
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

/// "file.cpp:42" for a lease's acquire site.
std::string format_site(const std::source_location& site);

/// One line describing a lease: "file.cpp:42 (function) held 1.2 s by thread 0x…".
std::string describe(const LeaseInfo& lease);

} // namespace respool
