#include <respool/detail/time_base.hpp>

namespace respool::detail {

namespace {
double calibrate() noexcept
{
    if constexpr (!have_tsc) return 1.0;
    // Spin ~1 ms against the steady clock; the ratio is good to ~1e-4, ample
    // for durations reported to ±12 % and thresholds of milliseconds or more.
    const auto t0 = SteadyClock::now();
    const auto c0 = hardware_ticks();
    auto t1 = t0;
    while (t1 - t0 < std::chrono::milliseconds(1)) t1 = SteadyClock::now();
    const auto c1 = hardware_ticks();
    const double ns = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    const double ticks = static_cast<double>(c1 - c0);
    return ticks > 0 ? ns / ticks : 1.0;
}
} // namespace

double hardware_ns_per_tick() noexcept
{
    static const double ratio = calibrate();
    return ratio;
}

} // namespace respool::detail
