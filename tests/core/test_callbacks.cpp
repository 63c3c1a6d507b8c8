// User code that calls back into the pool — lease stop callbacks, listeners,
// loggers — never runs under the pool's lock and never delays a hand-off.
// Regression tests for issue 11's defects 2 and 5 (each failed on a42be33),
// and the race between a grant and a cancellation (TESTPLAN S6).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <latch>
#include <thread>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {

/// Runs `f` on a thread; true if it returned within `limit`. A call that
/// deadlocks cannot be joined, so the process ends with a message instead
/// of hanging the suite.
template <class F>
bool returns_within(std::chrono::milliseconds limit, F f)
{
    auto done = std::make_shared<std::promise<void>>();
    auto fut = done->get_future();
    std::thread t([f = std::move(f), done]() mutable {
        f();
        done->set_value();
    });
    if (fut.wait_for(limit) != std::future_status::ready) {
        std::fprintf(stderr, "deadlock: the call did not return within %lld ms\n",
                     static_cast<long long>(limit.count()));
        std::fflush(stderr);
        std::_Exit(3);
    }
    t.join();
    return true;
}

/// A listener that runs a function on each event.
struct CallbackListener final : EventListener {
    std::function<void(const Event&)> on;
    void on_event(const Event& e) noexcept override { on(e); }
};

} // namespace

TEST_CASE("a lease stop callback that reads the pool does not deadlock close (defect 2)")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    auto lease = pool.acquire();
    std::atomic<int> seen{0};
    std::stop_callback cb(lease.stop_token(), [&] {
        (void)pool.stats();
        (void)lease.info();
        (void)pool.leases();
        ++seen;
    });
    std::thread holder([&] {
        while (seen == 0) std::this_thread::sleep_for(1ms);
        lease.release();  // let go once asked
    });
    CHECK(returns_within(10s, [&] { CHECK(pool.close(5s)); }));
    holder.join();
    CHECK(seen == 1);
}

TEST_CASE("acquiring with a lease's stop token as the cancel signal does not deadlock close (defect 2)")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    auto lease = pool.acquire();
    std::atomic<bool> cancelled{false};
    std::thread waiter([&] {
        try {
            (void)pool.acquire({.timeout = 20s, .stop = lease.stop_token()});
        } catch (const Cancelled&) {
            cancelled = true;
        } catch (const PoolClosed&) {
            cancelled = true;
        }
    });
    REQUIRE(returns_within(5s, [&] {
        while (pool.stats().waiting == 0) std::this_thread::sleep_for(1ms);
    }));
    CHECK(returns_within(10s, [&] { pool.close(100ms); }));
    waiter.join();
    CHECK(cancelled);
    lease.release();
}

TEST_CASE("the max_lease_time scan requests stop tokens outside the lock (defect 2)")
{
    Fixture f;
    auto o = f.options(2);
    o.max_lease_time = 1s;
    FakePool pool{f.adapter(), o};
    auto lease = pool.acquire();
    std::atomic<int> calls{0};
    std::stop_callback cb(lease.stop_token(), [&] {
        (void)pool.stats();
        auto info = lease.info();
        if (info && info->overdue) ++calls;
    });
    f.clock->advance(2s);
    CHECK(returns_within(10s, [&] { pool.run_maintenance(); }));
    CHECK(calls == 1);
    CHECK(pool.stats().leases_overdue == 1);
}

TEST_CASE("a waiter handed a new resource returns before the creator's listener does (defect 5)")
{
    Fixture f;
    auto listener = std::make_shared<CallbackListener>();
    std::latch let_go(1);
    std::atomic<bool> in_listener{false};
    listener->on = [&](const Event& e) {
        if (e.kind != EventKind::created) return;
        in_listener = true;
        let_go.wait();
        in_listener = false;
    };
    auto o = f.options(1);
    o.listener = listener;
    FakePool pool{f.adapter(), o};
    const auto t0 = SteadyClock::now();
    auto lease = pool.acquire({.timeout = 5s});
    const auto took = ms_since(t0);
    CHECK(took < 2000);                // served, although the listener never returns until we say so
    CHECK(testing::eventually([&] { return in_listener.load(); }));  // and it is running now
    let_go.count_down();
    lease.release();
}

TEST_CASE("a returned leak's log line does not delay the waiter the resource goes to (defect 5)")
{
    Fixture f;
    std::latch let_go(1);
    std::atomic<bool> in_logger{false};
    auto o = f.options(1);
    o.leak_threshold = 1s;
    o.fairness_window = 0us;  // every return goes straight to the oldest waiter
    o.logger = [&](LogLevel, std::string_view message) {
        if (message.find("returned after all") == std::string_view::npos) return;
        in_logger = true;
        let_go.wait();
        in_logger = false;
    };
    FakePool pool{f.adapter(), o};
    auto lease = pool.acquire();
    f.clock->advance(2s);
    pool.run_maintenance();  // reported as a leak
    std::atomic<long long> waited{-1};
    std::thread waiter([&] {
        const auto t0 = SteadyClock::now();
        auto next = pool.acquire({.timeout = 5s});
        waited = ms_since(t0);
    });
    while (pool.stats().waiting == 0) std::this_thread::sleep_for(1ms);
    std::thread releaser([&] { lease.release(); });
    const auto until = SteadyClock::now() + 4s;
    while (waited < 0 && SteadyClock::now() < until) std::this_thread::sleep_for(1ms);
    CHECK(waited >= 0);  // served, although the logger never returns until we say so
    CHECK(testing::eventually([&] { return in_logger.load(); }));
    let_go.count_down();
    releaser.join();
    waiter.join();
}

TEST_CASE("a cancel racing a hand-off: the resource ends idle, nothing leased, nobody waiting (S6)")
{
    Fixture f;
    auto o = f.options(1);
    o.fairness_window = 0us;  // every return is a hand-off
    FakePool pool{f.adapter(), o};
    int granted = 0, cancelled = 0;
    for (int round = 0; round < 300; ++round) {
        auto held = pool.acquire();
        std::stop_source stop;
        std::atomic<int> result{0};
        std::thread waiter([&] {
            try {
                auto l = pool.acquire({.timeout = 5s, .stop = stop.get_token()});
                result = 1;
            } catch (const Cancelled&) {
                result = 2;
            }
        });
        while (pool.stats().waiting == 0) std::this_thread::yield();
        std::thread canceller([&] { stop.request_stop(); });
        held.release();
        canceller.join();
        waiter.join();
        (result == 1 ? granted : cancelled) += 1;
        const auto s = pool.stats();
        REQUIRE(s.in_use == 0);
        REQUIRE(s.leases == 0);
        REQUIRE(s.waiting == 0);
        REQUIRE(s.idle == 1);
    }
    CHECK(granted + cancelled == 300);
    CHECK(f.fake->violations().empty());
    CHECK(f.fake->created() == 1);
}
