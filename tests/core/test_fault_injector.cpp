// FaultInjector: every scripted fault observed through a real Pool, the
// wrapper's transparency (same hooks as the wrapped adapter), and its counters.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;
using testing::FaultCounters;
using testing::FaultInjector;
using testing::FaultScript;
using testing::InjectedFault;

namespace {

using Faulty = FaultInjector<FakeAdapter>;
static_assert(Adapter<Faulty>);

/// An adapter with no optional hook at all, and a move-only resource.
struct BareAdapter {
    using Resource = std::unique_ptr<int>;
    std::shared_ptr<std::atomic<int>> made = std::make_shared<std::atomic<int>>(0);
    Resource create(Deadline) { return std::make_unique<int>(++*made); }
};
static_assert(Adapter<FaultInjector<BareAdapter>>);
static_assert(!detail::HasIsBroken<FaultInjector<BareAdapter>>);
static_assert(!detail::HasValidate<FaultInjector<BareAdapter>>);
static_assert(!detail::HasReset<FaultInjector<BareAdapter>>);
static_assert(!detail::HasDestroy<FaultInjector<BareAdapter>>);
static_assert(!detail::HasLeaseMode<FaultInjector<BareAdapter>>);

/// Only some hooks, a const is_broken, and an interrupt hook.
struct PartialAdapter {
    using Resource = std::unique_ptr<int>;
    std::shared_ptr<std::atomic<int>> interrupted = std::make_shared<std::atomic<int>>(0);
    Resource create(Deadline) { return std::make_unique<int>(7); }
    bool is_broken(const Resource& r) const noexcept { return *r < 0; }
    void interrupt(Resource&) noexcept { ++*interrupted; }
};
template <class A>
concept HasInterruptHook = requires(A& a, typename A::Resource& r) { a.interrupt(r); };
static_assert(detail::HasIsBroken<FaultInjector<PartialAdapter>>);
static_assert(!detail::HasValidate<FaultInjector<PartialAdapter>>);
static_assert(HasInterruptHook<FaultInjector<PartialAdapter>>);
static_assert(!HasInterruptHook<FaultInjector<BareAdapter>>);

struct FaultFixture : Fixture {
    std::shared_ptr<FaultScript> script = std::make_shared<FaultScript>();
    Faulty faulty(LeaseMode mode = LeaseMode::exclusive()) const { return Faulty{adapter(mode), script}; }
};

} // namespace

TEST_CASE("the 3rd create fails with the scripted message; the others work")
{
    FaultFixture f;
    Pool pool{f.faulty(), f.options(4)};
    f.script->fail_create_number(3, "db down: connection refused");
    auto first = pool.acquire();
    auto second = pool.acquire();
    auto third = pool.acquire({.timeout = 2s});  // create #3 fails (transient): #4 serves it after the back-off
    auto fourth = pool.acquire();                // create #5 is fine too
    const FaultCounters c = f.script->counters();
    CHECK(c.create_calls == 5);
    CHECK(c.creates_failed == 1);
    CHECK(f.fake->create_calls() == 4);  // the failed call never reached the real adapter
    CHECK(pool.stats().create_failures == 1);
    CHECK(pool.stats().last_create_error == "db down: connection refused");
}

TEST_CASE("the next N creates fail, then creation recovers")
{
    FaultFixture f;
    Pool pool{f.faulty(), f.options(2)};
    f.script->fail_next_creates(2, "refused");
    CHECK(static_cast<bool>(pool.acquire({.timeout = 2s})));  // retried past both failures
    CHECK(f.script->counters().creates_failed == 2);
    CHECK(pool.stats().create_failures == 2);
}

TEST_CASE("a create scripted to fail fatally fails the acquire at once, with the injected fault as its cause")
{
    FaultFixture f;
    PoolOptions o = f.options(2);
    o.logger = [](LogLevel, std::string_view) {};
    Pool pool{f.faulty(), o};
    f.script->fail_next_creates_fatally(1, "db: password authentication failed");
    const auto start = SteadyClock::now();
    try {
        (void)pool.acquire({.timeout = 5s});
        FAIL("expected CreateFailed");
    } catch (const CreateFailed& e) {
        CHECK(ms_since(start) < 1000);
        CHECK(e.last_error() == "db: password authentication failed");
        const auto* fault = e.cause_as<InjectedFault>();
        REQUIRE(fault != nullptr);
        CHECK(fault->fatal());
    }
    CHECK(f.script->counters().creates_failed == 1);
    CHECK(f.fake->create_calls() == 0);
}

TEST_CASE("a hung validate ends at the deadline and the acquire times out while validating")
{
    FaultFixture f;
    PoolOptions o = f.options(1);
    o.validate_after_idle = 0ms;  // validate every borrow
    Pool pool{f.faulty(), o};
    pool.acquire().release();
    f.script->hang_validations(true);
    const auto start = SteadyClock::now();
    try {
        (void)pool.acquire({.timeout = 100ms});
        FAIL("expected AcquireTimeout");
    } catch (const AcquireTimeout& e) {
        CHECK(e.phase() == AcquirePhase::validating);
    }
    const auto took = ms_since(start);
    CHECK(took >= 100);
    CHECK(took <= 100 + 400);
    CHECK(f.script->counters().validations_failed == 1);
    CHECK(f.fake->validate_calls() == 0);  // the real validate was never reached
    CHECK(testing::eventually([&] { return pool.stats().destroyed[DestroyReason::validation] == 1; }));

    f.script->hang_validations(false);
    CHECK(static_cast<bool>(pool.acquire()));
}

TEST_CASE("the next N validations fail and the resources are replaced")
{
    FaultFixture f;
    PoolOptions o = f.options(2);  // room for the replacement while the failed one is destroyed
    o.validate_after_idle = 0ms;
    Pool pool{f.faulty(), o};
    std::uint64_t first = 0;
    { first = pool.acquire()->serial; }
    f.script->fail_next_validations(1);
    {
        auto lease = pool.acquire();
        CHECK(lease->serial != first);
    }
    const PoolStats s = pool.stats();
    CHECK(s.validation_failures == 1);
    CHECK(s.destroyed[DestroyReason::validation] == 1);
}

TEST_CASE("a validation delayed within the deadline passes; one delayed past it fails")
{
    FaultFixture f;
    PoolOptions o = f.options(2);  // room for the replacement while the failed one is destroyed
    o.validate_after_idle = 0ms;
    o.validation_timeout = 200ms;
    Pool pool{f.faulty(), o};
    pool.acquire().release();
    f.script->delay_validations(20ms);
    const auto start = SteadyClock::now();
    CHECK(static_cast<bool>(pool.acquire()));
    CHECK(ms_since(start) >= 20);
    CHECK(pool.stats().validation_failures == 0);

    f.script->delay_validations(1000ms);
    auto lease = pool.acquire({.timeout = 2s});  // the slow one is replaced at its 200 ms deadline
    CHECK(pool.stats().validation_failures == 1);
    CHECK(f.fake->validate_calls() == 1);  // only the first delayed validation reached the real adapter
}

TEST_CASE("broken on the next return: the resource is destroyed, not kept")
{
    FaultFixture f;
    Pool pool{f.faulty(), f.options(2)};
    {
        auto lease = pool.acquire();
        f.script->break_next_checks(1);
    }
    PoolStats s = pool.stats();
    CHECK(s.destroyed[DestroyReason::broken] == 1);
    CHECK(s.idle == 0);
    CHECK(f.fake->destroyed() == 1);
    CHECK(f.script->counters().broken_reported == 1);
    {
        auto lease = pool.acquire();  // a fresh one; the script is spent
    }
    s = pool.stats();
    CHECK(s.idle == 1);
    CHECK(s.destroyed.total() == 1);
}

TEST_CASE("broken on the next borrow: the idle resource is replaced")
{
    FaultFixture f;
    Pool pool{f.faulty(), f.options(2)};
    std::uint64_t first = 0;
    { first = pool.acquire()->serial; }
    f.script->break_next_checks(1);
    auto lease = pool.acquire();
    CHECK(lease->serial != first);
    CHECK(pool.stats().destroyed[DestroyReason::broken] == 1);
}

TEST_CASE("a throwing reset destroys the resource")
{
    FaultFixture f;
    Pool pool{f.faulty(), f.options(2)};
    std::uint64_t first = 0;
    {
        auto lease = pool.acquire();
        first = lease->serial;
        f.script->fail_next_resets(1);
    }
    CHECK(pool.stats().destroyed[DestroyReason::broken] == 1);
    CHECK(f.fake->reset_calls() == 0);  // the scripted throw came first
    const FaultCounters c = f.script->counters();
    CHECK(c.reset_calls == 1);
    CHECK(c.resets_failed == 1);
    CHECK(c.destroy_calls == 1);
    auto lease = pool.acquire();
    CHECK(lease->serial != first);
    CHECK(f.fake->violations().empty());
}

TEST_CASE("a delayed create takes its delay; a hung create fails at its deadline")
{
    FaultFixture f;
    PoolOptions o = f.options(2);
    o.create_timeout = 150ms;
    Pool pool{f.faulty(), o};

    SUBCASE("delay within the deadline")
    {
        f.script->delay_creates(30ms);
        const auto start = SteadyClock::now();
        CHECK(static_cast<bool>(pool.acquire()));
        CHECK(ms_since(start) >= 30);
    }
    SUBCASE("hang until the create deadline")
    {
        f.script->hang_creates(true);
        const auto start = SteadyClock::now();
        try {
            // Each hung create fails at its deadline and is retried; the caller gives up at its own.
            (void)pool.acquire({.timeout = 1s});
            FAIL("expected CreateFailed");
        } catch (const CreateFailed& e) {
            CHECK(e.last_error() == "injected: create hung until its deadline");
        }
        const auto took = ms_since(start);
        CHECK(took >= 1000);  // the caller's deadline, not the first create's (150 ms)
        CHECK(took < 1000 + 600);
        CHECK(f.fake->create_calls() == 0);
    }
}

TEST_CASE("release_hangs ends a hung create at once")
{
    FaultFixture f;
    PoolOptions o = f.options(1);
    o.create_timeout = 10s;
    Pool pool{f.faulty(), o};
    f.script->hang_creates(true);
    std::atomic<bool> served{false};
    std::jthread caller([&] {
        // The released create fails (transient); the retry no longer hangs and serves the caller.
        auto lease = pool.acquire({.timeout = 10s});
        served = true;
    });
    REQUIRE(testing::eventually([&] { return f.script->counters().create_calls == 1; }));
    const auto start = SteadyClock::now();
    f.script->release_hangs();
    REQUIRE(testing::eventually([&] { return served.load(); }));
    CHECK(ms_since(start) < 2000);
    caller.join();
    CHECK(f.script->counters().creates_failed == 1);
    CHECK(static_cast<bool>(pool.acquire()));  // no longer hanging
}

TEST_CASE("over an adapter with no optional hooks: compiles, works, and creation faults still fire")
{
    auto script = std::make_shared<FaultScript>();
    BareAdapter bare;
    PoolOptions o;
    o.max_size = 2;
    o.background_housekeeping = false;
    Pool pool{FaultInjector{bare, script}, o};
    {
        auto lease = pool.acquire();
        CHECK(**lease == 1);
        script->break_next_checks(1);  // no is_broken hook: the pool never asks
        script->fail_next_resets(1);   // no reset hook either
    }
    CHECK(pool.stats().idle == 1);
    CHECK(pool.stats().destroyed.total() == 0);

    script->clear();
    auto held = pool.acquire();
    script->fail_next_creates_fatally(1, "bare: refused");  // fatal, so it fails the acquire at once
    try {
        (void)pool.acquire({.timeout = 1s});
        FAIL("expected CreateFailed");
    } catch (const CreateFailed& e) {
        CHECK(e.last_error() == "bare: refused");
    }
    const FaultCounters c = script->counters();
    CHECK(c.is_broken_calls == 0);
    CHECK(c.reset_calls == 0);
    CHECK(c.create_calls == 2);
    CHECK(*bare.made == 1);
}

TEST_CASE("hooks present in the wrapped adapter are forwarded, including lease mode and interrupt")
{
    SUBCASE("shared lease mode")
    {
        FaultFixture f;
        Pool pool{f.faulty(LeaseMode::shared(3)), f.options(1)};
        auto a = pool.acquire();
        auto b = pool.acquire();
        CHECK(a->serial == b->serial);  // one resource, two leases
        CHECK(pool.stats().leases == 2);
    }
    SUBCASE("a partial adapter")
    {
        auto script = std::make_shared<FaultScript>();
        FaultInjector<PartialAdapter> faulty{PartialAdapter{}, script};
        auto r = faulty.create(deadline_after(1s));
        CHECK_FALSE(faulty.is_broken(r));
        script->break_next_checks(1);
        CHECK(faulty.is_broken(r));
        CHECK_FALSE(faulty.is_broken(r));
        faulty.interrupt(r);
        CHECK(*faulty.inner().interrupted == 1);
        CHECK(script->counters().is_broken_calls == 3);
    }
}

TEST_CASE("copies share one script; nothing scripted means nothing changes")
{
    FaultFixture f;
    Faulty a = f.faulty();
    Faulty b = a;
    CHECK(a.script() == b.script());
    Pool pool{std::move(b), f.options(2)};
    for (int i = 0; i < 10; ++i) {
        auto l1 = pool.acquire();
        auto l2 = pool.acquire();
    }
    const PoolStats s = pool.stats();
    CHECK(s.created == 2);
    CHECK(s.destroyed.total() == 0);
    CHECK(s.acquired == 20);
    const FaultCounters c = a.script()->counters();
    CHECK(c.create_calls == 2);
    CHECK(c.creates_failed + c.validations_failed + c.broken_reported + c.resets_failed == 0);
    CHECK(c.reset_calls == 20);
    CHECK(f.fake->violations().empty());
}
