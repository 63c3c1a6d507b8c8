// The user's on_acquire / on_release hooks, and acquired_direct / acquired_waited (issue 13).
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;
using testing::FakeResource;

TEST_CASE("on_acquire runs on every borrow; false destroys the resource and the caller gets another")
{
    Fixture f;
    std::atomic<int> calls{0};
    std::atomic<std::uint64_t> refuse{1};  // the first resource is refused once
    Hooks<FakeResource> hooks;
    hooks.on_acquire = [&](FakeResource& r) {
        ++calls;
        return r.serial != refuse.exchange(0);
    };
    FakePool pool{f.adapter(), f.options(2), hooks};
    {
        auto lease = pool.acquire();
        CHECK(lease->serial == 2);
    }
    auto s = pool.stats();
    CHECK(calls.load() == 2);
    CHECK(s.destroyed[DestroyReason::broken] == 1);
    CHECK(s.create_failures == 0);  // the user's verdict, not a failed creation
    CHECK(s.acquired == 1);
    auto again = pool.acquire();
    CHECK(calls.load() == 3);
    CHECK(f.fake->violations().empty());
}

TEST_CASE("on_acquire refusing everything ends in AcquireTimeout within the deadline")
{
    Fixture f;
    Hooks<FakeResource> hooks;
    hooks.on_acquire = [](FakeResource&) { return false; };
    FakePool pool{f.adapter(), f.options(2), hooks};
    const auto start = SteadyClock::now();
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 100ms}), AcquireTimeout);
    CHECK(ms_since(start) >= 100);
    CHECK(ms_since(start) < 3000);
    CHECK(pool.stats().leases == 0);
}

TEST_CASE("on_release false destroys the resource instead of returning it")
{
    Fixture f;
    Hooks<FakeResource> hooks;
    hooks.on_release = [](FakeResource& r) { return r.serial != 1; };
    FakePool pool{f.adapter(), f.options(2), hooks};
    { auto a = pool.acquire(); }  // #1: destroyed on return
    CHECK(pool.stats().idle == 0);
    CHECK(pool.stats().destroyed[DestroyReason::broken] == 1);
    { auto b = pool.acquire(); }  // #2: kept
    CHECK(pool.stats().idle == 1);
    CHECK(pool.stats().create_failures == 0);
}

TEST_CASE("a hook that throws counts as false and is logged with the hook's name")
{
    Fixture f;
    std::mutex mu;
    std::vector<std::string> lines;
    auto o = f.options(2);
    o.logger = [&](LogLevel level, std::string_view line) {
        if (level == LogLevel::warning) {
            std::lock_guard lk(mu);
            lines.emplace_back(line);
        }
    };
    Hooks<FakeResource> hooks;
    hooks.on_release = [](FakeResource&) -> bool { throw std::runtime_error("tagging failed"); };
    FakePool pool{f.adapter(), o, hooks};
    { auto a = pool.acquire(); }
    CHECK(pool.stats().destroyed[DestroyReason::broken] == 1);
    std::lock_guard lk(mu);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("on_release hook threw: tagging failed") != std::string::npos);
}

TEST_CASE("hooks run outside the pool's lock: they may call back into the pool")
{
    Fixture f;
    FakePool* self = nullptr;
    Hooks<FakeResource> hooks;
    hooks.on_acquire = [&](FakeResource&) { return self->stats().total >= 1; };
    hooks.on_release = [&](FakeResource&) { return self->leases().size() == 1; };
    FakePool pool{f.adapter(), f.options(2), hooks};
    self = &pool;
    { auto a = pool.acquire(); }
    CHECK(pool.stats().idle == 1);
}

TEST_CASE("acquired_direct and acquired_waited tell served at once from served after queuing")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    { auto first = pool.acquire(); }  // queued for the creation
    { auto second = pool.acquire(); } // idle: direct
    auto s = pool.stats();
    CHECK(s.acquired == 2);
    CHECK(s.acquired_waited == 1);
    CHECK(s.acquired_direct == 1);

    auto held = pool.acquire();  // direct
    std::thread waiter([&] { auto l = pool.acquire({.timeout = 5s}); });
    REQUIRE(testing::eventually([&] { return pool.stats().waiting == 1; }));
    held.release();
    waiter.join();
    s = pool.stats();
    CHECK(s.acquired == 4);
    CHECK(s.acquired_direct == 2);
    CHECK(s.acquired_waited == 2);
    CHECK(pool.try_acquire().has_value());  // try_acquire of an idle one is direct
    CHECK(pool.stats().acquired_direct == 3);
}
