#include <respool/detail/histogram.hpp>

namespace respool::detail {

std::uint64_t Histogram::upper_bound(int i) noexcept
{
    if (i < (1 << sub_bits)) return static_cast<std::uint64_t>(i);
    const int log2 = (i >> sub_bits) + sub_bits - 1;
    const std::uint64_t mantissa = static_cast<std::uint64_t>(i & ((1 << sub_bits) - 1));
    const std::uint64_t base = std::uint64_t{1} << log2;
    const std::uint64_t step = base >> sub_bits;
    return base + (mantissa + 1) * step - 1;
}

Distribution Histogram::summary(double ns_per_unit) const noexcept
{
    const auto ns = [&](std::uint64_t v) {
        return std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(v) * ns_per_unit));
    };
    Distribution d;
    d.count = count_;
    d.max = ns(max_);
    d.sum = ns(sum_);
    if (count_ == 0) return d;
    auto percentile = [&](double q) {
        const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
        std::uint64_t seen = 0;
        for (int i = 0; i < bucket_count; ++i) {
            seen += counts_[static_cast<std::size_t>(i)];
            if (seen >= rank) {
                const auto ub = upper_bound(i);
                return ns(ub < max_ ? ub : max_);
            }
        }
        return d.max;
    };
    d.p50 = percentile(0.50);
    d.p99 = percentile(0.99);
    // Buckets ascend, and so do the bounds: one pass fills every cumulative count.
    std::uint64_t below = 0;
    int i = 0;
    for (std::size_t b = 0; b < histogram_bounds.size(); ++b) {
        const double bound = static_cast<double>(histogram_bounds[b].count());
        for (; i < bucket_count && static_cast<double>(upper_bound(i)) * ns_per_unit <= bound; ++i)
            below += counts_[static_cast<std::size_t>(i)];
        d.buckets[b] = below;
    }
    return d;
}

void Histogram::merge(const Histogram& other) noexcept
{
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    if (other.max_ > max_) max_ = other.max_;
}

} // namespace respool::detail
