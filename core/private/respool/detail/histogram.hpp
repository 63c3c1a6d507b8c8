// Internal: a fixed-size log-linear histogram of durations, in whatever unit
// the recorder counts (TSC ticks on the hot path: converting there would put a
// floating-point chain inside the pool's critical section); `summary` scales.
// Four buckets per power of two (about ±12 % error), 2^44 ns (~5 h) at most;
// recording is a bit scan and an increment, with no allocation.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

#include <respool/stats.hpp>

namespace respool::detail {

class Histogram {
public:
    static constexpr int sub_bits = 2;
    static constexpr int max_log2 = 44;
    static constexpr int bucket_count = max_log2 << sub_bits;  // the last bucket also takes overflow

    void record(std::int64_t value) noexcept { record(value, index(value)); }
    /// As `record`, with `bucket == index(value)` already known.
    void record(std::int64_t value, int bucket) noexcept
    {
        const std::uint64_t v = value > 0 ? static_cast<std::uint64_t>(value) : 0;
        ++counts_[static_cast<std::size_t>(bucket)];
        ++count_;
        sum_ += v;
        if (v > max_) max_ = v;
    }

    /// p50, p99 and max in nanoseconds, given the recorded unit's length in
    /// nanoseconds; each percentile is the upper bound of its bucket.
    Distribution summary(double ns_per_unit = 1.0) const noexcept;
    void merge(const Histogram& other) noexcept;
    std::uint64_t count() const noexcept { return count_; }

    static int index(std::int64_t value) noexcept
    {
        const std::uint64_t v = value > 0 ? static_cast<std::uint64_t>(value) : 0;
        if (v < (1u << sub_bits)) return static_cast<int>(v);
        const int log2 = 63 - std::countl_zero(v);
        if (log2 > max_log2) return bucket_count - 1;
        const int mantissa = static_cast<int>((v >> (log2 - sub_bits)) & ((1u << sub_bits) - 1));
        return ((log2 - sub_bits + 1) << sub_bits) + mantissa;
    }
    /// Largest value that falls into bucket `i`.
    static std::uint64_t upper_bound(int i) noexcept;

private:
    std::array<std::uint64_t, bucket_count> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t max_ = 0;
};

} // namespace respool::detail
