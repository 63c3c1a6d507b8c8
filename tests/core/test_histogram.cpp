#include <doctest/doctest.h>

#include <respool/detail/histogram.hpp>

using respool::detail::Histogram;

TEST_CASE("bucket bounds are contiguous and monotonic")
{
    std::uint64_t previous = 0;
    for (int i = 1; i < Histogram::bucket_count; ++i) {
        const auto ub = Histogram::upper_bound(i);
        CHECK(ub > previous);
        CHECK(Histogram::index(ub) == i);
        CHECK(Histogram::index(previous + 1) == i);
        previous = ub;
    }
}

TEST_CASE("percentiles are within the bucket resolution")
{
    Histogram h;
    for (int i = 1; i <= 1000; ++i) h.record(i * 1000);  // 1 µs .. 1 ms
    const auto d = h.summary();
    CHECK(d.count == 1000);
    CHECK(d.p50.count() >= 500'000);
    CHECK(d.p50.count() <= 500'000 * 1.25);
    CHECK(d.p99.count() >= 990'000);
    CHECK(d.max.count() == 1'000'000);
    CHECK(d.sum.count() == 500'500'000);
}

TEST_CASE("an empty histogram reports zeros; negative values count as zero")
{
    Histogram h;
    CHECK(h.summary().count == 0);
    h.record(-5);
    CHECK(h.summary().max.count() == 0);
}
