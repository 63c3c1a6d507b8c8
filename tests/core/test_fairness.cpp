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
