#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

TEST_CASE("acquire creates on demand and reuses what was given back")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options()};
    std::uint64_t first = 0;
    {
        auto lease = pool.acquire();
        first = lease->serial;
        auto use = lease->use();
    }
    auto again = pool.acquire();
    CHECK(again->serial == first);
    CHECK(f.fake->created() == 1);
    const PoolStats s = pool.stats();
    CHECK(s.acquired == 2);
    CHECK(s.in_use == 1);
    CHECK(s.idle == 0);
    CHECK(s.total == 1);
}

TEST_CASE("try_acquire never waits and never creates")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    CHECK_FALSE(pool.try_acquire().has_value());
    CHECK(f.fake->create_calls() == 0);
    {
        auto lease = pool.acquire();
        CHECK_FALSE(pool.try_acquire().has_value());
    }
    auto maybe = pool.try_acquire();
    REQUIRE(maybe.has_value());
    CHECK(static_cast<bool>(*maybe));
}

TEST_CASE("idle order: LIFO lends the most recently returned, FIFO the least")
{
    for (const IdleOrder order : {IdleOrder::lifo, IdleOrder::fifo}) {
        Fixture f;
        PoolOptions o = f.options(3);
        o.idle_order = order;
        FakePool pool{f.adapter(), o};
        std::vector<std::uint64_t> returned;
        {
            auto a = pool.acquire();
            auto b = pool.acquire();
            auto c = pool.acquire();
            returned = {a->serial, b->serial, c->serial};
        }  // destroyed in reverse: c, b, a returned in that order
        auto next = pool.acquire();
        CHECK(next->serial == (order == IdleOrder::lifo ? returned[0] : returned[2]));
    }
}

TEST_CASE("max_size is never exceeded by 32 threads")
{
    Fixture f;
    PoolOptions o = f.options(4);
    o.acquire_timeout = 10s;
    FakePool pool{f.adapter(), o};
    f.fake->set_create_delay(1ms);
    std::atomic<bool> bad{false};
    std::vector<std::jthread> threads;
    for (int t = 0; t < 32; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 50; ++i) {
                auto lease = pool.acquire();
                auto use = lease->use();
                const PoolStats s = pool.stats();
                if (!gauges_consistent(s) || s.in_use > 4) bad = true;
            }
        });
    threads.clear();
    CHECK_FALSE(bad.load());
    CHECK(f.fake->max_live() <= 4);
    CHECK(f.fake->violations().empty());
    CHECK(pool.stats().acquired == 32 * 50);
}

TEST_CASE("an exhausted pool times out within its window and names who holds it")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    auto held = pool.acquire();  const int held_line = __LINE__;
    std::promise<void> done;
    std::thread other([&] {
        const auto start = SteadyClock::now();
        try {
            auto lease = pool.acquire({.timeout = 100ms});
            FAIL("acquire should have timed out");
        } catch (const AcquireTimeout& e) {
            const auto took = ms_since(start);
            CHECK(took >= 100);
            CHECK(took <= 100 + 300);
            CHECK(e.phase() == AcquirePhase::queued);
            REQUIRE(e.holders().size() == 1);
            CHECK(e.holders()[0].site.line() == static_cast<unsigned>(held_line));
            const std::string what = e.what();
            CHECK(what.find("exhausted") != std::string::npos);
            CHECK(what.find("test_acquire.cpp:" + std::to_string(held_line)) != std::string::npos);
            CHECK(what.find("this thread already holds") == std::string::npos);
            CHECK(e.snapshot().in_use == 1);
        }
        done.set_value();
    });
    done.get_future().wait();
    other.join();
    const PoolStats s = pool.stats();
    CHECK(s.timeouts == 1);
    CHECK(s.waiting == 0);
}

TEST_CASE("a thread acquiring twice from a pool of one is told it already holds a lease (S8)")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    auto first = pool.acquire();
    const auto start = SteadyClock::now();
    try {
        auto second = pool.acquire({.timeout = 50ms});
        FAIL("second acquire should have timed out");
    } catch (const AcquireTimeout& e) {
        // At its timeout, not before and not long after (300 ms of slack for a loaded machine).
        const auto took = ms_since(start);
        CHECK(took >= 50);
        CHECK(took <= 50 + 300);
        CHECK(std::string(e.what()).find("this thread already holds 1 lease") != std::string::npos);
    }
}

TEST_CASE("a timed-out waiter leaves no trace and loses no resource")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    std::optional<FakeLease> held{pool.acquire()};
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 20ms}), AcquireTimeout);
    CHECK(pool.stats().waiting == 0);
    held.reset();
    const PoolStats s = pool.stats();
    CHECK(s.idle == 1);
    CHECK(s.total == 1);
    CHECK(pool.try_acquire().has_value());
    CHECK(f.fake->created() == 1);
}

TEST_CASE("the wait queue is bounded: past max_waiters acquire fails at once with QueueFull")
{
    Fixture f;
    PoolOptions o = f.options(1);
    o.max_waiters = 1;
    FakePool pool{f.adapter(), o};
    auto held = pool.acquire();
    std::stop_source stop;
    std::thread waiter([&] { CHECK_THROWS_AS((void)pool.acquire({.timeout = 10s, .stop = stop.get_token()}), Cancelled); });
    REQUIRE(testing::eventually([&] { return pool.stats().waiting == 1; }));
    const auto start = SteadyClock::now();
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 10s}), QueueFull);
    CHECK(ms_since(start) < 1000);
    CHECK(pool.stats().rejections == 1);
    stop.request_stop();
    waiter.join();
    CHECK(pool.stats().waiting == 0);
}

TEST_CASE("a stop token cancels a waiting acquire promptly, and one already stopped fails at once")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    auto held = pool.acquire();
    std::stop_source stop;
    std::atomic<long long> took{-1};
    std::thread waiter([&] {
        const auto start = SteadyClock::now();
        try {
            (void)pool.acquire({.timeout = 10s, .stop = stop.get_token()});
        } catch (const Cancelled& e) {
            took = ms_since(start);
            CHECK(e.code() == make_error_code(errc::cancelled));
        }
    });
    REQUIRE(testing::eventually([&] { return pool.stats().waiting == 1; }));
    const auto cancel_at = SteadyClock::now();
    stop.request_stop();
    waiter.join();
    CHECK(took.load() >= 0);
    CHECK(ms_since(cancel_at) < 500);
    CHECK(pool.stats().cancellations == 1);
    CHECK(pool.stats().waiting == 0);

    std::stop_source already;
    already.request_stop();
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 10s, .stop = already.get_token()}), Cancelled);
}

TEST_CASE("double release, use after release and moved-from leases are harmless (S9)")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    auto lease = pool.acquire();
    lease.release();
    lease.release();
    CHECK_FALSE(static_cast<bool>(lease));
    CHECK_THROWS_AS((void)lease->serial, std::logic_error);
    CHECK_THROWS_AS((void)*lease, std::logic_error);
    lease.mark_broken();  // no effect on an empty lease

    auto a = pool.acquire();
    FakeLease b = std::move(a);
    CHECK_FALSE(static_cast<bool>(a));
    CHECK_THROWS_AS((void)a.get(), std::logic_error);
    a.release();
    FakeLease c = pool.acquire();
    c = std::move(b);  // gives c's resource back first
    CHECK(pool.stats().leases == 1);
    CHECK(pool.stats().idle == 1);
    CHECK(f.fake->violations().empty());
    CHECK(pool.stats().destroyed.total() == 0);
}

TEST_CASE("errors are respool::Error, std::system_error and std::runtime_error")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    auto held = pool.acquire();
    bool thrown = false;
    try {
        (void)pool.acquire({.timeout = 1ms});
        FAIL("the second acquire from a pool of 1 should have timed out");
    } catch (const std::runtime_error& e) {
        thrown = true;
        const auto* sys = dynamic_cast<const std::system_error*>(&e);
        REQUIRE(sys != nullptr);
        CHECK(sys->code().category() == error_category());
        CHECK(sys->code() == make_error_code(errc::acquire_timeout));
        CHECK(dynamic_cast<const Error*>(&e) != nullptr);
    }
    CHECK(thrown);
}

TEST_CASE("a pool works with an adapter that has no optional hooks")
{
    struct Plain {
        using Resource = std::unique_ptr<int>;
        std::unique_ptr<int> create(Deadline) { return std::make_unique<int>(7); }
    };
    static_assert(Adapter<Plain>);
    Pool pool{Plain{}};
    auto lease = pool.acquire();
    CHECK(**lease == 7);
    lease.mark_broken();
    lease.release();
    CHECK(pool.stats().destroyed[DestroyReason::broken] == 1);
}

TEST_CASE("a thread gets back the resource it used last while it is idle (LIFO order)")
{
    // Its caches (a connection's buffers, say) are still warm on this core.
    Fixture f;
    FakePool pool{f.adapter(), f.options(3)};
    auto mine = pool.acquire();
    const std::uint64_t my_serial = mine->serial;
    std::optional<respool::Lease<respool::testing::FakeAdapter>> theirs;
    std::thread([&] { theirs.emplace(pool.acquire()); }).join();
    const std::uint64_t their_serial = (*theirs)->serial;
    REQUIRE(my_serial != their_serial);
    mine.release();
    theirs.reset();  // returned last: plain LIFO would lend it next
    CHECK(pool.acquire()->serial == my_serial);
}

TEST_CASE("FIFO idle order ignores thread affinity: it rotates through every resource")
{
    Fixture f;
    auto options = f.options(3);
    options.idle_order = IdleOrder::fifo;
    FakePool pool{f.adapter(), options};
    auto mine = pool.acquire();
    const std::uint64_t my_serial = mine->serial;
    std::optional<respool::Lease<respool::testing::FakeAdapter>> theirs;
    std::thread([&] { theirs.emplace(pool.acquire()); }).join();
    const std::uint64_t their_serial = (*theirs)->serial;
    mine.release();  // returned first: FIFO lends it next, whoever asks
    theirs.reset();
    std::uint64_t other = 0;
    std::thread([&] { other = pool.acquire()->serial; }).join();
    CHECK(other == my_serial);
    CHECK(pool.acquire()->serial == their_serial);
}
