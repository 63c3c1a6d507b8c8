// Regression tests for core bugs the stress suites found, one minimal case
// each, so a regression shows without running the stress suites. All five
// failed at 2740dba (the line numbers below are that commit's) and pass since
// b9a3b12. The first, second, fourth and fifth are deterministic; the third
// is a race, amplified over a minimum number of leases (scaled for
// sanitizers), which a run must reach, however busy the machine.
#include "stress_support.hpp"

namespace {

using namespace std::chrono_literals;
using respool::testing::FakeAdapter;
using respool::testing::FakeController;
using respool::testing::ManualClock;

respool::PoolOptions quiet(respool::PoolOptions o)
{
    o.logger = [](respool::LogLevel, std::string_view) {};
    return o;
}

} // namespace

// Found by S2/S5 (validate_after_idle = 0) and S1: try_acquire's deadline is
// "now", so `checked_out` (core/src/pool_core_acquire.cpp:151) discards a
// resource whose validation succeeded because the deadline has passed, and
// then throws AcquireTimeout (line 170). pool.hpp promises try_acquire
// "throws only PoolClosed" and "still runs the borrow checks".
TEST_CASE("regression: try_acquire of a healthy idle resource that needs validation throws AcquireTimeout")
{
    auto c = std::make_shared<FakeController>();
    respool::PoolOptions o;
    o.max_size = 2;
    o.validate_after_idle = 0ms;  // validate every borrow but a fresh resource's first
    respool::Pool pool{FakeAdapter{c}, quiet(o)};
    { auto warm = pool.acquire(); }  // one idle resource, no longer fresh

    std::optional<respool::Lease<FakeAdapter>> lease;
    CHECK_NOTHROW(lease = pool.try_acquire());
    CHECK(lease.has_value());  // it is idle and healthy: try_acquire should hand it out
    CHECK(c->validate_calls() == 1);
}

// Found by S1 (shared mode and broken_on_check): when the borrow check fails,
// `checked_out` retries with `acquire_slow` (core/src/pool_core_acquire.cpp:174)
// even for try_acquire (may_wait == false): try_acquire joins the wait queue
// and, its deadline being "now", throws AcquireTimeout.
TEST_CASE("regression: try_acquire that meets a broken idle resource queues and throws AcquireTimeout")
{
    auto c = std::make_shared<FakeController>();
    respool::PoolOptions o;
    o.max_size = 2;
    respool::Pool pool{FakeAdapter{c}, quiet(o)};
    { auto warm = pool.acquire(); }
    c->break_next_checks(1);  // the idle resource is found broken on borrow

    std::optional<respool::Lease<FakeAdapter>> lease;
    CHECK_NOTHROW(lease = pool.try_acquire());  // nullopt, or a lease: never a wait, never a timeout
    CHECK(pool.stats().timeouts == 0);
}

// Found by S1 shared mode ("leases outside [in_use, in_use * cap]", then a
// double free under load) and S1 exclusive ("live resources != idle +
// in_use"): in `acquire_slow`, a waiter at the head takes a resource
// (core/src/pool_core_acquire.cpp:213) and then, to unregister its stop
// callback, releases the lock (lines 222-226) before leasing it (line 234).
// In that window the taken resource is neither idle nor in use; in shared
// mode other callers can fill it to its cap, or it can retire and be
// destroyed, and the waiter then leases it anyway: cap exceeded, or a lease
// on a destroyed resource.
TEST_CASE("regression: a shared resource taken by a waiter with a stop token can exceed its cap")
{
    constexpr std::size_t cap = 2;
    auto c = std::make_shared<FakeController>();
    respool::PoolOptions o;
    o.max_size = 1;
    o.fairness_window = std::chrono::seconds(10);  // a return wakes the head waiter, who then takes it itself
    respool::Pool pool{FakeAdapter{c, respool::LeaseMode::shared(cap)}, quiet(o)};

    std::atomic<int> holders{0}, most{0};
    stress::WorkBudget budget(stress::scaled(std::uint64_t{100'000}));
    std::stop_source never;  // can stop, never does: the waiter registers a stop callback
    auto run = [&] {
        while (!budget.over() && most.load() <= static_cast<int>(cap)) {
            auto lease = pool.acquire({.timeout = 10s, .stop = never.get_token()});
            const int now = holders.fetch_add(1) + 1;
            for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
            }
            std::this_thread::yield();
            holders.fetch_sub(1);
            budget.add();
        }
    };
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < 3; ++i) threads.emplace_back(run);
    }
    MESSAGE(budget.describe(), " (here: leases); most holders of the one resource at once: ", most.load());
    CHECK(most.load() <= static_cast<int>(cap));
    if (most.load() <= static_cast<int>(cap)) CHECK_MESSAGE(budget.reached(), "time cap hit: ", budget.describe());
    CHECK(c->violations().empty());
}

// Found by reading run_maintenance while writing S5: in shared mode an
// expired resource that is still leased gets `replacement_requested` and
// `++pending_replacements_` (core/src/pool_core_maintenance.cpp:203-205).
// If it is then destroyed for another reason (returned broken here, or idle
// eviction) before its replacement is ready, nothing decrements
// `pending_replacements_`: `deliver_locked` (line 146) finds no old resource
// to retire, and `creation_demand_locked` (line 29) keeps asking for
// `pending_replacements_ - creating_` more, so the pool fills to max_size
// with resources nobody asked for (and, with idle eviction, churns forever).
TEST_CASE("regression: a shared resource destroyed while its replacement is pending leaves the pool creating")
{
    auto clock = std::make_shared<ManualClock>();
    auto c = std::make_shared<FakeController>();
    respool::PoolOptions o;
    o.max_size = 4;
    o.max_lifetime = std::chrono::seconds(10);
    o.lifetime_jitter = 0;
    o.idle_timeout = 0ms;
    o.create_timeout = std::chrono::seconds(5);
    o.background_housekeeping = false;
    o.clock = clock;
    respool::Pool pool{FakeAdapter{c, respool::LeaseMode::shared(2)}, quiet(o)};

    auto lease = pool.acquire();
    // The replacement stays in creation until we let it finish: a delay far
    // past the test, ended early by release_hangs() (a delay released goes
    // on and succeeds; a released hang would fail).
    c->set_create_delay(std::chrono::seconds(60));
    clock->advance(std::chrono::seconds(11));
    pool.run_maintenance();  // expired while leased: make-before-break begins
    REQUIRE(respool::testing::eventually([&] { return c->creates_in_flight() == 1; }));
    lease.mark_broken();
    lease.release();  // the old resource is destroyed now, before its replacement exists
    c->set_create_delay(0ms);
    c->release_hangs();

    auto settled = [&] { return pool.stats().creating == 0 && c->creates_in_flight() == 0; };
    REQUIRE(respool::testing::eventually(settled));
    // A creator may pause between two creations with `creating == 0`; a
    // housekeeping pass asks for creations again if any are still wanted.
    pool.run_maintenance();
    REQUIRE(respool::testing::eventually(settled));
    const auto s = pool.stats();
    CHECK(c->created() == 2);  // the first resource and its one replacement
    CHECK(s.total == 1);
}

// Found by S5 (timeouts with lifetimes of a few ms): `take_available_locked`
// puts an expired idle resource on the caller's `doomed` list
// (core/src/pool_core_acquire.cpp:80), which is destroyed only when the
// acquire returns. When nothing else is idle the caller goes on to wait in
// `acquire_slow` (line 49, and again at 213 and 174) still holding that list:
// the expired resource keeps counting in `total_` for the caller's whole
// timeout, so no replacement can be created and the caller times out on a
// pool that has room.
TEST_CASE("regression: an acquire that finds only an expired idle resource waits out its timeout")
{
    auto clock = std::make_shared<ManualClock>();
    auto c = std::make_shared<FakeController>();
    respool::PoolOptions o;
    o.max_size = 1;
    o.max_lifetime = std::chrono::seconds(10);
    o.lifetime_jitter = 0;
    o.idle_timeout = 0ms;
    o.background_housekeeping = false;  // nobody evicts it first
    o.clock = clock;
    respool::Pool pool{FakeAdapter{c}, quiet(o)};
    { auto first = pool.acquire(); }
    clock->advance(std::chrono::seconds(11));  // the idle resource is now past its lifetime

    std::optional<respool::Lease<FakeAdapter>> lease;
    CHECK_NOTHROW(lease = pool.acquire({.timeout = 300ms}));  // expired one destroyed, a new one made
    CHECK(c->created() == 2);
}
