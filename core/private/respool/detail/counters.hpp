// Internal: the pool's counters, in one struct, guarded by the pool's lock.
// `PoolStats` copies them; nothing else reads them.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

#include <respool/detail/histogram.hpp>
#include <respool/stats.hpp>

namespace respool::detail {

struct Counters {
    std::uint64_t acquired = 0;
    std::uint64_t acquired_waited = 0;   // of `acquired`: the call queued first
    std::uint64_t detached = 0;
    std::uint64_t created = 0;
    std::uint64_t create_failures = 0;   // create threw, or a new resource failed before proving itself
    std::uint64_t timeouts = 0;
    std::uint64_t cancellations = 0;
    std::uint64_t rejections = 0;
    std::uint64_t validations = 0;
    std::uint64_t validation_failures = 0;
    std::uint64_t leaks_suspected = 0;
    std::uint64_t leases_overdue = 0;
    std::uint64_t keepalives = 0;
    std::uint64_t keepalive_failures = 0;
    std::uint64_t circuit_opened = 0;
    std::uint64_t fast_failures = 0;
    DestroyCounts destroyed;
    Histogram create_time;
    std::string last_create_error;
    std::exception_ptr last_create_exception;

    /// Copies every counter into `s`.
    void fill(PoolStats& s) const
    {
        s.acquired = acquired;
        s.acquired_direct = acquired - acquired_waited;
        s.acquired_waited = acquired_waited;
        s.detached = detached;
        s.created = created;
        s.destroyed = destroyed;
        s.create_failures = create_failures;
        s.timeouts = timeouts;
        s.cancellations = cancellations;
        s.rejections = rejections;
        s.validations = validations;
        s.validation_failures = validation_failures;
        s.leaks_suspected = leaks_suspected;
        s.leases_overdue = leases_overdue;
        s.keepalives = keepalives;
        s.keepalive_failures = keepalive_failures;
        s.circuit_opened = circuit_opened;
        s.fast_failures = fast_failures;
        s.create_time = create_time.summary();
        s.last_create_error = last_create_error;
    }
};

} // namespace respool::detail
