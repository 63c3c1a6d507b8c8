#include <doctest/doctest.h>

#include <set>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

TEST_CASE("mark_broken destroys the resource instead of returning it; it is never lent again")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    std::uint64_t broken = 0;
    {
        auto lease = pool.acquire();
        broken = lease->serial;
        lease.mark_broken();
    }
    CHECK(f.fake->destroyed() == 1);
    for (int i = 0; i < 5; ++i) {
        auto lease = pool.acquire();
        CHECK(lease->serial != broken);
    }
    CHECK(pool.stats().destroyed[DestroyReason::broken] == 1);
}

TEST_CASE("is_broken is checked on return and on borrow")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    SUBCASE("on return")
    {
        {
            auto lease = pool.acquire();
            f.fake->break_resource(lease->serial);
        }
        CHECK(pool.stats().idle == 0);
        CHECK(pool.stats().destroyed[DestroyReason::broken] == 1);
    }
    SUBCASE("on borrow")
    {
        std::uint64_t serial = 0;
        {
            auto lease = pool.acquire();
            serial = lease->serial;
        }
        REQUIRE(pool.stats().idle == 1);
        f.fake->break_resource(serial);
        auto lease = pool.acquire();
        CHECK(lease->serial != serial);
        CHECK(pool.stats().destroyed[DestroyReason::broken] == 1);
        CHECK(pool.stats().acquired == 2);
    }
    CHECK(f.fake->violations().empty());
}

TEST_CASE("validation runs on borrow only after validate_after_idle, and a failure replaces the resource")
{
    Fixture f;
    PoolOptions o = f.options(2);
    o.validate_after_idle = 1s;
    FakePool pool{f.adapter(), o};
    std::uint64_t first = 0;
    { first = pool.acquire()->serial; }
    CHECK(f.fake->validate_calls() == 0);  // a fresh resource needs none

    f.clock->advance(500ms);
    { CHECK(pool.acquire()->serial == first); }
    CHECK(f.fake->validate_calls() == 0);

    f.clock->advance(2s);
    { CHECK(pool.acquire()->serial == first); }
    CHECK(f.fake->validate_calls() == 1);

    f.clock->advance(2s);
    f.fake->fail_next_validations(1);
    {
        auto lease = pool.acquire();
        CHECK(lease->serial != first);
    }
    const PoolStats s = pool.stats();
    CHECK(s.validations == 2);
    CHECK(s.validation_failures == 1);
    CHECK(s.destroyed[DestroyReason::validation] == 1);
}

TEST_CASE("validate_after_idle = 0 validates every borrow of a used resource")
{
    Fixture f;
    PoolOptions o = f.options(1);
    o.validate_after_idle = 0ms;
    FakePool pool{f.adapter(), o};
    for (int i = 0; i < 4; ++i) (void)pool.acquire();
    CHECK(f.fake->validate_calls() == 3);
}

TEST_CASE("reset runs on every exclusive return; a reset that throws destroys the resource")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    (void)pool.acquire();
    (void)pool.acquire();
    CHECK(f.fake->reset_calls() == 2);
    f.fake->fail_next_resets(1);
    (void)pool.acquire();
    CHECK(pool.stats().destroyed[DestroyReason::broken] == 1);
    CHECK(pool.stats().idle == 0);
}

TEST_CASE("a broken resource is never handed out again, over many rounds")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(3)};
    std::set<std::uint64_t> broken;
    for (int i = 0; i < 200; ++i) {
        auto lease = pool.acquire();
        CHECK(broken.count(lease->serial) == 0);
        auto use = lease->use();
        if (i % 7 == 0) {
            broken.insert(lease->serial);
            lease.mark_broken();
        }
    }
    CHECK(f.fake->violations().empty());
    CHECK(pool.stats().destroyed[DestroyReason::broken] == broken.size());
}

TEST_CASE("a full pool whose idle resource fails its borrow check makes a new one at once")
{
    Fixture f;
    PoolOptions o = f.options(1);
    o.validate_after_idle = 0ms;
    FakePool pool{f.adapter(), o};
    pool.acquire().release();
    f.fake->fail_next_validations(1);
    const auto start = SteadyClock::now();
    auto lease = pool.acquire({.timeout = 1s});
    CHECK(ms_since(start) < 500);
    CHECK(f.fake->created() == 2);
}
