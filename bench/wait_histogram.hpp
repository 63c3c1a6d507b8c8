// A histogram of acquire waits for the benchmarks: cheap to record from a
// measuring thread (one per thread, merged at the end), percentiles to about
// ±3 %. Not thread-safe; each thread keeps its own.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace bench {

/// Acquire waits in nanoseconds, log-linear: 16 buckets per power of two
/// (about ±3 %), up to 2^40 ns. Percentiles are bucket upper bounds.
class WaitHistogram {
public:
    static constexpr int sub_bits = 4;
    void record(std::int64_t ns)
    {
        const auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0));
        ++counts_[index(v)];
        ++count_;
        max_ = std::max(max_, v);
    }
    void merge(const WaitHistogram& o)
    {
        for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
        count_ += o.count_;
        max_ = std::max(max_, o.max_);
    }
    double percentile_us(double q) const
    {
        if (count_ == 0) return 0;
        const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) return static_cast<double>(std::min(upper_bound(i), max_)) / 1e3;
        }
        return max_us();
    }
    double max_us() const { return static_cast<double>(max_) / 1e3; }
    std::uint64_t count() const { return count_; }

private:
    static constexpr std::size_t bucket_count = (41 - sub_bits + 1) << sub_bits;
    static std::size_t index(std::uint64_t v)
    {
        if (v < (1u << sub_bits)) return v;
        const int log2 = std::min(63 - std::countl_zero(v), 40);
        const auto mantissa = (v >> (log2 - sub_bits)) & ((1u << sub_bits) - 1);
        return std::min<std::size_t>((static_cast<std::size_t>(log2 - sub_bits + 1) << sub_bits) + mantissa,
                                     bucket_count - 1);
    }
    static std::uint64_t upper_bound(std::size_t i)
    {
        if (i < (1u << sub_bits)) return i;
        const auto log2 = (i >> sub_bits) + sub_bits - 1;
        const std::uint64_t base = std::uint64_t{1} << log2;
        return base + ((i & ((1u << sub_bits) - 1)) + 1) * (base >> sub_bits) - 1;
    }
    std::vector<std::uint64_t> counts_ = std::vector<std::uint64_t>(bucket_count, 0);
    std::uint64_t count_ = 0;
    std::uint64_t max_ = 0;
};

} // namespace bench
