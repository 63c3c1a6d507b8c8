// Internal: the pool's counters, in one struct, guarded by the pool's lock.
//
// The members are made from RESPOOL_POOL_METRICS (stats.hpp), the one list of
// the pool's figures: a `counter` there is a plain `std::uint64_t` here, a
// `by_reason` one a `DestroyCounts`, a `timing` one a `Histogram` — so the
// core counts with `++counters_.created` or `counters_.create_time.record(t)`,
// at the cost of an increment. Gauges, the circuit state and the per-site
// timings live elsewhere in the pool; `PoolCore::stats()` sets them and
// `fill` copies the rest.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

#include <respool/detail/histogram.hpp>
#include <respool/stats.hpp>

namespace respool::detail {

struct Counters {
#define RESPOOL_COUNTERS_MEMBER_gauge(field)
#define RESPOOL_COUNTERS_MEMBER_derived(field)
#define RESPOOL_COUNTERS_MEMBER_state(field)
#define RESPOOL_COUNTERS_MEMBER_site_timing(field)
#define RESPOOL_COUNTERS_MEMBER_counter(field) std::uint64_t field = 0;
#define RESPOOL_COUNTERS_MEMBER_by_reason(field) DestroyCounts field;
#define RESPOOL_COUNTERS_MEMBER_timing(field) Histogram field;
#define RESPOOL_COUNTERS_MEMBER(kind, field, ...) RESPOOL_COUNTERS_MEMBER_##kind(field)
    RESPOOL_POOL_METRICS(RESPOOL_COUNTERS_MEMBER)

    std::string last_create_error;
    std::exception_ptr last_create_exception;

    /// Copies every figure kept here into `s` (and computes the derived ones).
    void fill(PoolStats& s) const
    {
#define RESPOOL_COUNTERS_FILL_gauge(field)
#define RESPOOL_COUNTERS_FILL_state(field)
#define RESPOOL_COUNTERS_FILL_site_timing(field)
#define RESPOOL_COUNTERS_FILL_counter(field) s.field = field;
#define RESPOOL_COUNTERS_FILL_by_reason(field) s.field = field;
#define RESPOOL_COUNTERS_FILL_timing(field) s.field = field.summary();
#define RESPOOL_COUNTERS_FILL_derived(field) s.field = derive_##field();
#define RESPOOL_COUNTERS_FILL(kind, field, ...) RESPOOL_COUNTERS_FILL_##kind(field)
        RESPOOL_POOL_METRICS(RESPOOL_COUNTERS_FILL)
        s.last_create_error = last_create_error;
    }

    // The `derived` figures of RESPOOL_POOL_METRICS, one function each.
    std::uint64_t derive_acquired_direct() const noexcept { return acquired - acquired_waited; }
};

} // namespace respool::detail

// The helpers above are not for anyone else (this header reaches users through pool.hpp).
#undef RESPOOL_COUNTERS_MEMBER
#undef RESPOOL_COUNTERS_MEMBER_gauge
#undef RESPOOL_COUNTERS_MEMBER_derived
#undef RESPOOL_COUNTERS_MEMBER_state
#undef RESPOOL_COUNTERS_MEMBER_site_timing
#undef RESPOOL_COUNTERS_MEMBER_counter
#undef RESPOOL_COUNTERS_MEMBER_by_reason
#undef RESPOOL_COUNTERS_MEMBER_timing
#undef RESPOOL_COUNTERS_FILL
#undef RESPOOL_COUNTERS_FILL_gauge
#undef RESPOOL_COUNTERS_FILL_derived
#undef RESPOOL_COUNTERS_FILL_state
#undef RESPOOL_COUNTERS_FILL_site_timing
#undef RESPOOL_COUNTERS_FILL_counter
#undef RESPOOL_COUNTERS_FILL_by_reason
#undef RESPOOL_COUNTERS_FILL_timing
