// The creation governor's rules, driven with plain numbers (nanoseconds).
#include <doctest/doctest.h>

#include <respool/detail/creation_governor.hpp>

using respool::CircuitState;
using respool::detail::CreationGovernor;
using T = CreationGovernor::Transition;

namespace {
CreationGovernor::Config config()
{
    CreationGovernor::Config c;
    c.backoff_initial = 100;
    c.backoff_max = 1'000;
    c.threshold = 5;
    c.open_time = 10'000;
    c.max_concurrent = 4;
    return c;
}
} // namespace

TEST_CASE("back-off doubles per consecutive failure, within its jitter bounds, up to the maximum")
{
    for (std::uint64_t seed = 1; seed <= 50; ++seed) {
        auto c = config();
        c.threshold = 0;  // no breaker: see the whole sequence
        CreationGovernor g(c, seed);
        std::int64_t nominal = 100;
        for (int i = 0; i < 8; ++i) {
            g.on_failure(0);
            CHECK(g.last_backoff() >= nominal / 2);
            CHECK(g.last_backoff() <= nominal);
            nominal = std::min<std::int64_t>(nominal * 2, 1'000);
        }
        std::int64_t retry = 0;
        CHECK_FALSE(g.try_start(0, 0, retry));
        CHECK(retry == g.last_backoff());
        CHECK(g.try_start(retry, 0, retry));
        g.on_success(retry);
        CHECK(g.consecutive_failures() == 8);  // a new resource has not proved itself yet
        g.on_proven();
        CHECK(g.consecutive_failures() == 0);
        CHECK(g.try_start(retry, 0, retry));
    }
}

TEST_CASE("the breaker opens after the threshold, fails fast, lets one probe through, and closes on success")
{
    CreationGovernor g(config(), 7);
    std::int64_t now = 0, retry = 0;
    for (int i = 0; i < 4; ++i) CHECK(g.on_failure(now) == T::none);
    CHECK(g.state(now) == CircuitState::closed);
    CHECK(g.on_failure(now) == T::opened);
    CHECK(g.state(now) == CircuitState::open);
    CHECK(g.fails_fast(now + 9'999));
    CHECK_FALSE(g.try_start(now + 5'000, 0, retry));
    CHECK(retry == 10'000);

    now = 10'000;  // half-open: exactly one probe at a time
    CHECK(g.state(now) == CircuitState::half_open);
    CHECK_FALSE(g.fails_fast(now));
    CHECK(g.concurrency(now) == 1);
    CHECK(g.try_start(now, 0, retry));
    CHECK_FALSE(g.try_start(now, 1, retry));
    CHECK(retry == CreationGovernor::never);

    CHECK(g.on_failure(now) == T::reopened);  // a failed probe re-opens for a full period
    CHECK(g.state(now + 1) == CircuitState::open);
    CHECK(g.state(now + 10'000) == CircuitState::half_open);

    now += 10'000;
    CHECK(g.try_start(now, 0, retry));
    CHECK(g.on_success(now) == T::closed);
    CHECK(g.state(now) == CircuitState::closed);
}

TEST_CASE("a probe whose resource fails before proving itself opens the breaker again at once")
{
    CreationGovernor g(config(), 5);
    for (int i = 0; i < 5; ++i) g.on_failure(0);
    std::int64_t retry = 0;
    REQUIRE(g.try_start(10'000, 0, retry));
    REQUIRE(g.on_success(10'000) == T::closed);
    CHECK(g.on_failure(10'001) == T::opened);  // broken on arrival: still the same run of failures
    CHECK(g.fails_fast(10'002));
    REQUIRE(g.try_start(20'001, 0, retry));
    REQUIRE(g.on_success(20'001) == T::closed);
    g.on_proven();
    CHECK(g.on_failure(20'002) == T::none);  // proven: a new run starts from one
    CHECK(g.consecutive_failures() == 1);
}

TEST_CASE("after recovery the pool ramps up: one creation at a time, doubling per success")
{
    CreationGovernor g(config(), 3);
    for (int i = 0; i < 5; ++i) g.on_failure(0);
    std::int64_t retry = 0;
    REQUIRE(g.try_start(10'000, 0, retry));
    REQUIRE(g.on_success(10'000) == T::closed);
    CHECK(g.concurrency(10'000) == 1);
    CHECK_FALSE(g.try_start(10'000, 1, retry));
    g.on_success(10'001);
    CHECK(g.concurrency(10'001) == 2);
    g.on_success(10'002);
    CHECK(g.concurrency(10'002) == 4);
    g.on_success(10'003);
    CHECK(g.concurrency(10'003) == 4);  // capped at max_concurrent_creates
}

TEST_CASE("the token bucket limits creations per second")
{
    auto c = config();
    c.tokens_per_tick = 1e-3;  // one per 1000 ns
    c.burst = 2;
    CreationGovernor g(c, 1);
    std::int64_t retry = 0;
    CHECK(g.try_start(0, 0, retry));
    CHECK(g.try_start(0, 0, retry));
    CHECK_FALSE(g.try_start(0, 0, retry));
    CHECK(retry > 0);
    CHECK(retry <= 1'001);
    CHECK(g.try_start(retry, 0, retry));
}
