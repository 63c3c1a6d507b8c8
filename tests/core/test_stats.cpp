#include <doctest/doctest.h>

#include <string>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

TEST_CASE("counters and gauges add up")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(3)};
    {
        auto a = pool.acquire();
        auto b = pool.acquire();
        b.mark_broken();
        f.clock->advance(10ms);
    }
    (void)pool.acquire();
    const PoolStats s = pool.stats();
    CHECK(s.acquired == 3);
    CHECK(s.created == 2);
    CHECK(s.destroyed.total() == 1);
    CHECK(s.total == s.created - s.destroyed.total());
    CHECK(s.idle == 1);
    CHECK(s.in_use == 0);
    CHECK(s.hold_time.count == 3);
    CHECK(s.hold_time.max >= 10ms);
    CHECK(s.acquire_wait.count == 3);
    CHECK(s.create_time.count == 2);
    CHECK(s.name == "test");
    CHECK(s.max_size == 3);
}

TEST_CASE("hold and wait times are kept per acquire site")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    for (int i = 0; i < 3; ++i) {
        auto lease = pool.acquire();  const unsigned busy = __LINE__;
        f.clock->advance(100ms);
        (void)busy;
    }
    { auto quick = pool.acquire(); }
    const PoolStats s = pool.stats();
    REQUIRE(s.sites.size() == 2);
    CHECK(s.sites[0].acquired == 3);  // busiest first
    CHECK(s.sites[0].site.find("test_stats.cpp:") != std::string::npos);
    CHECK(s.sites[0].hold.p50 >= 80ms);
    CHECK(s.sites[1].acquired == 1);
    CHECK(s.sites[1].hold.max < 80ms);
}

TEST_CASE("sites beyond max_tracked_sites share one 'other' entry")
{
    Fixture f;
    PoolOptions o = f.options(1);
    o.max_tracked_sites = 1;
    FakePool pool{f.adapter(), o};
    (void)pool.acquire();
    (void)pool.acquire();
    (void)pool.acquire();
    const PoolStats s = pool.stats();
    REQUIRE(s.sites.size() == 2);
    CHECK((s.sites[0].site == "other" || s.sites[1].site == "other"));
}

TEST_CASE("to_string reports the pool in words")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    (void)pool.acquire();
    const std::string text = to_string(pool.stats());
    CHECK(text.find("pool test:") == 0);
    CHECK(text.find("acquired 1") != std::string::npos);
}
