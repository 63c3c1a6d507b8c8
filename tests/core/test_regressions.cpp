// Regression tests for the defects an audit and a model-based test found in
// the core (issue 20). Each case failed on 207d3f9; its comment says how.
#include <atomic>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <respool/detail/pool_mutex.hpp>

#include "fixtures.hpp"

namespace respool::test {
namespace {

/// Makes `r` proven and not fresh: borrowed and given back healthy once.
void borrow_once(FakePool& pool)
{
    auto lease = pool.acquire();
}

/// Waits (bounded) until `pred` holds.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 3s)
{
    const auto until = SteadyClock::now() + limit;
    while (!pred()) {
        if (SteadyClock::now() > until) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

/// Two callers that each hold their lease until both are served (or 2.5 s):
/// a waiter that is never told sleeps to its 2 s deadline.
struct PairOfWaiters {
    std::atomic<int> served{0};
    std::atomic<long long> slowest{0};

    void wait(FakePool& pool)
    {
        const auto start = SteadyClock::now();
        try {
            auto lease = pool.acquire({.timeout = 2s});
            slowest = std::max(slowest.load(), ms_since(start));
            ++served;
            eventually([&] { return served == 2; }, 2500ms);
        } catch (const AcquireTimeout&) {
        }
    }
};

} // namespace

// 1. A shared channel marked for make-before-break replacement came back idle
// (release() read the time before its hooks ran), and eviction then doomed it
// directly: the pending-replacement count stayed at 1 for good and the pool
// made channels nobody asked for until it reached max_size.
TEST_CASE("shared mode: a channel due for replacement that goes idle and is evicted leaves no phantom demand")
{
    Fixture f;
    auto o = f.options(4);
    o.max_lifetime = 10s;
    o.lifetime_jitter = 0;
    o.idle_timeout = 5s;
    FakePool* pool_ptr = nullptr;
    std::atomic<bool> in_hook{false};
    Hooks<FakeAdapter::Resource> hooks;
    hooks.on_release = [&](FakeAdapter::Resource&) {
        if (!in_hook.exchange(false)) return true;
        // Between release()'s first steps and its lock: the channel expires and
        // maintenance marks it for replacement (the creation hangs).
        f.clock->advance(11s);
        pool_ptr->run_maintenance();
        return true;
    };
    FakePool pool{f.adapter(LeaseMode::shared(2)), o, hooks};
    pool_ptr = &pool;
    {
        auto lease = pool.acquire();
        f.fake->hang_creates(true);
        in_hook = true;
    }
    // Its replacement may be on its way (hanging); let it finish, then let
    // the pool settle. (Since the fix, release() reads the time after its
    // hooks, and usually retires the expired channel itself.)
    std::this_thread::sleep_for(50ms);
    f.fake->hang_creates(false);
    f.fake->release_hangs();
    REQUIRE(eventually([&] { return f.fake->creates_in_flight() == 0; }));
    for (int i = 0; i < 5; ++i) {
        pool.run_maintenance();
        std::this_thread::sleep_for(20ms);
    }
    REQUIRE(eventually([&] { return pool.stats().creating == 0; }));
    // One channel expired; at most one replacement was made for it (the
    // failed one, hung, was retried at most once).
    CHECK(pool.stats().total <= 1);
    CHECK(f.fake->created() <= 2);
}

// 2. ~Pool returned while a borrower was still inside validate(): the
// borrower already held its lease record, which ~Pool does not wait for.
TEST_CASE("~Pool waits for a borrow check in progress")
{
    Fixture f;
    auto o = f.options(2);
    o.validate_after_idle = 0ms;
    o.validation_timeout = 5s;
    o.acquire_timeout = 5s;
    o.drain_timeout = 0ms;
    auto pool = std::make_unique<FakePool>(f.adapter(), o);
    borrow_once(*pool);  // no longer fresh: the next borrow validates it
    f.fake->hang_validations(true);
    std::thread borrower([&] {
        try {
            auto lease = pool->acquire();
        } catch (const Error&) {
        }
    });
    REQUIRE(eventually([&] { return f.fake->validate_calls() == 1; }));
    std::atomic<bool> destroyed{false};
    std::thread destroyer([&] {
        pool.reset();
        destroyed = true;
    });
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(destroyed.load());  // the validation still runs: the pool must stay
    f.fake->hang_validations(false);
    f.fake->release_hangs();
    destroyer.join();
    borrower.join();
    CHECK(destroyed.load());
    CHECK(f.fake->violations().empty());
    CHECK(f.fake->live() == 0);
}

// 3a. Shared mode: a borrower's validation ended and the channel went from
// checking to leased with free places, without looking at the queue: a
// caller queued meanwhile got its lease only at its deadline.
TEST_CASE("shared mode: places freed by a passed borrow validation go to the queue")
{
    Fixture f;
    auto o = f.options(1);
    o.validate_after_idle = 100ms;
    o.acquire_timeout = 3s;
    FakePool pool{f.adapter(LeaseMode::shared(2)), o};
    borrow_once(pool);
    f.clock->advance(1s);  // idle past validate_after_idle: the next borrow validates
    f.fake->set_validate_delay(200ms);
    std::promise<void> first_done;
    std::thread first([&] {
        auto lease = pool.acquire();
        first_done.set_value();
        std::this_thread::sleep_for(1500ms);  // holds its place; the other is free
    });
    REQUIRE(eventually([&] { return f.fake->validate_calls() == 1; }));
    const auto start = SteadyClock::now();
    std::optional<FakeLease> second;
    CHECK_NOTHROW(second.emplace(pool.acquire()));
    CHECK(ms_since(start) < 1000);  // served when the check passed, not at its 3 s deadline
    second.reset();
    first.join();
}

// 3b. After a keepalive check, the hand-off loop stopped at the first waiter
// still inside the fairness window without telling it: it slept to its deadline.
TEST_CASE("shared mode: after a keepalive check, waiters inside the fairness window are told too")
{
    Fixture f;
    auto o = f.options(1);
    o.keepalive_interval = 1s;
    o.validate_after_idle = 3600s;
    o.acquire_timeout = 3s;
    FakePool pool{f.adapter(LeaseMode::shared(2)), o};
    borrow_once(pool);
    f.clock->advance(2s);  // keepalive due
    f.fake->set_validate_delay(300ms);
    std::thread maintenance([&] { pool.run_maintenance(); });
    REQUIRE(eventually([&] { return f.fake->validate_calls() == 1; }));
    PairOfWaiters pair;
    auto waiter = [&] { pair.wait(pool); };
    std::thread w1(waiter);
    REQUIRE(eventually([&] { return pool.stats().waiting == 1; }));
    f.clock->advance(50ms);  // w1 is past the fairness window, w2 will not be
    std::thread w2(waiter);
    REQUIRE(eventually([&] { return pool.stats().waiting == 2; }));
    maintenance.join();
    w1.join();
    w2.join();
    CHECK(pair.served == 2);
    CHECK(pair.slowest < 1500);
}

// 4. Exclusive mode: a hand-off did not wake the next waiter. When the oldest
// waiter had been hinted for one resource and was then handed another, the
// hinted one sat idle while the next waiter slept to its deadline.
TEST_CASE("exclusive mode: a hand-off to a hinted waiter leaves no idle resource unannounced")
{
    Fixture f;
    auto o = f.options(2);
    o.acquire_timeout = 2s;
    FakePool pool{f.adapter(), o};
    for (int round = 0; round < 20; ++round) {
        auto a = std::make_optional(pool.acquire());
        auto b = std::make_optional(pool.acquire());
        PairOfWaiters pair;
        auto waiter = [&] { pair.wait(pool); };
        std::thread w1(waiter);
        REQUIRE(eventually([&] { return pool.stats().waiting == 1; }));
        std::thread w2(waiter);
        REQUIRE(eventually([&] { return pool.stats().waiting == 2; }));
        a.reset();               // within the window: w1 is hinted
        f.clock->advance(50ms);  // now past it
        b.reset();               // handed straight to w1 (if it has not taken `a` yet)
        w1.join();
        w2.join();
        REQUIRE(pair.served == 2);
        REQUIRE(pair.slowest < 1500);
    }
}

// 5. Lowering min_idle to what exists did not wake wait_ready.
TEST_CASE("set_min_idle wakes wait_ready")
{
    Fixture f;
    auto o = f.options(4);
    FakePool pool{f.adapter(), o};
    borrow_once(pool);  // one exists
    f.fake->hang_creates(true);
    pool.set_min_idle(2);  // the second hangs
    std::promise<void> ready;
    auto done = ready.get_future();
    std::thread t([&] {
        try {
            pool.wait_ready(5s);
        } catch (...) {
        }
        ready.set_value();
    });
    std::this_thread::sleep_for(100ms);
    pool.set_min_idle(1);
    CHECK(done.wait_for(1500ms) == std::future_status::ready);
    f.fake->hang_creates(false);
    f.fake->release_hangs();
    t.join();
}

#ifndef NDEBUG
// 6. The injected clock is user code: the pool read it under its lock (about
// eleven places). Debug builds count the pool locks a thread holds.
namespace {
class CheckingClock final : public Clock {
public:
    SteadyClock::time_point now() const noexcept override
    {
        if (detail::pool_locks_held != 0) under_lock.fetch_add(1);
        return inner.now();
    }
    testing::ManualClock inner;
    mutable std::atomic<int> under_lock{0};
};
} // namespace

TEST_CASE("the injected clock is never read under the pool's lock")
{
    Fixture f;
    auto clock = std::make_shared<CheckingClock>();
    auto o = f.options(2);
    o.clock = clock;
    o.keepalive_interval = 1s;
    o.leak_threshold = 1s;
    o.validate_after_idle = 0ms;
    o.min_idle = 1;
    o.acquire_timeout = 300ms;
    Hooks<FakeAdapter::Resource> hooks;
    hooks.on_acquire = [](FakeAdapter::Resource&) { return true; };
    FakePool pool{f.adapter(), o, hooks};
    pool.wait_ready(2s);
    {
        auto a = pool.acquire();
        auto b = pool.acquire();
        CHECK_THROWS_AS((void)pool.acquire({.timeout = 50ms}), AcquireTimeout);
        CHECK_FALSE(pool.try_acquire().has_value());
        clock->inner.advance(2s);
        pool.run_maintenance();
        (void)pool.leases();
        (void)pool.stats();
    }
    clock->inner.advance(2s);
    pool.run_maintenance();
    pool.resize(3);
    pool.set_min_idle(2);
    pool.pause();
    pool.resume();
    pool.retire_if([](const FakeAdapter::Resource&) { return false; });
    pool.retire_all();
    pool.wait_ready(2s);
    {
        auto c = pool.acquire();
        c.mark_broken();
    }
    pool.close();
    CHECK(clock->under_lock.load() == 0);
}
#endif

// 7. A borrow undone by a failed borrow check kept its wait sample: the wait
// statistics counted leases never handed out.
TEST_CASE("wait statistics count only the leases handed out")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    borrow_once(pool);
    f.fake->break_next_checks(1);  // the idle one is found broken on borrow
    {
        auto lease = pool.acquire();
    }
    const auto s = pool.stats();
    CHECK(s.acquired == 2);
    CHECK(s.acquire_wait.count == s.acquired);
}

// 8. Idle eviction walked slots by index, so it could evict the most
// recently returned resource and keep the older one.
TEST_CASE("idle eviction takes the least recently returned first")
{
    Fixture f;
    auto o = f.options(4);
    o.min_idle = 1;
    o.idle_timeout = 10s;
    FakePool pool{f.adapter(), o};
    auto a = std::make_optional(pool.acquire());
    auto b = std::make_optional(pool.acquire());
    const auto b_serial = (*b)->serial;
    a.reset();
    f.clock->advance(1s);
    b.reset();  // returned last: the one to keep
    f.clock->advance(20s);
    pool.run_maintenance();
    CHECK(pool.stats().idle == 1);
    auto kept = pool.acquire();
    CHECK(kept->serial == b_serial);
}

// 9. resize(n) below the total destroyed every idle resource, not the excess:
// a doomed slot still counted in the total until after the loop.
TEST_CASE("resize below the total destroys only the excess")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(4)};
    {
        std::vector<FakeLease> all;
        for (int i = 0; i < 4; ++i) all.push_back(pool.acquire());
    }
    REQUIRE(pool.stats().idle == 4);
    pool.resize(3);
    const auto s = pool.stats();
    CHECK(s.idle == 3);
    CHECK(s.destroyed[DestroyReason::retired] == 1);
}

// 10. The deadline started late: time spent in a failing borrow check was not
// counted, so acquire({.timeout = 200ms}) returned after 500 ms.
TEST_CASE("the acquire deadline is fixed when the call starts")
{
    Fixture f;
    auto o = f.options(2);
    std::atomic<int> calls{0};
    Hooks<FakeAdapter::Resource> hooks;
    hooks.on_acquire = [&](FakeAdapter::Resource&) {
        if (calls++ == 1) {  // the second borrow: slow, and says no
            std::this_thread::sleep_for(300ms);
            return false;
        }
        return true;
    };
    FakePool pool{f.adapter(), o, hooks};
    borrow_once(pool);
    const auto start = SteadyClock::now();
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 200ms}), AcquireTimeout);
    const auto took = ms_since(start);
    CHECK(took >= 290);
    CHECK(took < 460);  // the hook's 300 ms, not 300 + 200
}

TEST_CASE("a lease whose slow borrow check ends past the deadline is not handed out")
{
    Fixture f;
    auto o = f.options(2);
    std::atomic<int> calls{0};
    Hooks<FakeAdapter::Resource> hooks;
    hooks.on_acquire = [&](FakeAdapter::Resource&) {
        if (calls++ == 1) std::this_thread::sleep_for(300ms);
        return true;
    };
    FakePool pool{f.adapter(), o, hooks};
    borrow_once(pool);
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 200ms}), AcquireTimeout);
    const auto s = pool.stats();
    CHECK(s.in_use == 0);
    CHECK(s.idle == 1);  // a healthy resource: back in the pool, not destroyed
    CHECK(s.acquired == 1);
}

// 11. validations / validation_failures counted validations that never ran.
TEST_CASE("validation counters count validations that ran")
{
    Fixture f;
    auto o = f.options(2);
    o.validate_after_idle = 0ms;
    std::atomic<bool> refuse{false};
    Hooks<FakeAdapter::Resource> hooks;
    hooks.on_acquire = [&](FakeAdapter::Resource&) { return !refuse.load(); };
    FakePool pool{f.adapter(), o, hooks};
    borrow_once(pool);  // fresh: not validated
    REQUIRE(pool.stats().validations == 0);

    SUBCASE("is_broken says no before validate runs")
    {
        f.fake->break_next_checks(1);
        auto lease = pool.acquire();  // the broken one goes; a fresh one is made
        const auto s = pool.stats();
        CHECK(f.fake->validate_calls() == 0);
        CHECK(s.validations == 0);
        CHECK(s.validation_failures == 0);
    }
    SUBCASE("on_acquire says no after validate passed")
    {
        refuse = true;
        CHECK_THROWS_AS((void)pool.acquire({.timeout = 100ms}), Error);
        refuse = false;
        const auto s = pool.stats();
        CHECK(f.fake->validate_calls() == 1);
        CHECK(s.validations == 1);
        CHECK(s.validation_failures == 0);
    }
}

// 12. A keepalive check (and retire_if) put the checked resource back on top
// of the LIFO stack, so the next borrow got the one idle longest.
TEST_CASE("a keepalive check keeps the idle order")
{
    Fixture f;
    auto o = f.options(4);
    o.keepalive_interval = 10s;
    o.validate_after_idle = 3600s;
    FakePool pool{f.adapter(), o};
    auto a = std::make_optional(pool.acquire());
    auto b = std::make_optional(pool.acquire());
    const auto b_serial = (*b)->serial;
    a.reset();
    f.clock->advance(5s);
    b.reset();
    f.clock->advance(5500ms);  // a's keepalive is due, b's is not
    pool.run_maintenance();
    REQUIRE(pool.stats().keepalives == 1);
    auto next = pool.acquire();
    CHECK(next->serial == b_serial);  // the most recently returned
}

TEST_CASE("retire_if keeps the idle order")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(4)};
    auto a = std::make_optional(pool.acquire());
    auto b = std::make_optional(pool.acquire());
    const auto a_serial = (*a)->serial;
    b.reset();
    f.clock->advance(1s);
    a.reset();  // on top
    pool.retire_if([](const FakeAdapter::Resource&) { return false; });
    auto next = pool.acquire();
    CHECK(next->serial == a_serial);
}

// 13. wait_ready on a closed pool: decided — a closed pool is never ready,
// whatever min_idle says (docs and header now agree).
TEST_CASE("wait_ready on a closed pool throws PoolClosed, also with min_idle 0")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    pool.wait_ready(0ms);  // open, min_idle 0: at once
    pool.close();
    CHECK_THROWS_AS(pool.wait_ready(1s), PoolClosed);
}

// A Pool moves: the handle is a pointer, and leases point at the shared state.
TEST_CASE("Pool is movable and leases survive the move")
{
    Fixture f;
    FakePool first{f.adapter(), f.options(2)};
    auto lease = first.acquire();
    FakePool second{std::move(first)};
    CHECK(second.stats().in_use == 1);
    lease = FakeLease{};
    CHECK(second.stats().idle == 1);
    auto again = second.acquire();
    CHECK(static_cast<bool>(again));
    FakePool third{f.adapter(), f.options(1)};
    third = std::move(second);  // closes third's own pool, takes second's
    CHECK(third.stats().in_use == 1);
}

} // namespace respool::test
