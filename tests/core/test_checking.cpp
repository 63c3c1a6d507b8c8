// Resources under a check (keepalive or borrow validation) are in a state of
// their own: nobody else may have them or destroy them, they are not spare
// capacity, and the others stay lendable meanwhile. Regression tests for
// issue 11's defects 1, 3, 4 and 7 (each failed on a42be33).
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {

PoolOptions keepalive_options(Fixture& f, std::size_t max_size)
{
    PoolOptions o = f.options(max_size);
    o.keepalive_interval = 1s;
    o.validation_timeout = 5s;
    o.idle_timeout = 0ms;
    o.max_lifetime = 0ms;
    o.validate_after_idle = std::chrono::hours(1);  // no borrow validation: only keepalive checks here
    return o;
}

} // namespace

TEST_CASE("close during a keepalive check of a shared resource destroys it once, after the check (defect 1)")
{
    Fixture f;
    std::thread housekeeper;
    {
        FakePool pool{f.adapter(LeaseMode::shared(4)), keepalive_options(f, 4)};
        { auto warm = pool.acquire(); }
        f.clock->advance(2s);
        f.fake->hang_validations(true);
        housekeeper = std::thread([&] { pool.run_maintenance(); });
        REQUIRE(testing::eventually([&] { return f.fake->validate_calls() == 1; }));
        CHECK(pool.close(0ms));
        // The check is still running: the resource must still be alive.
        CHECK(f.fake->live() == 1);
        f.fake->release_hangs();
        housekeeper.join();
        CHECK(testing::eventually([&] { return f.fake->live() == 0; }));
    }
    CHECK(f.fake->violations().empty());
    CHECK(f.fake->destroyed() == f.fake->created());
}

TEST_CASE("a make-before-break replacement never destroys an old shared resource under its check")
{
    Fixture f;
    auto o = keepalive_options(f, 4);
    o.max_lifetime = 10s;
    o.lifetime_jitter = 0;
    std::thread housekeeper;
    {
        FakePool pool{f.adapter(LeaseMode::shared(4)), o};
        auto held = pool.acquire();
        f.fake->set_create_delay(500ms);  // the replacement arrives while the old one is checked
        f.clock->advance(11s);            // expired while leased: a replacement is requested
        pool.run_maintenance();
        held.release();
        f.clock->advance(2s);             // the old one, if still idle, is due for its keepalive
        f.fake->hang_validations(true);
        housekeeper = std::thread([&] { pool.run_maintenance(); });
        // Whatever is created meanwhile (the replacement asked for) arrives
        // while a check on the old one would still be running.
        std::this_thread::sleep_for(800ms);
        f.fake->release_hangs();
        housekeeper.join();
        CHECK(f.fake->live() <= 1);
    }
    CHECK(f.fake->violations().empty());
    CHECK(f.fake->destroyed() == f.fake->created());
}

TEST_CASE("shared mode: a resource under a keepalive check is not spare capacity (defect 3)")
{
    Fixture f;
    std::thread housekeeper;
    {
        FakePool pool{f.adapter(LeaseMode::shared(4)), keepalive_options(f, 4)};
        { auto warm = pool.acquire(); }
        f.clock->advance(2s);
        f.fake->hang_validations(true);
        housekeeper = std::thread([&] { pool.run_maintenance(); });
        REQUIRE(testing::eventually([&] { return f.fake->validate_calls() == 1; }));
        // The only resource is being checked: a caller gets a new one, well within its timeout.
        const auto t0 = SteadyClock::now();
        auto lease = pool.acquire({.timeout = 3s});
        CHECK(ms_since(t0) < 2000);
        CHECK(f.fake->created() == 2);
        CHECK(pool.stats().create_failures == 0);
        lease.release();
        f.fake->release_hangs();
        housekeeper.join();
    }
    CHECK(f.fake->violations().empty());
}

TEST_CASE("a keepalive pass checks one resource at a time; the others stay lendable (defect 4)")
{
    Fixture f;
    std::thread housekeeper;
    {
        FakePool pool{f.adapter(), keepalive_options(f, 2)};
        {
            auto a = pool.acquire();
            auto b = pool.acquire();
        }
        REQUIRE(pool.stats().idle == 2);
        f.clock->advance(2s);  // both due
        f.fake->hang_validations(true);
        housekeeper = std::thread([&] { pool.run_maintenance(); });
        REQUIRE(testing::eventually([&] { return f.fake->validate_calls() == 1; }));
        // At max_size, with one resource under its check: the other is lent at once.
        auto lease = pool.try_acquire();
        CHECK(lease.has_value());
        CHECK(f.fake->validate_calls() == 1);
        lease.reset();
        f.fake->release_hangs();
        housekeeper.join();
    }
    CHECK(f.fake->violations().empty());
}

TEST_CASE("a caller waiting for the resource under its check gets it when the check ends")
{
    Fixture f;
    std::thread housekeeper;
    {
        FakePool pool{f.adapter(), keepalive_options(f, 1)};
        { auto warm = pool.acquire(); }
        f.clock->advance(2s);
        f.fake->set_validate_delay(300ms);
        housekeeper = std::thread([&] { pool.run_maintenance(); });
        REQUIRE(testing::eventually([&] { return f.fake->validate_calls() == 1; }));
        // The caller waits for the check that is running, then gets the resource.
        auto lease = pool.acquire({.timeout = 3s});
        CHECK(lease);
        housekeeper.join();
        CHECK(f.fake->validate_calls() == 1);
    }
    CHECK(f.fake->violations().empty());
}

TEST_CASE("a timeout behind a resource under its check says so, not 'exhausted' (defect 7)")
{
    Fixture f;
    std::thread housekeeper;
    {
        FakePool pool{f.adapter(), keepalive_options(f, 1)};
        { auto warm = pool.acquire(); }
        f.clock->advance(2s);
        f.fake->hang_validations(true);
        housekeeper = std::thread([&] { pool.run_maintenance(); });
        REQUIRE(testing::eventually([&] { return f.fake->validate_calls() == 1; }));
        try {
            (void)pool.acquire({.timeout = 100ms});
            FAIL("the acquire should have timed out");
        } catch (const AcquireTimeout& e) {
            const std::string what = e.what();
            INFO(what);
            CHECK(what.find("busy in a validation") != std::string::npos);
            CHECK(what.find("exhausted") == std::string::npos);
            CHECK(what.find("pausing") == std::string::npos);
            CHECK(e.snapshot().in_use == 0);
        }
        f.fake->release_hangs();
        housekeeper.join();
    }
    CHECK(f.fake->violations().empty());
}
