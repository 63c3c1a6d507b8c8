// Run-time sizing: resize, set_min_idle and wait_ready (issue 13).
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {
std::string field_of(const std::function<void()>& f)
{
    try {
        f();
    } catch (const InvalidOptions& e) {
        return e.field() + ": " + e.what();
    }
    return "no InvalidOptions";
}
} // namespace

TEST_CASE("resize and set_min_idle are validated like the constructor, naming the field")
{
    Fixture f;
    auto o = f.options(4);
    o.min_idle = 2;
    FakePool pool{f.adapter(), o};
    CHECK(field_of([&] { pool.resize(0); }).starts_with("max_size: "));
    CHECK(field_of([&] { pool.resize(max_pool_size + 1); }).starts_with("max_size: "));
    const std::string below = field_of([&] { pool.resize(1); });
    CHECK(below.starts_with("max_size: "));
    CHECK(below.find("below min_idle (2)") != std::string::npos);
    const std::string above = field_of([&] { pool.set_min_idle(5); });
    CHECK(above.starts_with("min_idle: "));
    CHECK(above.find("exceeds max_size (4)") != std::string::npos);
    CHECK(pool.stats().max_size == 4);  // nothing changed
    CHECK(pool.options().max_size == 4);

    auto capped = f.options(6);
    capped.max_idle = 3;
    FakePool with_max_idle{f.adapter(), capped};
    CHECK(field_of([&] { with_max_idle.set_min_idle(4); }).starts_with("min_idle: "));
    with_max_idle.resize(2);  // a max_idle above the new limit is taken as the limit
    CHECK(with_max_idle.stats().max_size == 2);
}

TEST_CASE("shrinking destroys idle resources at once and leased ones when given back, and never exceeds the new max_size")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(6)};
    std::vector<FakeLease> held;
    for (int i = 0; i < 6; ++i) held.push_back(pool.acquire());
    held.resize(4);  // two idle, four leased
    REQUIRE(pool.stats().idle == 2);

    pool.resize(2);
    auto s = pool.stats();
    CHECK(s.max_size == 2);
    CHECK(s.idle == 0);
    CHECK(s.total == 4);  // the leased ones stay with their holders
    CHECK(s.destroyed[DestroyReason::retired] == 2);
    CHECK(f.fake->live() == 4);

    // The first two given back go; the next two stay.
    held[0].release();
    held[1].release();
    CHECK(pool.stats().total == 2);
    CHECK(pool.stats().destroyed[DestroyReason::retired] == 4);
    held[2].release();
    CHECK(pool.stats().idle == 1);
    CHECK(f.fake->live() == 2);

    // No creation starts while two exist: a third caller waits and times out.
    auto a = pool.acquire();
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 30ms}), AcquireTimeout);
    CHECK(f.fake->max_live() == 6);
    CHECK(f.fake->live() == 2);
    CHECK(pool.stats().total == 2);
    CHECK(f.fake->violations().empty());
}

TEST_CASE("a creation in flight when the pool shrinks is destroyed on arrival if the pool is over its new size")
{
    Fixture f;
    auto o = f.options(3);
    o.create_timeout = 30s;  // the delay below ends only at release_hangs(), however late that comes
    FakePool pool{f.adapter(), o};
    auto a = pool.acquire();
    auto b = pool.acquire();
    f.fake->set_create_delay(20s);  // until release_hangs(): the creation finishes after the shrink
    std::jthread waiter([&] { CHECK_THROWS_AS((void)pool.acquire({.timeout = 500ms}), AcquireTimeout); });
    // Inside the adapter's create (counted and waiting under the script's
    // lock), not merely counted by the pool: release_hangs() only ends a
    // delay in progress.
    REQUIRE(testing::eventually([&] { return f.fake->script()->counters().create_calls == 3; }));
    pool.resize(2);
    f.fake->release_hangs();
    REQUIRE(testing::eventually([&] { return pool.stats().creating == 0 && f.fake->created() == 3; }));
    REQUIRE(testing::eventually([&] { return pool.stats().destroyed[DestroyReason::retired] == 1; }));
    CHECK(pool.stats().total == 2);
    waiter.join();
    CHECK(f.fake->live() == 2);
}

TEST_CASE("growing lets a waiter get a new resource at once")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(1)};
    auto a = pool.acquire();
    std::atomic<bool> served{false};
    std::thread waiter([&] {
        auto b = pool.acquire({.timeout = 5s});
        served = true;
    });
    REQUIRE(testing::eventually([&] { return pool.stats().waiting == 1; }));
    const auto start = SteadyClock::now();
    pool.resize(2);
    waiter.join();
    CHECK(served.load());
    CHECK(ms_since(start) < 2000);
    CHECK(pool.stats().max_size == 2);
    CHECK(f.fake->created() == 2);
}

TEST_CASE("set_min_idle refills at once, and a lower one lets idle eviction trim")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(4)};
    CHECK(pool.stats().total == 0);
    pool.set_min_idle(3);
    REQUIRE(testing::eventually([&] { return pool.stats().idle == 3; }));
    pool.set_min_idle(1);
    f.clock->advance(11min);  // past idle_timeout
    pool.run_maintenance();
    CHECK(pool.stats().idle == 1);
    CHECK(pool.stats().destroyed[DestroyReason::idle] == 2);
}

TEST_CASE("wait_ready returns once min_idle resources exist")
{
    Fixture f;
    auto o = f.options(4);
    o.min_idle = 3;
    f.fake->set_create_delay(20ms);
    FakePool pool{f.adapter(), o};
    const auto start = SteadyClock::now();
    pool.wait_ready(5s);
    CHECK(ms_since(start) < 4000);
    CHECK(pool.stats().total >= 3);

    Fixture g;
    FakePool empty{g.adapter(), g.options(2)};  // min_idle 0: ready at once
    empty.wait_ready(0ms);
    CHECK(empty.stats().total == 0);
}

TEST_CASE("wait_ready throws CreateFailed with the cause when creation keeps failing")
{
    Fixture f;
    auto o = f.options(4);
    o.min_idle = 2;
    o.logger = [](LogLevel, std::string_view) {};
    f.fake->fail_next_creates(1000, "fake: connection refused");
    FakePool pool{f.adapter(), o};
    const auto start = SteadyClock::now();
    try {
        pool.wait_ready(200ms);
        FAIL("wait_ready returned");
    } catch (const CreateFailed& e) {
        CHECK(e.last_error() == "fake: connection refused");
        CHECK(e.cause_as<testing::FakeError>() != nullptr);
        CHECK(std::string(e.what()).find("0 of min_idle 2") != std::string::npos);
    }
    CHECK(ms_since(start) >= 200);
    CHECK(ms_since(start) < 4000);
}

TEST_CASE("wait_ready gives up at once on a fatal creation failure, with its cause")
{
    Fixture f;
    auto o = f.options(4);
    o.min_idle = 2;
    o.logger = [](LogLevel, std::string_view) {};
    f.fake->fail_next_creates_fatally(1000, "fake: password authentication failed");
    FakePool pool{f.adapter(), o};
    const auto start = SteadyClock::now();
    try {
        pool.wait_ready(20s);
        FAIL("wait_ready returned");
    } catch (const CreateFailed& e) {
        CHECK(e.last_error() == "fake: password authentication failed");
        CHECK(std::string(e.what()).find("wait_ready gave up") != std::string::npos);
    }
    CHECK(ms_since(start) < 10'000);  // not the 20 s timeout
}

TEST_CASE("wait_ready throws AcquireTimeout saying how many exist when creation is slow, not failing")
{
    Fixture f;
    auto o = f.options(4);
    o.min_idle = 2;
    o.max_concurrent_creates = 1;
    FakePool pool{f.adapter(), o};
    pool.wait_ready(5s);
    f.fake->set_create_delay(2s);
    pool.set_min_idle(4);
    try {
        pool.wait_ready(50ms);
        FAIL("wait_ready returned");
    } catch (const AcquireTimeout& e) {
        CHECK(std::string(e.what()).find("2 of min_idle 4 resource(s) exist") != std::string::npos);
    }
    f.fake->release_hangs();
}

TEST_CASE("shrinking in shared mode: a channel given a lease back while the pool is over its size takes no new lease")
{
    Fixture f;
    FakePool pool{f.adapter(LeaseMode::shared(2)), f.options(2)};
    auto a1 = pool.acquire();
    auto a2 = pool.acquire();  // both on the first channel
    auto a3 = pool.acquire();  // the second channel
    const auto first = a1->serial;
    REQUIRE(a2->serial == first);
    REQUIRE(a3->serial != first);
    pool.resize(1);
    a1.release();  // the first channel retires: it still carries a2
    auto s = pool.stats();
    CHECK(s.total == 2);
    std::size_t retiring = 0;
    for (const auto& r : s.resources) retiring += r.retiring;
    CHECK(retiring == 1);
    auto b = pool.acquire({.timeout = 1s});  // on the second channel, not the retiring one
    CHECK(b->serial == a3->serial);
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 20ms}), AcquireTimeout);  // no room to create
    a2.release();  // the retiring channel goes
    CHECK(pool.stats().total == 1);
    CHECK(pool.stats().destroyed[DestroyReason::retired] == 1);
    a3.release();
    b.release();
    CHECK(pool.stats().idle == 1);
    CHECK(f.fake->violations().empty());
}
