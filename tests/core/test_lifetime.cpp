#include <doctest/doctest.h>

#include <vector>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {
std::vector<FakeLease> take(FakePool& pool, int n)
{
    std::vector<FakeLease> v;
    for (int i = 0; i < n; ++i) v.push_back(pool.acquire());
    return v;
}
} // namespace

TEST_CASE("min_idle is filled in the background at start")
{
    Fixture f;
    PoolOptions o = f.options(5);
    o.min_idle = 3;
    FakePool pool{f.adapter(), o};
    CHECK(testing::eventually([&] { return pool.stats().idle == 3; }));
    CHECK(f.fake->created() == 3);
}

TEST_CASE("idle eviction destroys idle resources beyond min_idle after idle_timeout")
{
    Fixture f;
    PoolOptions o = f.options(5);
    o.min_idle = 2;
    o.idle_timeout = 10min;
    FakePool pool{f.adapter(), o};
    REQUIRE(testing::eventually([&] { return pool.stats().idle == 2; }));
    take(pool, 5).clear();
    REQUIRE(pool.stats().idle == 5);

    f.clock->advance(9min);
    pool.run_maintenance();
    CHECK(pool.stats().idle == 5);

    f.clock->advance(2min);
    pool.run_maintenance();
    const PoolStats s = pool.stats();
    CHECK(s.idle == 2);
    CHECK(s.destroyed[DestroyReason::idle] == 3);
    CHECK(f.fake->live() == 2);
}

TEST_CASE("max_lifetime retires idle resources at once and leased ones on return, keeping min_idle")
{
    Fixture f;
    PoolOptions o = f.options(4);
    o.min_idle = 1;
    o.max_lifetime = 30min;
    o.idle_timeout = 0ms;
    o.lifetime_jitter = 0;
    FakePool pool{f.adapter(), o};
    REQUIRE(testing::eventually([&] { return pool.stats().idle == 1; }));
    auto held = pool.acquire();
    auto second = pool.acquire();  // made now, same age as the first within the test
    second.release();
    const std::uint64_t held_serial = held->serial;

    // The refill may have made one more idle resource to keep min_idle.
    REQUIRE(testing::eventually([&] { return pool.stats().creating == 0; }));
    const std::uint64_t idle = pool.stats().idle;
    REQUIRE(idle >= 1);
    f.clock->advance(31min);
    pool.run_maintenance();
    CHECK(pool.stats().destroyed[DestroyReason::lifetime] == idle);  // every idle one
    CHECK(static_cast<bool>(held));                                   // a lease is never taken away
    CHECK(held->serial == held_serial);
    held.release();
    CHECK(pool.stats().destroyed[DestroyReason::lifetime] == idle + 1);  // retired on return
    CHECK(testing::eventually([&] { return pool.stats().idle == 1; }));  // refilled to min_idle
}

TEST_CASE("lifetime jitter spreads the expiry of resources made together")
{
    Fixture f;
    PoolOptions o = f.options(32);
    o.max_lifetime = 100s;
    o.idle_timeout = 0ms;
    o.lifetime_jitter = 0.5;  // expiries spread over [50 s, 100 s]
    FakePool pool{f.adapter(), o};
    take(pool, 32).clear();
    REQUIRE(pool.stats().idle == 32);

    f.clock->advance(49s);
    pool.run_maintenance();
    CHECK(pool.stats().destroyed[DestroyReason::lifetime] == 0);
    f.clock->advance(26s);  // 75 s: about half have expired
    pool.run_maintenance();
    const auto midway = pool.stats().destroyed[DestroyReason::lifetime];
    CHECK(midway > 0);
    CHECK(midway < 32);
    f.clock->advance(26s);  // 101 s: all of them
    pool.run_maintenance();
    CHECK(pool.stats().destroyed[DestroyReason::lifetime] == 32);
}

TEST_CASE("max_idle caps the idle list; extra returns are destroyed")
{
    Fixture f;
    PoolOptions o = f.options(4);
    o.max_idle = 2;
    FakePool pool{f.adapter(), o};
    take(pool, 4).clear();
    const PoolStats s = pool.stats();
    CHECK(s.idle == 2);
    CHECK(s.destroyed[DestroyReason::idle] == 2);
}

TEST_CASE("the background housekeeper evicts on its own with a real clock")
{
    Fixture f;
    PoolOptions o;
    o.max_size = 2;
    o.idle_timeout = 50ms;
    o.max_lifetime = 0ms;
    o.housekeeping_interval = 10ms;
    FakePool pool{f.adapter(), o};
    (void)pool.acquire();
    CHECK(testing::eventually([&] { return pool.stats().destroyed[DestroyReason::idle] == 1; }));
}
