// The two synchronisation pieces under the pool: the futex mutex every
// operation takes, and the parker a queued caller sleeps on. Both are
// internal; they are tested here because every pool guarantee rests on them
// (and this suite also runs under ThreadSanitizer and AddressSanitizer).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <respool/detail/pool_mutex.hpp>

#include "../../core/src/parker.hpp"

using respool::Deadline;
using respool::SteadyClock;
using respool::detail::Parker;

namespace {
// CPU time used by every thread of this process so far.
std::chrono::nanoseconds process_cpu_time()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}
} // namespace
using respool::detail::PoolMutex;
using namespace std::chrono_literals;

TEST_CASE("PoolMutex excludes: many threads incrementing a plain counter lose nothing")
{
    PoolMutex mu;
    long counter = 0;  // deliberately not atomic: only the mutex protects it
    constexpr int threads = 8, rounds = 20'000;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            for (int i = 0; i < rounds; ++i) {
                std::lock_guard lk(mu);
                ++counter;
            }
        });
    for (auto& th : pool) th.join();
    CHECK(counter == long{threads} * rounds);
}

TEST_CASE("PoolMutex try_lock fails while held and succeeds once released")
{
    PoolMutex mu;
    mu.lock();
    bool got = true;
    std::thread([&] { got = mu.try_lock(); }).join();
    CHECK_FALSE(got);
    mu.unlock();
    std::thread([&] {
        got = mu.try_lock();
        if (got) mu.unlock();
    }).join();
    CHECK(got);
}

TEST_CASE("PoolMutex: a holder that sleeps makes the others sleep, and unlock wakes them")
{
    PoolMutex mu;
    std::atomic<int> started{0}, entered{0};
    mu.lock();
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t)
        pool.emplace_back([&] {
            started.fetch_add(1);
            std::lock_guard lk(mu);
            entered.fetch_add(1);
        });
    while (started.load() < 4) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(50ms);  // long past the spin
    // Asleep on the futex, four blocked threads burn no CPU: over 300 ms the
    // whole process uses far less than one spinning thread would (300 ms).
    // A load on the machine can only lower a spinner's share, never raise a
    // sleeper's, so the bound holds on a busy machine too.
    const auto cpu_before = process_cpu_time();
    std::this_thread::sleep_for(300ms);
    const auto cpu_used = process_cpu_time() - cpu_before;
    CHECK(entered.load() == 0);
    CHECK(cpu_used < 60ms);
    mu.unlock();
    for (auto& th : pool) th.join();
    CHECK(entered.load() == 4);
}

TEST_CASE("Parker counts tokens: each post lets exactly one wait through")
{
    Parker p;
    p.post();
    p.post();
    p.post();
    const Deadline now = SteadyClock::now();
    CHECK(p.wait_until(now));
    CHECK(p.wait_until(now));
    CHECK(p.wait_until(now));
    CHECK_FALSE(p.wait_until(now));
}

TEST_CASE("Parker: a wait without a token ends at its deadline, not before")
{
    Parker p;
    const Deadline deadline = SteadyClock::now() + 30ms;
    CHECK_FALSE(p.wait_until(deadline));
    CHECK(SteadyClock::now() >= deadline);
    // A token posted after a timed-out wait is still there for the next one.
    p.post();
    CHECK(p.wait_until(SteadyClock::now()));
}

TEST_CASE("Parker: a post from another thread wakes a sleeping owner")
{
    Parker p;
    std::thread poster([&] {
        std::this_thread::sleep_for(20ms);
        p.post();
    });
    CHECK(p.wait_until(SteadyClock::now() + 10s));
    poster.join();
    p.post();
    p.wait();  // the untimed form returns once a token is there
}

TEST_CASE("Parker: the owner may destroy it as soon as it has its token, while the poster is still in post")
{
    // The pool's hand-off relies on this: the granter posts after releasing
    // the lock, and the granted caller returns (and its stack frame, with the
    // parker, goes) as soon as it sees the token.
    constexpr int rounds = 2'000;
    std::atomic<Parker*> slot{nullptr};
    std::atomic<bool> done{false};
    std::thread poster([&] {
        while (!done.load()) {
            if (Parker* p = slot.exchange(nullptr)) p->post();
        }
    });
    for (int i = 0; i < rounds; ++i) {
        auto p = std::make_unique<Parker>();
        slot.store(p.get());
        p->wait();
        p.reset();  // gone while post may still be in its system call
    }
    done.store(true);
    poster.join();
    CHECK(slot.load() == nullptr);
}
