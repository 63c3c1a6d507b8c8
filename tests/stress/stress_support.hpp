// Shared by the stress suites (TESTPLAN.md S1, S2, S4, S5): how long to run,
// the test's own counts, and the invariants checked throughout and at the end.
//
// Worker threads never call doctest macros: they record broken invariants in
// a `Failures` list, which the test's own thread checks at the end. That keeps
// the hot loops cheap and the assertions on one thread.
//
// Scale: every duration and round count is multiplied by `scale()`: the
// environment variable RESPOOL_STRESS_SCALE if set, else 0.2 under a
// sanitizer (TSan runs ~10x slower), else 1.0.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <respool/pool.hpp>
#include <respool/testing.hpp>

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define RESPOOL_STRESS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define RESPOOL_STRESS_SANITIZED 1
#endif
#endif
#ifndef RESPOOL_STRESS_SANITIZED
#define RESPOOL_STRESS_SANITIZED 0
#endif

namespace stress {

using namespace std::chrono_literals;
using respool::testing::FakeController;

inline constexpr bool sanitized = RESPOOL_STRESS_SANITIZED != 0;

/// Multiplier of durations and round counts (see the header comment).
inline double scale()
{
    static const double value = [] {
        if (const char* env = std::getenv("RESPOOL_STRESS_SCALE")) {
            char* end = nullptr;
            const double v = std::strtod(env, &end);
            if (end != env && v > 0) return v;
        }
        return sanitized ? 0.2 : 1.0;
    }();
    return value;
}

inline std::chrono::milliseconds scaled(std::chrono::milliseconds base)
{
    const auto ms = static_cast<std::int64_t>(static_cast<double>(base.count()) * scale());
    return std::chrono::milliseconds(ms < 1 ? 1 : ms);
}

inline std::uint64_t scaled(std::uint64_t rounds)
{
    const auto n = static_cast<std::uint64_t>(static_cast<double>(rounds) * scale());
    return n < 1 ? 1 : n;
}

/// How late an acquire may return after its timeout before we call it a bug.
/// The stress suites run 8-16 busy threads on a shared 2-core machine, where
/// a thread can wait in the run queue for hundreds of milliseconds (seen:
/// 580 ms at load 7), so this is far above TESTPLAN's 150 ms; the suites make
/// their hangs last seconds, so a pool that waits on a hung hook still shows.
inline std::chrono::milliseconds lateness_tolerance()
{
    return sanitized ? 2000ms : 750ms;
}

/// Seed of the run: RESPOOL_STRESS_SEED if set, else random (printed by the test).
inline std::uint64_t seed()
{
    static const std::uint64_t value = [] {
        if (const char* env = std::getenv("RESPOOL_STRESS_SEED")) return std::uint64_t{std::strtoull(env, nullptr, 0)};
        return std::uint64_t{(std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()};
    }();
    return value;
}

/// Broken invariants seen by any thread; the first few are kept with their text.
class Failures {
public:
    void add(std::string what)
    {
        count_.fetch_add(1, std::memory_order_relaxed);
        // First line only: timeouts carry a long list of holders.
        if (const auto eol = what.find('\n'); eol != std::string::npos) what.resize(eol);
        if (what.size() > 300) what.resize(300);
        std::lock_guard lk(mu_);
        if (kept_.size() < 20) kept_.push_back(std::move(what));
    }
    std::uint64_t count() const { return count_.load(); }
    std::string text() const
    {
        std::lock_guard lk(mu_);
        std::string out;
        for (const auto& s : kept_) out += s + "\n";
        return out;
    }

private:
    std::atomic<std::uint64_t> count_{0};
    mutable std::mutex mu_;
    std::vector<std::string> kept_;
};

/// What the test itself saw, to compare with the pool's counters at the end.
struct OpCounts {
    std::atomic<std::uint64_t> acquired{0};       // leases obtained (acquire and try_acquire)
    std::atomic<std::uint64_t> try_empty{0};      // try_acquire returned nullopt
    std::atomic<std::uint64_t> timeouts{0};       // AcquireTimeout
    std::atomic<std::uint64_t> timeouts_validating{0};
    std::atomic<std::uint64_t> timeouts_creating{0};
    std::atomic<std::uint64_t> create_failed{0};  // CreateFailed (and CircuitOpen)
    std::atomic<std::uint64_t> cancelled{0};      // Cancelled
    std::atomic<std::uint64_t> late{0};           // returned later than timeout + tolerance
    std::atomic<std::int64_t> worst_late_us{0};

    void note_lateness(std::chrono::nanoseconds over_timeout)
    {
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(over_timeout).count();
        std::int64_t seen = worst_late_us.load();
        while (us > seen && !worst_late_us.compare_exchange_weak(seen, us)) {
        }
        if (over_timeout > lateness_tolerance()) late.fetch_add(1);
    }
};

/// The gauge invariants of TESTPLAN.md on one consistent snapshot, plus the
/// fake adapter's own live count. `max_waiting` is the number of threads that
/// can wait at once.
inline void check_gauges(const respool::PoolStats& s, const FakeController& c, std::size_t cap,
                         std::size_t max_waiting, Failures& failures)
{
    auto fail = [&](const char* rule) {
        failures.add(fmt::format("{}: total={} idle={} in_use={} creating={} leases={} waiting={} resources={} "
                                 "max_size={} fake_live={}",
                                 rule, s.total, s.idle, s.in_use, s.creating, s.leases, s.waiting,
                                 s.resources.size(), s.max_size, c.live()));
    };
    // A counter below zero shows up as a huge size_t, which these catch too.
    if (s.idle + s.in_use + s.creating > s.total) fail("idle + in_use + creating > total");
    if (s.total > s.max_size) fail("total > max_size");
    if (s.resources.size() != s.idle + s.in_use) fail("live resources != idle + in_use");
    if (s.leases < s.in_use || s.leases > s.in_use * cap) fail("leases outside [in_use, in_use * cap]");
    if (s.waiting > max_waiting) fail("more waiting than threads");
    if (c.live() > static_cast<int>(s.max_size)) fail("the fake adapter counts more live resources than max_size");
}

/// Samples `check_gauges` on its own thread until destroyed.
template <class A>
class InvariantMonitor {
public:
    InvariantMonitor(respool::Pool<A>& pool, const FakeController& c, std::size_t cap, std::size_t max_waiting,
                     Failures& failures)
        : thread_([this, &pool, &c, cap, max_waiting, &failures](std::stop_token stop) {
              while (!stop.stop_requested()) {
                  check_gauges(pool.stats(), c, cap, max_waiting, failures);
                  samples_.fetch_add(1, std::memory_order_relaxed);
                  // Pacing only: how often to look, not a synchronisation.
                  std::this_thread::sleep_for(200us);
              }
          })
    {
    }
    std::uint64_t samples() const { return samples_.load(); }

private:
    std::atomic<std::uint64_t> samples_{0};
    std::jthread thread_;  // last: starts once samples_ exists, stops before it goes
};

/// `pool.acquire(options)`, with its outcome classified into `counts` and
/// checked to come back by its deadline; an empty optional when it failed.
template <class A>
std::optional<respool::Lease<A>> timed_acquire(respool::Pool<A>& pool, const respool::AcquireOptions& options,
                                               OpCounts& counts, Failures& failures)
{
    const auto t0 = std::chrono::steady_clock::now();
    auto over = [&] { return std::chrono::steady_clock::now() - t0 - options.timeout; };
    try {
        auto lease = pool.acquire(options);
        counts.note_lateness(over());
        counts.acquired.fetch_add(1, std::memory_order_relaxed);
        return lease;
    } catch (const respool::AcquireTimeout& e) {
        counts.note_lateness(over());
        counts.timeouts.fetch_add(1, std::memory_order_relaxed);
        if (e.phase() == respool::AcquirePhase::validating) counts.timeouts_validating.fetch_add(1);
        if (e.phase() == respool::AcquirePhase::creating) counts.timeouts_creating.fetch_add(1);
    } catch (const respool::CreateFailed&) {
        counts.note_lateness(over());
        counts.create_failed.fetch_add(1, std::memory_order_relaxed);
    } catch (const respool::Cancelled&) {
        counts.note_lateness(over());
        counts.cancelled.fetch_add(1, std::memory_order_relaxed);
    } catch (const std::exception& e) {
        failures.add(fmt::format("acquire threw an unexpected exception: {}", e.what()));
    }
    return std::nullopt;
}

/// `pool.try_acquire()`, counted; it may only fail by returning nullopt.
template <class A>
std::optional<respool::Lease<A>> counted_try_acquire(respool::Pool<A>& pool, OpCounts& counts, Failures& failures)
{
    try {
        auto lease = pool.try_acquire();
        (lease ? counts.acquired : counts.try_empty).fetch_add(1, std::memory_order_relaxed);
        return lease;
    } catch (const std::exception& e) {
        failures.add(fmt::format("try_acquire threw (it may only return nullopt on an open pool): {}", e.what()));
    }
    return std::nullopt;
}

/// Uses a leased fake resource the way an application would: the fake
/// records a violation if it was destroyed or someone else holds it.
template <class L>
void touch(const L& lease)
{
    auto in_use = lease->use();
}

/// The end-of-test checks: nothing leased or waiting, then close and compare
/// the pool's counters with the fake adapter's and the test's own.
template <class A>
void check_after_close(std::optional<respool::Pool<A>>& pool, FakeController& c, const OpCounts& counts,
                       const Failures& failures)
{
    CHECK_MESSAGE(failures.count() == 0, failures.count(), " broken invariant(s):\n", failures.text());
    const auto before = pool->stats();
    CHECK(before.leases == 0);
    CHECK(before.in_use == 0);
    CHECK(before.waiting == 0);
    CHECK(pool->leases().empty());

    c.release_hangs();  // hung creations would otherwise end only at their create_timeout
    CHECK(pool->close(std::chrono::milliseconds(0)));
    CHECK(respool::testing::eventually([&] {
        const auto s = pool->stats();
        return s.total == 0 && s.creating == 0;
    }));
    const auto s = pool->stats();
    const std::vector<std::string> violations = c.violations();
    std::string violation_text;
    for (const auto& v : violations) violation_text += v + "\n";
    CHECK_MESSAGE(violations.empty(), violation_text);
    CHECK(s.leases == 0);
    CHECK(s.idle == 0);
    CHECK(s.resources.empty());
    CHECK(s.created == static_cast<std::uint64_t>(c.created()));
    CHECK(s.destroyed.total() == static_cast<std::uint64_t>(c.destroyed()));
    CHECK(c.created() == c.destroyed());
    CHECK(c.live() == 0);
    // Failed creates, plus new resources the adapter found broken or invalid
    // before they served a lease (those count as failed creations too, and
    // were destroyed as broken or by validation).
    const auto failed_creates = static_cast<std::uint64_t>(c.create_calls() - c.created());
    CHECK(s.create_failures >= failed_creates);
    CHECK(s.create_failures - failed_creates <=
          s.destroyed[respool::DestroyReason::broken] + s.destroyed[respool::DestroyReason::validation]);
    CHECK(s.acquired == counts.acquired.load());
    CHECK(s.timeouts == counts.timeouts.load());
    CHECK(s.cancellations == counts.cancelled.load());
    CHECK(c.max_live() <= static_cast<int>(s.max_size));
    CHECK(c.max_creates_in_flight() <= static_cast<int>(pool->options().max_concurrent_creates));
    CHECK_MESSAGE(counts.late.load() == 0, counts.late.load(), " acquire(s) returned more than ",
                  lateness_tolerance().count(), " ms after their timeout; worst ",
                  counts.worst_late_us.load(), " us");
    pool.reset();  // waits for the pool's threads; must not hang
    CHECK(c.live() == 0);
}

/// One line for the log: what a run did, so a reader can see it did work.
inline std::string summary(const respool::PoolStats& s, const OpCounts& counts)
{
    return fmt::format("acquired {} | timeouts {} (validating {}, creating {}) | create failures seen {} | "
                       "cancelled {} | created {} destroyed {} (idle {}, lifetime {}, broken {}, validation {}) | "
                       "worst lateness {} us",
                       counts.acquired.load(), counts.timeouts.load(), counts.timeouts_validating.load(),
                       counts.timeouts_creating.load(), counts.create_failed.load(), counts.cancelled.load(),
                       s.created, s.destroyed.total(), s.destroyed[respool::DestroyReason::idle],
                       s.destroyed[respool::DestroyReason::lifetime], s.destroyed[respool::DestroyReason::broken],
                       s.destroyed[respool::DestroyReason::validation], counts.worst_late_us.load());
}

} // namespace stress
