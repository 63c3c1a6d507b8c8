// G4 of TESTPLAN.md, the core's half: run by test_wall_clock_jump under
// libfaketime, which fakes the wall clock (CLOCK_REALTIME) from a file the
// program rewrites to jump it, and leaves CLOCK_MONOTONIC alone. The pool's
// timeouts and lifetimes must not notice a jump of a day either way: they
// run on the steady clock. Each check first proves the jump happened (the
// wall clock moved by about a day), so a run without libfaketime fails
// instead of passing vacuously. Prints one line per failure; exit status 0
// only when every check held.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include <respool/pool.hpp>
#include <respool/testing.hpp>

using namespace std::chrono_literals;
using respool::SteadyClock;
using respool::testing::FakeAdapter;
using respool::testing::FakeController;

namespace {

int failures = 0;
const char* spec_file = nullptr;

void check(bool ok, const std::string& what)
{
    if (ok) return;
    ++failures;
    std::printf("FAILED: %s\n", what.c_str());
}

/// Rewrites libfaketime's spec: "+1d" puts the wall clock a day ahead.
void set_wall_offset(const char* spec)
{
    std::ofstream(spec_file, std::ios::trunc) << spec << "\n";
}

long long ms_since(SteadyClock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
}

// How far the wall clock moved since `from`, rounded to whole hours (the
// jump is a day, the time the test took meanwhile a second or two).
long long wall_hours(std::chrono::system_clock::time_point from)
{
    return std::chrono::round<std::chrono::hours>(std::chrono::system_clock::now() - from).count();
}

// A waiter's timeout runs its own length although the wall clock jumps by
// `jump` 100 ms into it: a wall-clock wait would end at once (forward) or
// hang for a day (backward).
void timeout_survives(const char* jump, long long expected_hours)
{
    set_wall_offset("+0");
    auto fake = std::make_shared<FakeController>();
    respool::PoolOptions o;
    o.max_size = 1;
    respool::Pool pool{FakeAdapter{fake}, o};
    auto held = pool.acquire();
    const auto wall_before = std::chrono::system_clock::now();
    std::jthread jumper([&] {
        std::this_thread::sleep_for(100ms);
        set_wall_offset(jump);
    });
    const auto start = SteadyClock::now();
    bool timed_out = false;
    try {
        (void)pool.acquire({.timeout = 400ms});
    } catch (const respool::AcquireTimeout&) {
        timed_out = true;
    }
    const long long took = ms_since(start);
    jumper.join();
    const long long moved = wall_hours(wall_before);
    check(moved == expected_hours, std::string("the wall clock jumped (") + jump + "): moved " + std::to_string(moved) + " h");
    check(timed_out, std::string("acquire(400 ms) timed out across a wall-clock jump of ") + jump);
    // [T, T + 400 ms]: generous for a loaded machine, far from 0 or a day.
    check(took >= 400 && took <= 800,
          std::string("acquire(400 ms) took ") + std::to_string(took) + " ms across a jump of " + jump);
    set_wall_offset("+0");
}

// A resource's lifetime counts steady time: a day's jump either way neither
// retires it early nor keeps it past its lifetime.
void lifetime_survives()
{
    set_wall_offset("+0");
    auto fake = std::make_shared<FakeController>();
    respool::PoolOptions o;
    o.max_size = 1;
    o.max_lifetime = 1500ms;
    o.lifetime_jitter = 0;
    o.idle_timeout = 0ms;  // never evicted for idleness: only the lifetime retires it
    o.background_housekeeping = false;
    respool::Pool pool{FakeAdapter{fake}, o};
    const auto start = SteadyClock::now();
    const std::uint64_t first = pool.acquire()->serial;
    const auto wall_before = std::chrono::system_clock::now();
    set_wall_offset("+1d");
    check(wall_hours(wall_before) == 24, "the wall clock jumped a day ahead");
    pool.run_maintenance();
    check(pool.stats().destroyed[respool::DestroyReason::lifetime] == 0,
          "a wall-clock jump of a day ahead retired a resource 0.0 s into its 1.5 s lifetime");
    check(pool.acquire()->serial == first, "the same resource is lent after the forward jump");
    set_wall_offset("-1d");
    pool.run_maintenance();
    // Past the lifetime in steady time (the wall clock now a day behind):
    // the resource is retired all the same.
    std::this_thread::sleep_until(start + 1500ms + 100ms);
    pool.run_maintenance();
    check(pool.stats().destroyed[respool::DestroyReason::lifetime] == 1,
          "a resource past its 1.5 s steady lifetime was retired although the wall clock went back a day");
    check(pool.acquire()->serial != first, "a new resource replaces the retired one");
    set_wall_offset("+0");
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::printf("usage: %s <libfaketime spec file>\n", argv[0]);
        return 2;
    }
    spec_file = argv[1];
    timeout_survives("+1d", 24);
    timeout_survives("-1d", -24);
    lifetime_survives();
    std::printf("%d check(s) failed\n", failures);
    return failures == 0 ? 0 : 1;
}
