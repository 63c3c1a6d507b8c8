// Retiring on demand (retire_all, retire_if) and taking a resource out of
// the pool for good (Lease::detach) (issue 13).
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

TEST_CASE("retire_all destroys idle resources now and leased ones when given back; none is lent again")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(4)};
    auto held = pool.acquire();
    const std::uint64_t old_serial = held->serial;
    { auto other = pool.acquire(); }  // one idle
    REQUIRE(pool.stats().idle == 1);

    pool.retire_all();
    auto s = pool.stats();
    CHECK(s.idle == 0);
    CHECK(s.destroyed[DestroyReason::retired] == 1);
    REQUIRE(s.resources.size() == 1);
    CHECK(s.resources[0].retiring);

    // A new acquire gets a new resource, not the retired one.
    auto fresh = pool.acquire();
    CHECK(fresh->serial != old_serial);
    held.release();
    CHECK(pool.stats().destroyed[DestroyReason::retired] == 2);
    CHECK(f.fake->live() == 1);
    CHECK(f.fake->violations().empty());
}

TEST_CASE("retire_all refills min_idle with new resources")
{
    Fixture f;
    auto o = f.options(4);
    o.min_idle = 2;
    FakePool pool{f.adapter(), o};
    pool.wait_ready(5s);
    pool.retire_all();
    pool.wait_ready(5s);
    REQUIRE(testing::eventually([&] { return pool.stats().idle == 2; }));
    CHECK(f.fake->created() == 4);
    CHECK(pool.stats().destroyed[DestroyReason::retired] == 2);
}

TEST_CASE("retire_all in shared mode: a retired channel takes no new lease")
{
    Fixture f;
    FakePool pool{f.adapter(LeaseMode::shared(4)), f.options(2)};
    auto a = pool.acquire();
    const auto old_serial = a->serial;
    pool.retire_all();
    auto b = pool.acquire();  // not on the retired one, though it has room
    CHECK(b->serial != old_serial);
    a.release();
    CHECK(pool.stats().destroyed[DestroyReason::retired] == 1);
    CHECK(pool.stats().total == 1);
}

TEST_CASE("retire_if runs the predicate on idle resources outside the lock and retires the matching ones")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(4)};
    std::vector<FakeLease> leases;
    for (int i = 0; i < 4; ++i) leases.push_back(pool.acquire());
    const std::uint64_t kept_leased = leases[3]->serial;
    leases.erase(leases.begin(), leases.begin() + 3);  // three idle, one leased
    std::set<std::uint64_t> seen;
    pool.retire_if([&](const testing::FakeResource& r) {
        seen.insert(r.serial);
        (void)pool.stats();  // may call back into the pool: no lock is held
        return r.serial % 2 == 1;
    });
    CHECK(seen.size() == 3);
    CHECK(seen.count(kept_leased) == 0);  // leased ones are not examined
    std::size_t odd_idle = 0;
    for (auto serial : seen) odd_idle += serial % 2;
    CHECK(pool.stats().destroyed[DestroyReason::retired] == odd_idle);
    CHECK(pool.stats().idle == 3 - odd_idle);
    leases.clear();
    CHECK(f.fake->violations().empty());
}

TEST_CASE("an exception from the retire_if predicate puts the resource back and propagates")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    { auto a = pool.acquire(); }
    CHECK_THROWS_AS(pool.retire_if([](const testing::FakeResource&) -> bool { throw std::runtime_error("no"); }),
                    std::runtime_error);
    CHECK(pool.stats().idle == 1);
    CHECK(pool.stats().destroyed.total() == 0);
    auto again = pool.acquire();
    CHECK(again);
}

TEST_CASE("detach returns the resource by value and frees its place for a waiter")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    auto lease = pool.acquire();
    const auto serial = lease->serial;
    std::atomic<bool> served{false};
    std::thread waiter([&] {
        auto other = pool.acquire({.timeout = 5s});
        CHECK(other->serial != serial);
        served = true;
    });
    REQUIRE(testing::eventually([&] { return pool.stats().waiting == 1; }));
    testing::FakeResource mine = lease.detach();
    CHECK_FALSE(lease);
    CHECK(mine.serial == serial);
    waiter.join();
    CHECK(served.load());
    auto s = pool.stats();
    CHECK(s.detached == 1);
    CHECK(s.total == 1);  // the detached one is no longer counted
    CHECK(s.destroyed.total() == 0);
    CHECK(f.fake->live() == 2);  // the pool did not destroy it: it is ours
    CHECK(pool.leases().empty());
    CHECK_THROWS_AS((void)lease.detach(), std::logic_error);  // empty now
}

TEST_CASE("detach in shared mode throws std::logic_error and leaves the lease valid")
{
    Fixture f;
    FakePool pool{f.adapter(LeaseMode::shared(4)), f.options(2)};
    auto lease = pool.acquire();
    CHECK_THROWS_AS((void)lease.detach(), std::logic_error);
    CHECK(lease);
    CHECK(pool.stats().leases == 1);
    lease.release();
    CHECK(pool.stats().idle == 1);
}
