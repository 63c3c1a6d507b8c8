#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {
// Queues `n` waiters one at a time (each is queued before the next starts)
// and records the order in which they are served.
struct Queue {
    std::mutex mu;
    std::vector<int> served;
    std::atomic<bool> go{false};  // served waiters hold their lease until then
    std::vector<std::jthread> threads;

    void add(FakePool& pool, int n)
    {
        for (int i = 0; i < n; ++i) {
            const std::size_t before = pool.stats().waiting;
            threads.emplace_back([this, &pool, i] {
                auto lease = pool.acquire({.timeout = 10s});
                {
                    std::lock_guard lk(mu);
                    served.push_back(i);
                }
                while (!go) std::this_thread::yield();
            });
            REQUIRE(testing::eventually([&] { return pool.stats().waiting == before + 1; }));
        }
    }
};
} // namespace

TEST_CASE("with fairness_window = 0 waiters are served strictly in arrival order and never overtaken")
{
    Fixture f;
    PoolOptions o = f.options(1);
    o.fairness_window = 0us;
    FakePool pool{f.adapter(), o};
    std::optional<FakeLease> held{pool.acquire()};
    Queue q;
    q.add(pool, 6);
    held.reset();  // handed straight to the oldest waiter, before it even runs
    CHECK(pool.stats().idle == 0);
    CHECK_FALSE(pool.try_acquire().has_value());  // a newcomer cannot barge in
    q.go = true;
    q.threads.clear();
    CHECK(q.served == std::vector<int>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("a waiter queued longer than the fairness window is never overtaken")
{
    Fixture f;
    PoolOptions o = f.options(1);
    o.fairness_window = 1ms;
    FakePool pool{f.adapter(), o};
    std::optional<FakeLease> held{pool.acquire()};
    Queue q;
    q.add(pool, 3);
    f.clock->advance(5ms);  // the oldest waiter is now past the window
    held.reset();
    CHECK(pool.stats().idle == 0);
    CHECK_FALSE(pool.try_acquire().has_value());
    q.go = true;
    q.threads.clear();
    CHECK(q.served == std::vector<int>{0, 1, 2});
}

TEST_CASE("within the fairness window a running thread may take a freed resource, and everyone is still served")
{
    Fixture f;
    PoolOptions o = f.options(1);
    o.fairness_window = std::chrono::hours(1);  // the manual clock stands still: always within the window
    FakePool pool{f.adapter(), o};
    // Within the window a release parks the resource as idle and wakes the
    // oldest waiter; a thread already running (this one) may take it first.
    // The woken waiter needs a context switch to run, this thread does not,
    // so barging wins nearly every round; a pool that handed off directly
    // (the window = 0 behaviour) would never let it win. Over 20 rounds at
    // least one barge must succeed, and every waiter is served every round.
    int barged_rounds = 0;
    for (int round = 0; round < 20; ++round) {
        std::optional<FakeLease> held{pool.acquire()};
        Queue q;
        q.add(pool, 2);
        held.reset();
        if (auto barged = pool.try_acquire()) {
            ++barged_rounds;
            barged->release();
        }
        q.go = true;
        q.threads.clear();
        CHECK(q.served.size() == 2);
        CHECK(pool.stats().waiting == 0);
    }
    CHECK(barged_rounds > 0);
}

TEST_CASE("a waiter woken for a resource that a running thread took first still gets the next free one, unhinted")
{
    // After a wasted wake-up the oldest waiter takes no hints for a while
    // and looks again by itself (at most every millisecond). The manual clock
    // stands still, so the waiter never leaves the fairness window: nothing
    // but its own look can serve it once hints stop. If it slept on to its
    // deadline instead, it would be served only after 8 s.
    Fixture f;
    PoolOptions o = f.options(1);
    o.fairness_window = std::chrono::hours(1);
    FakePool pool{f.adapter(), o};
    std::optional<FakeLease> held{pool.acquire()};
    std::atomic<bool> armed{false};
    std::atomic<bool> served{false};
    std::jthread waiter([&] {
        try {
            for (;;) {
                auto lease = pool.acquire({.timeout = 8s});
                if (armed) break;  // else it won a race below: give back and queue again
            }
            served = true;
        } catch (const AcquireTimeout&) {
        }
    });
    // Give back and take again at once, until this thread wins the race
    // against the hinted waiter (nearly always the first time).
    bool barged = false;
    for (int round = 0; round < 100 && !barged; ++round) {
        REQUIRE(testing::eventually([&] { return pool.stats().waiting == 1; }));
        held.reset();
        if (auto again = pool.try_acquire()) {
            barged = true;
            held.emplace(std::move(*again));
        } else {
            held.emplace(pool.acquire());  // the waiter had it: wait for it back
        }
    }
    REQUIRE(barged);
    std::this_thread::sleep_for(50ms);  // let the hinted waiter wake, find nothing and go quiet
    armed = true;
    const auto start = SteadyClock::now();
    held.reset();  // no hint reaches a quiet waiter
    waiter.join();
    CHECK(served);
    CHECK(ms_since(start) < 5'000);  // a few milliseconds on a quiet machine
    CHECK(pool.stats().waiting == 0);
}
