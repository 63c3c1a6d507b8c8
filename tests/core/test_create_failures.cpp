// Transient versus fatal creation failures: a transient one is retried with
// back-off while callers wait (each until its own deadline), a fatal one
// fails every waiter at once and later acquires fast, until a creation works.
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

PoolOptions quiet(PoolOptions o)
{
    o.logger = [](LogLevel, std::string_view) {};
    return o;
}

} // namespace

TEST_CASE("a transient failure is retried: the waiter is served within its deadline once a creation works")
{
    Fixture f;
    PoolOptions o = quiet(f.options(2));
    o.create_backoff_initial = 40ms;
    FakePool pool{f.adapter(), o};
    f.fake->fail_next_creates(2, "fake: connection refused");
    const auto start = SteadyClock::now();
    auto lease = pool.acquire({.timeout = 2s});
    const auto took = ms_since(start);
    // Two pauses of [20, 40] and [40, 80] ms, then a third create that works.
    CHECK(took >= 60);
    CHECK(took <= 120 + 400);
    CHECK(f.fake->create_calls() == 3);
    const PoolStats s = pool.stats();
    CHECK(s.create_failures == 2);
    CHECK(s.timeouts == 0);
}

TEST_CASE("a lease given back while creations fail serves the waiter")
{
    Fixture f;
    PoolOptions o = quiet(f.options(2));
    o.create_backoff_initial = 20ms;
    o.create_backoff_max = 20ms;
    o.circuit_breaker_threshold = 0;  // no breaker: only the return can serve it
    FakePool pool{f.adapter(), o};
    auto held = pool.acquire();
    f.fake->fail_next_creates(100000, "fake: connection refused");
    std::atomic<long long> served_at{-1};
    const auto start = SteadyClock::now();
    std::jthread waiter([&] {
        auto lease = pool.acquire({.timeout = 3s});
        served_at = ms_since(start);
    });
    REQUIRE(testing::eventually([&] { return pool.stats().create_failures >= 2; }));
    const auto returned_at = ms_since(start);
    held.release();
    waiter.join();
    CHECK(served_at.load() >= returned_at);
    CHECK(served_at.load() <= returned_at + 400);
    CHECK(pool.stats().timeouts == 0);
}

TEST_CASE("a waiter ends at its own deadline with CreateFailed carrying the last cause, not at the first failure")
{
    Fixture f;
    PoolOptions o = quiet(f.options(2));
    o.create_backoff_initial = 20ms;
    o.create_backoff_max = 40ms;
    o.circuit_breaker_threshold = 0;
    FakePool pool{f.adapter(), o};
    f.fake->fail_next_creates(100000, "fake: connection refused by 127.0.0.1:1");
    const auto start = SteadyClock::now();
    try {
        (void)pool.acquire({.timeout = 500ms});
        FAIL("expected CreateFailed");
    } catch (const CircuitOpen&) {
        FAIL("no breaker is configured");
    } catch (const CreateFailed& e) {
        const auto took = ms_since(start);
        CHECK(took >= 500);
        CHECK(took <= 500 + 400);
        CHECK(e.code() == make_error_code(errc::create_failed));
        CHECK(e.last_error() == "fake: connection refused by 127.0.0.1:1");
        CHECK_THROWS_AS(std::rethrow_exception(e.cause()), testing::FakeError);
        const std::string what = e.what();
        CHECK(contains(what, "connection refused by 127.0.0.1:1"));
        CHECK(contains(what, "gave up after 500.0 ms"));
        CHECK(contains(what, "creation attempt(s) failed while it waited"));
        CHECK(contains(what, "of max_size 2 exist"));  // the same state as a timeout's message
    }
    const PoolStats s = pool.stats();
    CHECK(s.create_failures >= 5);  // retried all along, with back-off
    CHECK(s.create_failures <= 30);
    CHECK(s.timeouts == 0);         // a dead server, not a pool too small
}

TEST_CASE("min_idle refill failures do not fail a caller early")
{
    Fixture f;
    PoolOptions o = quiet(f.options(2));
    o.min_idle = 1;
    o.create_backoff_initial = 20ms;
    o.create_backoff_max = 20ms;
    o.circuit_breaker_threshold = 0;
    f.fake->fail_next_creates(100000, "fake: connection refused");
    FakePool pool{f.adapter(), o};
    REQUIRE(testing::eventually([&] { return pool.stats().create_failures >= 2; }));
    std::atomic<long long> served_at{-1};
    const auto start = SteadyClock::now();
    std::jthread caller([&] {
        auto lease = pool.acquire({.timeout = 3s});
        served_at = ms_since(start);
    });
    std::this_thread::sleep_for(300ms);  // failing refills and retries meanwhile
    CHECK(served_at.load() == -1);       // still waiting, not failed
    f.fake->fail_next_creates(0);
    caller.join();
    CHECK(served_at.load() >= 300);
    CHECK(served_at.load() <= 300 + 400);
}

TEST_CASE("a fatal failure fails every waiter at once; later acquires fail fast with the same cause")
{
    Fixture f;
    PoolOptions o = quiet(f.options(4));
    o.create_backoff_initial = 10s;  // no second attempt during this test's fast failures
    o.create_backoff_max = 10s;
    o.min_idle = 0;
    FakePool pool{f.adapter(), o};
    f.fake->set_create_delay(100ms);
    f.fake->fail_next_creates_fatally(2, "fake: password authentication failed for user \"app\" (SQLSTATE 28P01)");
    std::atomic<int> failed_in_window{0};
    const auto start = SteadyClock::now();
    std::vector<std::jthread> threads;
    for (int i = 0; i < 3; ++i)
        threads.emplace_back([&] {
            try {
                (void)pool.acquire({.timeout = 5s});
            } catch (const CircuitOpen&) {
            } catch (const CreateFailed& e) {
                const auto took = ms_since(start);
                if (took >= 100 && took <= 100 + 400 && contains(e.last_error(), "28P01") &&
                    contains(e.what(), "fatal"))
                    ++failed_in_window;
            }
        });
    threads.clear();
    CHECK(failed_in_window.load() == 3);  // each at the failure, none at its 5 s deadline
    const int calls = f.fake->create_calls();
    CHECK(calls >= 1);
    CHECK(calls <= 2);  // the three waiters shared the attempts (max_concurrent_creates 2)

    // The fatal state: no waiting, no new connect per acquire.
    for (int i = 0; i < 20; ++i) {
        const auto t0 = SteadyClock::now();
        try {
            (void)pool.acquire({.timeout = 5s});
            FAIL("expected CreateFailed");
        } catch (const CreateFailed& e) {
            CHECK(ms_since(t0) < 100);
            CHECK(contains(e.last_error(), "28P01"));
            CHECK(contains(e.what(), "failing fast until a creation succeeds"));
            CHECK_THROWS_AS(std::rethrow_exception(e.cause()), testing::FakeError);
        }
    }
    CHECK(f.fake->create_calls() == calls);
    CHECK(pool.stats().fast_failures == 20);
    CHECK_FALSE(pool.try_acquire().has_value());
}

TEST_CASE("fatal: one caller per back-off step waits for a new attempt, and the pool recovers once it works")
{
    Fixture f;
    PoolOptions o = quiet(f.options(4));
    o.create_backoff_initial = 200ms;
    o.create_backoff_max = 200ms;
    FakePool pool{f.adapter(), o};
    f.fake->fail_next_creates_fatally(2, "fake: database \"app\" does not exist (SQLSTATE 3D000)");
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 5s}), CreateFailed);
    CHECK(f.fake->create_calls() == 1);
    // Within the back-off: fast, no attempt.
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 5s}), CreateFailed);
    CHECK(f.fake->create_calls() == 1);
    // After it: one caller is let through, and the attempt fails fatally again (at once for it).
    std::this_thread::sleep_for(220ms);
    auto t0 = SteadyClock::now();
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 5s}), CreateFailed);
    CHECK(ms_since(t0) < 400);
    CHECK(f.fake->create_calls() == 2);
    // The cause is fixed: the next step's caller is served, and so is everyone after it.
    std::this_thread::sleep_for(220ms);
    t0 = SteadyClock::now();
    {
        auto lease = pool.acquire({.timeout = 5s});
        CHECK(ms_since(t0) < 400);
    }
    std::vector<FakeLease> leases;
    for (int i = 0; i < 4; ++i) leases.push_back(pool.acquire({.timeout = 2s}));
    CHECK(f.fake->create_calls() == 2 + 4);
}

TEST_CASE("fatal: a background min_idle refill retries one at a time and ends the fatal state")
{
    Fixture f;
    PoolOptions o = quiet(f.options(4));
    o.min_idle = 2;
    o.create_backoff_initial = 30ms;
    o.create_backoff_max = 30ms;
    o.circuit_breaker_threshold = 0;
    f.fake->fail_next_creates_fatally(5);
    FakePool pool{f.adapter(), o};
    REQUIRE(testing::eventually([&] { return pool.stats().idle == 2; }));
    CHECK(f.fake->create_calls() == 5 + 2);  // one attempt per back-off step, not one per caller
    auto lease = pool.acquire({.timeout = 1s});
    CHECK(pool.stats().create_failures == 5);
}

TEST_CASE("a transient failure after a fatal one makes waiters wait again")
{
    Fixture f;
    PoolOptions o = quiet(f.options(2));
    o.create_backoff_initial = 20ms;
    o.create_backoff_max = 20ms;
    o.circuit_breaker_threshold = 0;
    FakePool pool{f.adapter(), o};
    f.fake->fail_next_creates_fatally(1);
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 2s}), CreateFailed);
    std::this_thread::sleep_for(40ms);
    f.fake->fail_next_creates(2, "fake: the database system is starting up (SQLSTATE 57P03)");
    const auto t0 = SteadyClock::now();
    auto lease = pool.acquire({.timeout = 2s});  // let through, then retried until the third create works
    CHECK(ms_since(t0) <= 400);
    CHECK(f.fake->create_calls() == 4);
}

namespace {
// An adapter that reports fatal failures by throwing respool::FatalError,
// with no is_fatal hook.
struct MarkerAdapter {
    using Resource = int;
    std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
    int create(Deadline)
    {
        ++*calls;
        throw FatalError("marker: TLS certificate verify failed");
    }
};
static_assert(Adapter<MarkerAdapter> && !detail::HasIsFatal<MarkerAdapter>);

// An is_fatal hook that throws: treated as transient.
struct ThrowingClassifier {
    using Resource = int;
    int create(Deadline) { throw std::runtime_error("refused"); }
    bool is_fatal(const std::exception&) { throw std::logic_error("classifier broke"); }
};
static_assert(detail::HasIsFatal<ThrowingClassifier>);
} // namespace

TEST_CASE("respool::FatalError thrown by create is fatal without an is_fatal hook; a throwing hook means transient")
{
    Fixture f;
    PoolOptions o = quiet(f.options(2));
    o.create_backoff_initial = 10s;
    o.create_backoff_max = 10s;
    MarkerAdapter marker;
    Pool<MarkerAdapter> pool{marker, o};
    const auto t0 = SteadyClock::now();
    try {
        (void)pool.acquire({.timeout = 5s});
        FAIL("expected CreateFailed");
    } catch (const CreateFailed& e) {
        CHECK(ms_since(t0) < 400);
        CHECK(e.cause_as<FatalError>() != nullptr);
        CHECK(e.last_error() == "marker: TLS certificate verify failed");
    }
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 5s}), CreateFailed);
    CHECK(marker.calls->load() == 1);

    PoolOptions t = quiet(f.options(2));
    t.create_backoff_initial = 20ms;
    t.circuit_breaker_threshold = 0;
    Pool<ThrowingClassifier> transient{ThrowingClassifier{}, t};
    const auto t1 = SteadyClock::now();
    CHECK_THROWS_AS((void)transient.acquire({.timeout = 300ms}), CreateFailed);
    CHECK(ms_since(t1) >= 300);
}

TEST_CASE("the breaker still fails everyone fast once it opens on transient failures")
{
    Fixture f;
    PoolOptions o = quiet(f.options(4));
    o.create_backoff_initial = 5ms;
    o.create_backoff_max = 10ms;
    o.circuit_breaker_threshold = 3;
    o.circuit_open_time = 5s;
    // A short window (the default is 2 s): the failures are sustained well
    // before the callers' 5 s deadlines, and the point is that they all
    // learn then, not at their deadlines.
    o.circuit_failure_window = 200ms;
    FakePool pool{f.adapter(), o};
    f.fake->fail_next_creates(1000, "fake: connection refused");
    std::atomic<int> open_in_window{0};
    const auto start = SteadyClock::now();
    std::vector<std::jthread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            try {
                (void)pool.acquire({.timeout = 5s});
            } catch (const CircuitOpen& e) {
                if (ms_since(start) < 1000 && e.last_error() == "fake: connection refused") ++open_in_window;
            } catch (const Error&) {
            }
        });
    threads.clear();
    CHECK(open_in_window.load() == 4);  // at the third failure, not at the 5 s deadline
    const auto t0 = SteadyClock::now();
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 5s}), CircuitOpen);
    CHECK(ms_since(t0) < 100);
}
