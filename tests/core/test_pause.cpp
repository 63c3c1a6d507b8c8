// pause() / resume(): hold acquires and creation without failing them (issue 13).
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

TEST_CASE("while paused, acquires wait and time out saying so; try_acquire finds nothing; leases out are untouched")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(4)};
    auto held = pool.acquire();
    { auto idle = pool.acquire(); }
    pool.pause();
    CHECK_FALSE(pool.try_acquire().has_value());
    const auto start = SteadyClock::now();
    try {
        (void)pool.acquire({.timeout = 50ms});
        FAIL("acquired while paused");
    } catch (const AcquireTimeout& e) {
        CHECK(std::string(e.what()).find("the pool is paused") != std::string::npos);
    }
    CHECK(ms_since(start) >= 50);
    CHECK(f.fake->created() == 2);  // nothing created
    CHECK(held);
    held.release();  // releases still work
    CHECK(pool.stats().idle == 2);
}

TEST_CASE("while paused no resource is created, not even for min_idle; resume serves waiters at once")
{
    Fixture f;
    auto o = f.options(4);
    FakePool pool{f.adapter(), o};
    { auto one = pool.acquire(); }  // one idle
    pool.pause();
    pool.set_min_idle(3);
    pool.run_maintenance();
    CHECK(f.fake->created() == 1);
    std::atomic<int> served{0};
    std::thread w1([&] { auto l = pool.acquire({.timeout = 5s}); ++served; std::this_thread::sleep_for(20ms); });
    std::thread w2([&] { auto l = pool.acquire({.timeout = 5s}); ++served; std::this_thread::sleep_for(20ms); });
    REQUIRE(testing::eventually([&] { return pool.stats().waiting == 2; }));
    std::this_thread::sleep_for(20ms);
    CHECK(served.load() == 0);
    CHECK(f.fake->created() == 1);
    const auto start = SteadyClock::now();
    pool.resume();
    w1.join();
    w2.join();
    CHECK(served.load() == 2);
    CHECK(ms_since(start) < 3000);
    REQUIRE(testing::eventually([&] { return pool.stats().idle >= 3; }));  // min_idle refilled after resume
}

TEST_CASE("a waiter given a resource back while paused is served only on resume")
{
    Fixture f;
    auto o = f.options(1);
    o.fairness_window = 0us;  // hand-off would be due at once
    FakePool pool{f.adapter(), o};
    auto held = pool.acquire();
    pool.pause();
    std::atomic<bool> served{false};
    std::thread waiter([&] {
        auto l = pool.acquire({.timeout = 5s});
        served = true;
    });
    REQUIRE(testing::eventually([&] { return pool.stats().waiting == 1; }));
    held.release();
    std::this_thread::sleep_for(30ms);
    CHECK_FALSE(served.load());
    CHECK(pool.stats().idle == 1);
    pool.resume();
    waiter.join();
    CHECK(served.load());
}

TEST_CASE("close while paused wakes waiters with PoolClosed")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    pool.pause();
    std::thread waiter([&] { CHECK_THROWS_AS((void)pool.acquire({.timeout = 10s}), PoolClosed); });
    REQUIRE(testing::eventually([&] { return pool.stats().waiting == 1; }));
    CHECK(pool.close(1s));
    waiter.join();
    pool.resume();  // harmless after close
    CHECK_THROWS_AS((void)pool.acquire(), PoolClosed);
}
