// The run-time API under concurrency: callers acquire and give back while
// another thread resizes, pauses, retires and detaches. The fake adapter
// records misuse (a resource used by two exclusive holders, destroyed twice
// or while in use), and debug builds check the pool's invariants at every step.
#include <doctest/doctest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {
void run_race(LeaseMode mode)
{
    Fixture f;
    auto o = f.options(4);
    o.logger = [](LogLevel, std::string_view) {};
    Hooks<testing::FakeResource> hooks;
    std::atomic<int> hook_calls{0};
    hooks.on_acquire = [&](testing::FakeResource& r) { return ++hook_calls % 17 != 0 || r.serial == 0; };
    hooks.on_release = [&](testing::FakeResource&) { return hook_calls % 23 != 0; };
    FakePool pool{f.adapter(mode), o, hooks};
    std::atomic<bool> stop{false};
    std::atomic<long> served{0}, detached{0};
    std::vector<std::jthread> callers;
    for (int t = 0; t < 6; ++t)
        callers.emplace_back([&] {
            while (!stop) {
                try {
                    auto lease = pool.acquire({.timeout = 20ms});
                    auto use = lease->use();  // a violation if another exclusive holder has it
                    ++served;
                } catch (const Error&) {
                    // timeouts while paused or shrunk are expected
                }
            }
        });
    std::jthread detacher([&] {
        if (mode.is_shared()) return;
        while (!stop) {
            try {
                auto lease = pool.acquire({.timeout = 20ms});
                testing::FakeResource own = lease.detach();
                ++detached;
                f.fake->destroy(own);  // ours now: we end it as the adapter would
            } catch (const Error&) {
            }
            std::this_thread::sleep_for(2ms);
        }
    });
    std::mt19937 rng(7);
    const auto until = SteadyClock::now() + 800ms;
    while (SteadyClock::now() < until) {
        switch (rng() % 7) {
        case 0: pool.resize(1 + rng() % 4); break;
        case 1: pool.pause(); break;
        case 2: pool.resume(); break;
        case 3: pool.retire_all(); break;
        case 4: pool.retire_if([&](const testing::FakeResource& r) { return r.serial % 3 == 0; }); break;
        case 5: pool.set_min_idle(std::min<std::size_t>(rng() % 2, pool.stats().max_size)); break;
        case 6: (void)pool.stats(); pool.run_maintenance(); break;
        }
        std::this_thread::sleep_for(1ms);
    }
    pool.resume();
    stop = true;
    callers.clear();
    detacher.join();
    CHECK(served.load() > 0);
    const auto s = pool.stats();
    CHECK(s.leases == 0);
    CHECK(s.total <= s.max_size);
    CHECK(s.detached == static_cast<std::uint64_t>(detached.load()));
    CHECK(s.acquired_direct + s.acquired_waited == s.acquired);
    CHECK(f.fake->max_live() <= 5);  // max_size 4, and one detached at a time
    CHECK(f.fake->violations().empty());
    for (const auto& v : f.fake->violations()) MESSAGE(v);
    CHECK(pool.close(2s));
    CHECK(f.fake->live() == 0);
}
} // namespace

TEST_CASE("resize, pause, retire and detach race with callers without breaking an invariant (exclusive)")
{
    run_race(LeaseMode::exclusive());
}

TEST_CASE("the same in shared mode")
{
    run_race(LeaseMode::shared(3));
}
