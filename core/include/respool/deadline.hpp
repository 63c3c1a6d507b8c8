// respool/deadline.hpp — time as the pool sees it.
//
// `Deadline` is the absolute point on the steady clock by which an operation
// must end; adapters receive one in `create` and `validate` and must return
// (or throw) by then. `Clock` is the seam through which the pool reads time
// for its bookkeeping (idle ages, lifetimes, lease ages, leak thresholds), so
// tests can substitute `respool::testing::ManualClock` and run without
// sleeping; the fairness window is measured on it too. Deadlines of callers,
// and the pacing of creations (back-off, breaker), always use the real
// steady clock.
//
// Thread-safety: a Clock is called concurrently from every thread using the
// pool; implementations must be thread-safe and must never go backwards.
#pragma once

#include <chrono>

namespace respool {

/// The steady clock every deadline is measured on (never jumps with wall time).
using SteadyClock = std::chrono::steady_clock;

/// The time point by which an operation must be finished.
using Deadline = SteadyClock::time_point;

/// Source of "now" for the pool's bookkeeping. Inject one through
/// `PoolOptions::clock`; the default reads the hardware clock cheaply.
class Clock {
public:
    virtual ~Clock() = default;
    /// The current time; monotonic, thread-safe, never throws.
    virtual SteadyClock::time_point now() const noexcept = 0;
};

/// `now + timeout`, saturating: a timeout too long to represent (up to
/// `milliseconds::max()`, say) gives `Deadline::max()`, which everywhere in
/// respool means "no deadline". Zero or negative gives `now`.
template <class Rep, class Period>
inline Deadline deadline_after(std::chrono::duration<Rep, Period> timeout,
                               Deadline now = SteadyClock::now()) noexcept
{
    if (timeout <= timeout.zero()) return now;
    // Compared in floating point so that neither side can overflow; below
    // the limit (about 292 years from the clock's epoch) the sum is exact.
    using Seconds = std::chrono::duration<long double>;
    if (std::chrono::duration_cast<Seconds>(timeout) >= std::chrono::duration_cast<Seconds>(Deadline::max() - now))
        return Deadline::max();
    return now + std::chrono::duration_cast<SteadyClock::duration>(timeout);
}

/// Time left until `d`, zero when it has passed.
inline std::chrono::nanoseconds time_left(Deadline d, Deadline now = SteadyClock::now()) noexcept
{
    return d > now ? std::chrono::duration_cast<std::chrono::nanoseconds>(d - now)
                   : std::chrono::nanoseconds::zero();
}

} // namespace respool
