// S16 of TESTPLAN.md: values at the types' limits. "No deadline" spelled
// milliseconds::max() means no deadline (not an overflow into the past, so
// not an instant timeout); sizes and durations at their limits are either
// honoured or rejected as InvalidOptions naming the field, never a crash or
// a wrap-around.
//
// The milliseconds::max() and SIZE_MAX cases failed on a42be33 (issue 11,
// defects 8 and 9).
#include <doctest/doctest.h>

#include <atomic>
#include <limits>
#include <string>
#include <vector>
#include <thread>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

TEST_CASE("acquire with a timeout of milliseconds::max() waits until served (S16)")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    std::optional<FakeLease> held{pool.acquire()};
    std::atomic<bool> served{false};
    std::thread waiter([&] {
        auto lease = pool.acquire({.timeout = std::chrono::milliseconds::max()});
        served = true;
    });
    REQUIRE(testing::eventually([&] { return pool.stats().waiting == 1; }));
    std::this_thread::sleep_for(200ms);  // an overflowed deadline would have ended it long ago
    CHECK_FALSE(served.load());
    CHECK(pool.stats().waiting == 1);
    CHECK(pool.stats().timeouts == 0);
    held.reset();
    waiter.join();
    CHECK(served.load());
}

TEST_CASE("close(milliseconds::max()) waits for the lease to come back (S16)")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    auto lease = std::make_shared<FakeLease>(pool.acquire());
    std::thread giver([lease]() mutable {
        std::this_thread::sleep_for(200ms);
        lease->release();
    });
    lease.reset();
    const auto start = SteadyClock::now();
    const bool all_back = pool.close(std::chrono::milliseconds::max());
    const auto took = ms_since(start);
    giver.join();
    CHECK(all_back);
    // [200 ms, 200 ms + 600 ms]: it waited for the lease, then returned.
    CHECK(took >= 190);
    CHECK(took <= 800);
}


TEST_CASE("sizes at their limit are honoured or rejected naming the field (S16)")
{
    for (const std::string field : {"max_size", "max_waiters", "max_idle"}) {
        CAPTURE(field);
        Fixture f;
        PoolOptions o = f.options(4);
        const std::size_t huge = std::numeric_limits<std::size_t>::max();
        if (field == "max_size") o.max_size = huge;
        if (field == "max_waiters") o.max_waiters = huge;
        if (field == "max_idle") o.max_idle = huge;
        try {
            FakePool pool{f.adapter(), o};
            std::vector<FakeLease> leases;
            for (int i = 0; i < 3; ++i) leases.push_back(pool.acquire({.timeout = 1s}));
            const PoolStats s = pool.stats();
            CHECK(s.in_use == 3);
            CHECK(gauges_consistent(s));
        } catch (const InvalidOptions& e) {
            CHECK(e.field() == field);
        } catch (const std::exception& e) {
            FAIL_CHECK("neither honoured nor InvalidOptions: ", e.what());
        }
    }
}

TEST_CASE("lifetimes and idle timeouts at milliseconds::max() never expire (S16)")
{
    Fixture f;
    PoolOptions o = f.options(2);
    o.max_lifetime = std::chrono::milliseconds::max();
    o.idle_timeout = std::chrono::milliseconds::max();
    o.lifetime_jitter = 0;
    try {
        FakePool pool{f.adapter(), o};
        const std::uint64_t first = pool.acquire()->serial;
        f.clock->advance(std::chrono::hours(24 * 365 * 100));  // a century on the pool's clock
        pool.run_maintenance();
        CHECK(pool.stats().destroyed.total() == 0);
        CHECK(pool.acquire()->serial == first);
    } catch (const InvalidOptions& e) {
        CHECK((e.field() == "max_lifetime" || e.field() == "idle_timeout"));
    }
}
