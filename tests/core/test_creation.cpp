#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {
/// Starts `n` acquirers with a 500 ms timeout at once and counts those that
/// timed out within [500, 900] ms, in `phase`, with `words` in the message.
int timeouts_on_time(FakePool& pool, int n, AcquirePhase phase, const char* words)
{
    std::atomic<int> on_time{0};
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < n; ++i)
            threads.emplace_back([&] {
                const auto mine = SteadyClock::now();
                try {
                    (void)pool.acquire({.timeout = 500ms});
                } catch (const AcquireTimeout& e) {
                    const auto took = ms_since(mine);
                    if (took >= 500 && took <= 500 + 400 && e.phase() == phase &&
                        std::string(e.what()).find(words) != std::string::npos)
                        ++on_time;
                }
            });
    }
    return on_time.load();
}
} // namespace

TEST_CASE("32 waiters at an empty pool: never more than max_concurrent_creates in flight, never more than max_size made (S12)")
{
    Fixture f;
    PoolOptions o = f.options(8);
    o.max_concurrent_creates = 2;
    o.acquire_timeout = 20s;
    f.fake->set_create_delay(50ms);
    FakePool pool{f.adapter(), o};
    std::vector<std::jthread> threads;
    std::atomic<bool> bad{false};
    for (int i = 0; i < 32; ++i)
        threads.emplace_back([&] {
            auto lease = pool.acquire();
            auto use = lease->use();
            const PoolStats s = pool.stats();
            if (s.creating > 2 || !gauges_consistent(s)) bad = true;
            std::this_thread::sleep_for(2ms);
        });
    threads.clear();
    CHECK_FALSE(bad.load());
    CHECK(f.fake->max_creates_in_flight() <= 2);
    CHECK(f.fake->created() <= 8);
    CHECK(f.fake->violations().empty());
}

TEST_CASE("a fatal creation failure reaches the waiter at once, with the adapter's error as its cause")
{
    // (A transient one is retried until the waiter's deadline: test_create_failures.cpp.)
    Fixture f;
    PoolOptions o = f.options(2);
    o.create_backoff_initial = 30ms;
    o.create_backoff_max = 30ms;
    o.logger = [](LogLevel, std::string_view) {};
    FakePool pool{f.adapter(), o};
    f.fake->fail_next_creates_fatally(1, "fake: connection refused by 127.0.0.1:1");
    const auto start = SteadyClock::now();
    try {
        (void)pool.acquire({.timeout = 10s});
        FAIL("expected CreateFailed");
    } catch (const CreateFailed& e) {
        CHECK(ms_since(start) < 2000);
        CHECK(e.code() == make_error_code(errc::create_failed));
        CHECK(e.last_error() == "fake: connection refused by 127.0.0.1:1");
        CHECK(std::string(e.what()).find("connection refused") != std::string::npos);
        CHECK_THROWS_AS(std::rethrow_exception(e.cause()), testing::FakeError);
    }
    const PoolStats s = pool.stats();
    CHECK(s.create_failures == 1);
    CHECK(s.last_create_error == "fake: connection refused by 127.0.0.1:1");
    CHECK(s.total == 0);
    // Creation works again: once the back-off step has passed, an acquire is served.
    std::this_thread::sleep_for(40ms);
    CHECK(static_cast<bool>(pool.acquire()));
}

TEST_CASE("no lost wake-up: both waiters are served once creation works again (S3)")
{
    Fixture f;
    PoolOptions o = f.options(1);
    o.create_backoff_initial = 50ms;
    o.logger = [](LogLevel, std::string_view) {};
    FakePool pool{f.adapter(), o};
    f.fake->set_create_delay(30ms);
    f.fake->fail_next_creates(1);
    std::atomic<int> served{0};
    std::atomic<long long> first_at{-1}, last_at{-1};
    const auto start = SteadyClock::now();
    std::vector<std::jthread> threads;
    for (int i = 0; i < 2; ++i)
        threads.emplace_back([&] {
            auto lease = pool.acquire({.timeout = 5s});
            const long long at = ms_since(start);
            long long none = -1;
            first_at.compare_exchange_strong(none, at);
            last_at = at;
            ++served;
        });
    threads.clear();
    // The transient failure ends neither wait: a failed 30 ms create, a pause
    // of [25, 50] ms, a 30 ms create for the first waiter, which gives it
    // back to the second at once — promptly, not a timeout (5 s) later.
    CHECK(served.load() == 2);
    CHECK(first_at.load() >= 30 + 25 + 30);
    CHECK(first_at.load() <= 30 + 50 + 30 + 400);
    CHECK(last_at.load() - first_at.load() <= 400);
}

TEST_CASE("waiters wake when a holder marks its resource broken, making room for a new one")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    auto held = pool.acquire();
    std::atomic<bool> served{false};
    std::thread waiter([&] {
        auto lease = pool.acquire({.timeout = 5s});
        served = true;
    });
    REQUIRE(testing::eventually([&] { return pool.stats().waiting == 1; }));
    held.mark_broken();
    held.release();
    waiter.join();
    CHECK(served.load());
    CHECK(f.fake->created() == 2);
}

TEST_CASE("creation hanging for seconds: each acquirer fails at its own deadline, naming the phase (S7)")
{
    Fixture f;
    PoolOptions o = f.options(8);
    o.create_timeout = 5s;
    FakePool pool{f.adapter(), o};
    f.fake->hang_creates(true);
    const auto start = SteadyClock::now();
    CHECK(timeouts_on_time(pool, 8, AcquirePhase::creating, "being created") == 8);
    CHECK(ms_since(start) < 1500);  // not serialised behind one another
    CHECK(f.fake->max_creates_in_flight() <= 2);
    f.fake->release_hangs();
}

TEST_CASE("validation hanging for seconds: each acquirer fails at its own deadline, naming the phase (S7)")
{
    Fixture f;
    PoolOptions o = f.options(8);
    o.validate_after_idle = 0ms;  // every borrow of an idle resource validates
    o.validation_timeout = 5s;
    FakePool pool{f.adapter(), o};
    {
        std::vector<FakeLease> eight;
        for (int i = 0; i < 8; ++i) eight.push_back(pool.acquire());
    }
    REQUIRE(pool.stats().idle == 8);
    f.fake->hang_validations(true);
    const auto start = SteadyClock::now();
    CHECK(timeouts_on_time(pool, 8, AcquirePhase::validating, "validating") == 8);
    CHECK(ms_since(start) < 1500);  // each validated its own resource: not serialised
    f.fake->release_hangs();
    CHECK(f.fake->violations().empty());
}

TEST_CASE("a reset hanging for seconds holds only its own resource: others are served, waiters fail on time (S7)")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    f.fake->hang_resets(true);
    // The thread giving the lease back runs the reset and hangs in it.
    std::jthread returner([&] { pool.acquire().release(); });
    REQUIRE(testing::eventually([&] { return f.fake->reset_calls() == 1; }));

    // The pool is not blocked: stats answer and the other slot serves.
    auto start = SteadyClock::now();
    CHECK(pool.stats().total >= 1);
    auto other = pool.acquire({.timeout = 2s});
    CHECK(ms_since(start) <= 300);
    CHECK(static_cast<bool>(other));

    // Both resources taken (one leased, one stuck in its reset): waiters time
    // out at their own deadlines, together, not one after another.
    std::vector<std::jthread> threads;
    std::atomic<int> ok_windows{0};
    start = SteadyClock::now();
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&] {
            const auto mine = SteadyClock::now();
            try {
                (void)pool.acquire({.timeout = 500ms});
            } catch (const AcquireTimeout&) {
                const auto took = ms_since(mine);
                if (took >= 500 && took <= 500 + 400) ++ok_windows;
            }
        });
    threads.clear();
    CHECK(ok_windows.load() == 8);
    CHECK(ms_since(start) < 1500);

    const auto destroyed_before = pool.stats().destroyed.total();
    f.fake->release_hangs();  // the reset throws: its resource is destroyed, not recycled
    returner.join();
    CHECK(testing::eventually([&] { return pool.stats().destroyed.total() == destroyed_before + 1; }));
    other.release();
    CHECK(pool.stats().total == 1);
    CHECK(f.fake->violations().empty());
}

TEST_CASE("a creation whose waiter gave up is not wasted: the resource goes idle")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    f.fake->set_create_delay(150ms);
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 20ms}), AcquireTimeout);
    REQUIRE(testing::eventually([&] { return pool.stats().idle == 1; }));
    CHECK(pool.try_acquire().has_value());
    CHECK(f.fake->created() == 1);
}

TEST_CASE("max_size counts resources being created")
{
    Fixture f;
    PoolOptions o = f.options(2);
    o.max_concurrent_creates = 4;
    o.create_timeout = 30s;
    FakePool pool{f.adapter(), o};
    f.fake->hang_creates(true);
    // The waiters stay queued until the test cancels them (no timeout can
    // end them while the condition below is awaited, however slow the machine).
    std::stop_source cancel;
    std::vector<std::jthread> threads;
    for (int i = 0; i < 5; ++i)
        threads.emplace_back(
            [&] { CHECK_THROWS_AS((void)pool.acquire({.timeout = 30s, .stop = cancel.get_token()}), Cancelled); });
    // Creator threads count themselves in `creating` once they run, which may
    // be a moment after the waiters have queued.
    REQUIRE(testing::eventually([&] {
        const PoolStats s = pool.stats();
        return s.waiting == 5 && s.creating >= 2;
    }));
    CHECK(pool.stats().creating == 2);
    CHECK(pool.stats().total == 2);
    CHECK(f.fake->creates_in_flight() <= 2);
    cancel.request_stop();
    threads.clear();
    f.fake->release_hangs();
}
