#include <doctest/doctest.h>

#include <map>
#include <vector>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {
std::map<std::uint64_t, int> by_resource(const std::vector<FakeLease>& leases)
{
    std::map<std::uint64_t, int> m;
    for (const auto& l : leases) ++m[l->serial];
    return m;
}
} // namespace

TEST_CASE("shared mode grows only when every resource is at its cap")
{
    Fixture f;
    FakePool pool{f.adapter(LeaseMode::shared(4)), f.options(2)};
    std::vector<FakeLease> leases;
    for (int i = 0; i < 4; ++i) leases.push_back(pool.acquire());
    CHECK(f.fake->created() == 1);
    leases.push_back(pool.acquire());
    CHECK(f.fake->created() == 2);
    for (int i = 0; i < 3; ++i) leases.push_back(pool.acquire());
    auto counts = by_resource(leases);
    CHECK(counts.size() == 2);
    for (auto& [serial, n] : counts) CHECK(n == 4);
    CHECK_FALSE(pool.try_acquire().has_value());  // both at cap, pool at max_size
    const PoolStats s = pool.stats();
    CHECK(s.leases == 8);
    CHECK(s.in_use == 2);
    REQUIRE(s.resources.size() == 2);
    CHECK(s.resources[0].leases == 4);
}

TEST_CASE("shared mode picks the least-loaded resource")
{
    Fixture f;
    FakePool pool{f.adapter(LeaseMode::shared(4)), f.options(2)};
    std::vector<FakeLease> leases;
    for (int i = 0; i < 8; ++i) leases.push_back(pool.acquire());
    const std::uint64_t freed = leases[0]->serial;
    for (auto& l : leases)
        if (l && l->serial == freed) l.release();  // that resource is now empty
    auto next = pool.acquire();
    CHECK(next->serial == freed);
}

TEST_CASE("a waiter in shared mode is served when a lease place frees up")
{
    Fixture f;
    PoolOptions o = f.options(1);
    o.fairness_window = 0us;
    FakePool pool{f.adapter(LeaseMode::shared(2)), o};
    auto a = pool.acquire();
    auto b = pool.acquire();
    std::thread waiter([&] { CHECK(pool.acquire({.timeout = 5s})->serial == a->serial); });
    REQUIRE(testing::eventually([&] { return pool.stats().waiting == 1; }));
    b.release();
    waiter.join();
}

TEST_CASE("a shared resource marked broken takes no new leases and is destroyed when its last holder lets go")
{
    Fixture f;
    FakePool pool{f.adapter(LeaseMode::shared(4)), f.options(2)};
    auto a = pool.acquire();
    auto b = pool.acquire();
    const std::uint64_t bad = a->serial;
    a.mark_broken();
    a.release();
    CHECK(f.fake->destroyed() == 0);  // b still uses it
    auto c = pool.acquire();
    CHECK(c->serial != bad);
    b.release();
    CHECK(f.fake->destroyed() == 1);
    CHECK(pool.stats().destroyed[DestroyReason::broken] == 1);
}

TEST_CASE("a shared resource due for retirement is replaced make-before-break")
{
    Fixture f;
    PoolOptions o = f.options(2);
    o.max_lifetime = 10min;
    o.idle_timeout = 0ms;
    o.lifetime_jitter = 0;
    FakePool pool{f.adapter(LeaseMode::shared(8)), o};
    auto old_lease = pool.acquire();
    const std::uint64_t old_serial = old_lease->serial;
    f.clock->advance(11min);
    pool.run_maintenance();
    // The old one keeps taking leases until its replacement is ready.
    REQUIRE(testing::eventually([&] { return f.fake->created() == 2; }));
    REQUIRE(testing::eventually([&] {
        for (const auto& r : pool.stats().resources)
            if (r.retiring) return true;
        return false;
    }));
    auto fresh = pool.acquire();
    CHECK(fresh->serial != old_serial);
    CHECK(static_cast<bool>(old_lease));  // never taken away from its holder
    old_lease.release();
    CHECK(pool.stats().destroyed[DestroyReason::lifetime] == 1);
    CHECK(f.fake->live() == 1);
}
