#include <doctest/doctest.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

TEST_CASE("close wakes waiters with PoolClosed and refuses new acquires; leases given back later are destroyed")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    auto a = pool.acquire();
    auto b = pool.acquire();
    std::atomic<long long> waited{-1};
    std::thread waiter([&] {
        const auto start = SteadyClock::now();
        CHECK_THROWS_AS((void)pool.acquire({.timeout = 10s}), PoolClosed);
        waited = ms_since(start);
    });
    REQUIRE(testing::eventually([&] { return pool.stats().waiting == 1; }));
    CHECK_FALSE(pool.close(0ms));
    waiter.join();
    CHECK(waited.load() >= 0);
    CHECK(waited.load() < 5000);
    CHECK(pool.stats().closed);
    CHECK_THROWS_AS((void)pool.acquire(), PoolClosed);
    CHECK_THROWS_AS((void)pool.try_acquire(), PoolClosed);
    a.release();
    b.release();
    CHECK(f.fake->live() == 0);
    CHECK(pool.stats().destroyed[DestroyReason::closed] == 2);
}

TEST_CASE("close destroys idle resources at once")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    {
        auto a = pool.acquire();
        auto b = pool.acquire();
    }
    REQUIRE(pool.stats().idle == 2);
    CHECK(pool.close());
    CHECK(f.fake->live() == 0);
    CHECK(pool.stats().destroyed[DestroyReason::closed] == 2);
    CHECK(pool.close());  // idempotent
}

TEST_CASE("close waits for leases, and asks their holders to let go through the lease's stop token")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    std::atomic<bool> started{false};
    std::jthread holder([&] {
        auto lease = pool.acquire();
        const std::stop_token token = lease.stop_token();
        started = true;
        while (!token.stop_requested()) std::this_thread::sleep_for(1ms);
    });
    REQUIRE(testing::eventually([&] { return started.load(); }));
    const auto start = SteadyClock::now();
    CHECK(pool.close(10s));
    CHECK(ms_since(start) < 2000);
    CHECK(f.fake->live() == 0);
}

TEST_CASE("close gives up on leases after its drain timeout and reports false")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    auto kept = pool.acquire();
    const auto start = SteadyClock::now();
    CHECK_FALSE(pool.close(50ms));
    CHECK(ms_since(start) >= 50);
    kept.release();
    CHECK(f.fake->live() == 0);
}

TEST_CASE("a pool destroyed with leases out, waiters queued and a creation in flight (S10)")
{
    Fixture f;
    std::optional<FakeLease> survivor;
    std::atomic<SteadyClock::time_point> waiter_done{SteadyClock::time_point{}};
    SteadyClock::time_point closing{};
    std::thread waiter;
    {
        PoolOptions o = f.options(2);
        o.create_timeout = 2s;  // far longer than "at once" may take
        o.drain_timeout = 0ms;
        FakePool pool{f.adapter(), o};
        survivor = pool.acquire();
        f.fake->hang_creates(true);  // the next creation hangs until its deadline
        waiter = std::thread([&] {
            CHECK_THROWS_AS((void)pool.acquire({.timeout = 10s}), PoolClosed);
            waiter_done = SteadyClock::now();
        });
        REQUIRE(testing::eventually([&] { return f.fake->creates_in_flight() == 1 && pool.stats().waiting == 1; }));
        closing = SteadyClock::now();
    }  // the destructor: waiters get PoolClosed at once, the creation ends by its deadline
    waiter.join();
    // "At once" is measured from the start of the close: within 500 ms, where
    // waiting for the hung creation would take its 2 s create_timeout.
    REQUIRE(waiter_done.load() != SteadyClock::time_point{});
    CHECK(ms_since(closing) >= 0);
    CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(waiter_done.load() - closing).count() < 500);
    CHECK(f.fake->creates_in_flight() == 0);
    CHECK(f.fake->live() == 1);
    survivor.reset();  // given back after the pool is gone: destroyed
    CHECK(f.fake->live() == 0);
    CHECK(f.fake->violations().empty());
}

TEST_CASE("a resource created after close is destroyed, not leaked")
{
    Fixture f;
    f.fake->set_create_delay(100ms);
    std::thread waiter;
    {
        PoolOptions o = f.options(1);
        FakePool pool{f.adapter(), o};
        waiter = std::thread([&] { CHECK_THROWS_AS((void)pool.acquire({.timeout = 10s}), PoolClosed); });
        REQUIRE(testing::eventually([&] { return f.fake->creates_in_flight() == 1; }));
    }
    waiter.join();
    CHECK(f.fake->created() == 1);
    CHECK(f.fake->live() == 0);
}
