// The breaker opens on sustained failure only (a count of consecutive
// failures AND a time span, `circuit_failure_window`): a blip costs callers a
// wait within their deadlines, a long outage still fails fast. Includes two
// tests of other pools, ported to respool with the fake adapter (issue 24).
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <respool/detail/creation_governor.hpp>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;
using respool::detail::CreationGovernor;
using T = CreationGovernor::Transition;

namespace {
CreationGovernor::Config windowed(std::int64_t window)
{
    CreationGovernor::Config c;
    c.backoff_initial = 100;
    c.backoff_max = 1'000;
    c.threshold = 5;
    c.open_time = 10'000;
    c.failure_window = window;
    c.max_concurrent = 4;
    return c;
}
} // namespace

TEST_CASE("governor: the threshold alone does not open the breaker before the failures span the window")
{
    CreationGovernor g(windowed(5'000), 3);
    for (int i = 0; i < 20; ++i) CHECK(g.on_failure(i * 100) == T::none);  // 20 failures within 1.9 k ticks
    CHECK(g.state(1'900) == CircuitState::closed);
    CHECK(g.run_started_at() == 0);
    // Still backing off, so a caller's wait is paced, not a retry loop.
    std::int64_t retry = 0;
    CHECK_FALSE(g.try_start(1'900, 0, retry));
    CHECK(retry > 1'900);
    // The first failure at or past the window's end opens it.
    CHECK(g.on_failure(4'999) == T::none);
    CHECK(g.on_failure(5'000) == T::opened);
    CHECK(g.fails_fast(5'001));
}

TEST_CASE("governor: the window needs the count too; a proven resource starts a new run")
{
    CreationGovernor g(windowed(1'000), 9);
    CHECK(g.on_failure(0) == T::none);
    CHECK(g.on_failure(50'000) == T::none);  // long span, but only 2 failures
    CHECK(g.on_failure(60'000) == T::none);
    CHECK(g.on_failure(70'000) == T::none);
    CHECK(g.on_failure(80'000) == T::opened);  // the fifth

    CreationGovernor h(windowed(1'000), 9);
    for (int i = 0; i < 4; ++i) h.on_failure(i);
    std::int64_t retry = 0;
    CHECK(h.try_start(10'000, 0, retry));
    h.on_success(10'000);
    h.on_proven();  // the run is over: the next failure starts a new one
    CHECK(h.on_failure(20'000) == T::none);
    CHECK(h.run_started_at() == 20'000);
    for (int i = 1; i < 5; ++i) CHECK(h.on_failure(20'000 + i) == T::none);  // 5 failures, 4 ticks apart
    CHECK(h.on_failure(21'000) == T::opened);
}

TEST_CASE("governor: resources broken on arrival keep the run going (on_success alone does not end it)")
{
    CreationGovernor g(windowed(1'000), 4);
    std::int64_t retry = 0;
    for (int i = 0; i < 4; ++i) {
        REQUIRE(g.try_start(g.next_allowed(), 0, retry));
        g.on_success(g.next_allowed());
        CHECK(g.on_failure(i * 300) == T::none);  // broke before it proved itself
    }
    CHECK(g.run_started_at() == 0);
    CHECK(g.on_failure(1'200) == T::opened);  // 5 failures over 1.2 k ticks
}

TEST_CASE("governor: window 0 keeps the count-only breaker")
{
    CreationGovernor g(windowed(0), 1);
    for (int i = 0; i < 4; ++i) CHECK(g.on_failure(0) == T::none);
    CHECK(g.on_failure(0) == T::opened);
}

TEST_CASE("options: circuit_failure_window must not be negative, and is named")
{
    PoolOptions o;
    o.circuit_failure_window = std::chrono::milliseconds(-1);
    try {
        detail::validate_options(o);
        FAIL("expected InvalidOptions");
    } catch (const InvalidOptions& e) {
        CHECK(std::string(e.what()).find("circuit_failure_window") != std::string::npos);
    }
    o.circuit_failure_window = std::chrono::milliseconds(0);
    CHECK_NOTHROW(detail::validate_options(o));
    CHECK(PoolOptions{}.circuit_failure_window == std::chrono::seconds(2));
}

// HikariCP, TestConnectionTimeoutRetry.testConnectionRetries: every connect
// fails; the caller waits its whole connection timeout (700 ms here) and then
// gets the creation's error - not a CircuitOpen after about 0.5 s, which the
// count-only breaker gave after 5 quick failures.
TEST_CASE("peer test (HikariCP testConnectionRetries): every connect fails, the caller waits its whole timeout and gets the create error")
{
    Fixture f;
    PoolOptions o;  // the defaults, as the peer test uses its pool's defaults
    o.name = "hikari-retries";
    o.max_size = 1;
    o.min_idle = 0;
    o.acquire_timeout = 700ms;
    o.validation_timeout = 700ms;
    o.logger = [](LogLevel, std::string_view) {};
    FakePool pool{f.adapter(), o};
    f.fake->fail_next_creates(1'000'000, "fake: connection refused");

    const auto start = SteadyClock::now();
    try {
        auto lease = pool.acquire();
        FAIL("should not have been able to get a resource");
    } catch (const CircuitOpen&) {
        FAIL("the breaker opened within the caller's 700 ms: a blip was turned into an error");
    } catch (const CreateFailed& e) {
        const auto elapsed = ms_since(start);
        CHECK(elapsed >= 700);  // waited long enough for its timeout
        CHECK(e.last_error() == "fake: connection refused");
    }
    CHECK(f.fake->create_calls() >= 3);  // and it was retried meanwhile (50, 100, 200 ms back-off...)
    CHECK(pool.stats().circuit == CircuitState::closed);
}

// bb8, test_broken_connections_dont_starve_pool: the first 5 connections are
// broken (found so when given back), then they are fine; all 10 callers, each
// with a 10 s deadline, are served.
TEST_CASE("peer test (bb8 test_broken_connections_dont_starve_pool): 5 broken connections, then fine; all 10 callers are served")
{
    Fixture f;
    PoolOptions o;
    o.name = "bb8-broken";
    o.max_size = 5;
    o.acquire_timeout = 10s;
    o.logger = [](LogLevel, std::string_view) {};
    FakePool pool{f.adapter(), o};
    f.fake->break_next_checks(5);

    std::atomic<int> served{0}, failed{0};
    {
        std::vector<std::jthread> callers;
        for (int i = 0; i < 10; ++i)
            callers.emplace_back([&] {
                try {
                    auto lease = pool.acquire();
                    ++served;
                } catch (const Error& e) {
                    MESSAGE("caller failed: ", e.what());
                    ++failed;
                }
            });
    }
    CHECK(served.load() == 10);
    CHECK(failed.load() == 0);
    CHECK(pool.stats().circuit_opened == 0);
    CHECK(f.fake->violations().empty());
}

// The other half of the promise: an outage that lasts is still recognised,
// and then every caller learns at once instead of waiting out its deadline.
TEST_CASE("a sustained outage (every create fails for seconds) still opens the breaker with the defaults, and acquires then fail fast")
{
    Fixture f;
    PoolOptions o;
    o.name = "long-outage";
    o.max_size = 2;
    o.logger = [](LogLevel, std::string_view) {};
    FakePool pool{f.adapter(), o};
    f.fake->fail_next_creates(1'000'000, "fake: connection refused");

    // One caller with a long deadline rides through the window; the breaker
    // opens once the failures span circuit_failure_window (2 s) and fails it.
    const auto start = SteadyClock::now();
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 30s}), CircuitOpen);
    const auto waited = ms_since(start);
    MESSAGE("the breaker opened after ", waited, " ms");
    CHECK(waited >= 2'000);
    CHECK(waited < 15'000);  // generous: the back-off is at most 1 s per step
    const auto t0 = SteadyClock::now();
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 30s}), CircuitOpen);
    CHECK(ms_since(t0) < 500);
    CHECK(pool.stats().circuit_opened == 1);
}
