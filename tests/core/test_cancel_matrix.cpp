// S6: cancel or time out at every point an acquire can wait — queued behind a
// holder, waiting for a creation, validating — and check nothing is lost.
#include <doctest/doctest.h>

#include <functional>
#include <thread>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {
enum class Ending { cancel, timeout };

// Ends one acquire by `how` once it waits at the point under test: a cancel
// is sent when `reached()` says the acquire is there (not after a guessed
// sleep); a timeout (300 ms, long enough to get there on a loaded machine)
// must name the phase it ended in. Returns the exception's code.
// After a cancel the fake's delays are released, so a create or validate
// scripted to take 20 s goes on at once (the adapter call is not interrupted).
std::error_code end_acquire(FakePool& pool, FakeController& fake, Ending how, const std::function<bool()>& reached,
                            AcquirePhase phase)
{
    std::stop_source stop;
    std::jthread canceller;
    if (how == Ending::cancel)
        canceller = std::jthread([&] {
            CHECK(testing::eventually(reached, 10s));
            stop.request_stop();
            fake.release_hangs();
        });
    try {
        const auto timeout = how == Ending::cancel ? 30s : 300ms;
        (void)pool.acquire({.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout),
                            .stop = stop.get_token()});
    } catch (const AcquireTimeout& e) {
        CHECK(e.phase() == phase);  // it did wait at the point under test
        return e.code();
    } catch (const Error& e) {
        return e.code();
    }
    return {};
}

std::error_code expected(Ending how)
{
    return make_error_code(how == Ending::cancel ? errc::cancelled : errc::acquire_timeout);
}

void check_nothing_lost(FakePool& pool, FakeController& fake)
{
    REQUIRE(testing::eventually([&] { return pool.stats().creating == 0; }));
    const PoolStats s = pool.stats();
    CHECK(s.waiting == 0);
    CHECK(s.leases == 0);
    CHECK(s.in_use == 0);
    CHECK(s.idle == static_cast<std::size_t>(fake.live()));
    CHECK(fake.violations().empty());
    auto lease = pool.acquire({.timeout = 2s});  // the pool still serves
    CHECK(static_cast<bool>(lease));
}
} // namespace

TEST_CASE("cancel or time out while queued behind a holder")
{
    for (Ending how : {Ending::cancel, Ending::timeout}) {
        Fixture f;
        FakePool pool{f.adapter(), f.options(1)};
        std::optional<FakeLease> held{pool.acquire()};
        CHECK(end_acquire(pool, *f.fake, how, [&] { return pool.stats().waiting == 1; }, AcquirePhase::queued) ==
              expected(how));
        held.reset();
        check_nothing_lost(pool, *f.fake);
        CHECK(f.fake->created() == 1);
    }
}

TEST_CASE("cancel or time out while a resource is being created: it goes idle when done")
{
    for (Ending how : {Ending::cancel, Ending::timeout}) {
        Fixture f;
        FakePool pool{f.adapter(), f.options(1)};
        f.fake->set_create_delay(20s);  // ended by release_hangs() below, after the acquire gave up
        CHECK(end_acquire(pool, *f.fake, how, [&] { return f.fake->creates_in_flight() == 1; }, AcquirePhase::creating) ==
              expected(how));
        f.fake->set_create_delay(0ms);
        f.fake->release_hangs();  // the delayed create goes on and succeeds
        REQUIRE(testing::eventually([&] { return pool.stats().idle == 1; }));
        check_nothing_lost(pool, *f.fake);
        CHECK(f.fake->created() == 1);
    }
}

TEST_CASE("cancel or time out while validating: the resource is given back or destroyed")
{
    for (Ending how : {Ending::cancel, Ending::timeout}) {
        Fixture f;
        PoolOptions o = f.options(1);
        o.validate_after_idle = 0ms;
        FakePool pool{f.adapter(), o};
        pool.acquire().release();  // one used resource, idle
        f.fake->set_validate_delay(20s);
        const int validations_before = f.fake->validate_calls();
        CHECK(end_acquire(pool, *f.fake, how, [&] { return f.fake->validate_calls() > validations_before; },
                          AcquirePhase::validating) ==
              expected(how));
        f.fake->set_validate_delay(0ms);
        f.fake->release_hangs();
        check_nothing_lost(pool, *f.fake);
    }
}

TEST_CASE("time out while validating hangs: the acquire still ends at its deadline")
{
    Fixture f;
    PoolOptions o = f.options(1);
    o.validate_after_idle = 0ms;
    FakePool pool{f.adapter(), o};
    pool.acquire().release();
    f.fake->hang_validations(true);
    const auto start = SteadyClock::now();
    try {
        (void)pool.acquire({.timeout = 100ms});
        FAIL("expected a timeout");
    } catch (const AcquireTimeout& e) {
        CHECK(e.phase() == AcquirePhase::validating);
    }
    const auto took = ms_since(start);
    CHECK(took >= 100);
    CHECK(took <= 100 + 300);
    f.fake->release_hangs();
    check_nothing_lost(pool, *f.fake);
    CHECK(pool.stats().destroyed[DestroyReason::validation] == 1);
}
