// Internal: the pool's cheap timestamps.
//
// The hot path stamps every lease twice (acquire, return). A steady_clock read
// costs ~24 ns here, the time-stamp counter ~10 ns, so the default time base
// counts TSC ticks and converts to nanoseconds with a ratio calibrated once per
// process. With an injected `Clock` the ticks are that clock's nanoseconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <respool/deadline.hpp>

namespace respool::detail {

// The counter is read with the compiler's builtin rather than <x86intrin.h>'s
// `__rdtsc`: the same single instruction, without pulling ~40 k lines of
// intrinsics headers into every program that includes <respool/pool.hpp>.
#if defined(__x86_64__) || defined(__i386__)
inline constexpr bool have_tsc = true;
#else
inline constexpr bool have_tsc = false;
#endif

/// Nanoseconds per hardware tick, measured once per process (first call spins ~1 ms).
double hardware_ns_per_tick() noexcept;

inline std::int64_t hardware_ticks() noexcept
{
#if defined(__x86_64__) || defined(__i386__)
    return static_cast<std::int64_t>(__builtin_ia32_rdtsc());
#else
    return SteadyClock::now().time_since_epoch().count();
#endif
}

class TimeBase {
public:
    explicit TimeBase(std::shared_ptr<const Clock> clock)
        : clock_(std::move(clock)), ns_per_tick_(clock_ ? 1.0 : hardware_ns_per_tick())
    {
    }

    /// Monotonic ticks; cheap.
    std::int64_t ticks() const noexcept
    {
        return clock_ ? clock_->now().time_since_epoch().count() : hardware_ticks();
    }
    std::int64_t to_ticks(std::chrono::nanoseconds d) const noexcept
    {
        const double t = static_cast<double>(d.count()) / ns_per_tick_;
        return t >= 9.2e18 ? INT64_MAX : static_cast<std::int64_t>(t);
    }
    std::chrono::nanoseconds to_duration(std::int64_t ticks) const noexcept
    {
        return std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(ticks) * ns_per_tick_));
    }
    bool manual() const noexcept { return clock_ != nullptr; }
    double ns_per_tick() const noexcept { return ns_per_tick_; }

private:
    std::shared_ptr<const Clock> clock_;
    double ns_per_tick_;
};

} // namespace respool::detail
