// Shared by the stress suites (TESTPLAN.md S1, S2, S4, S5): how much work to
// do, the test's own counts, and the invariants checked throughout and at
// the end.
//
// Worker threads never call doctest macros: they record broken invariants in
// a `Failures` list, which the test's own thread checks at the end. That keeps
// the hot loops cheap and the assertions on one thread.
//
// Work, not wall time: a run goes on until it has done a minimum number of
// operations (`WorkBudget`), with a generous time cap as a safety net; the
// counts a test asserts follow from the number of operations (and from
// scheduled faults: "the 5th create fails"), never from how much CPU the
// machine gave it. A run that hits the time cap before its minimum fails and
// says so.
//
// Scale: minimum operation counts are multiplied by `scale()`: the
// environment variable RESPOOL_STRESS_SCALE if set, else 0.2 under a
// sanitizer (TSan runs ~10-40x slower), else 1.0.
//
// Lateness: an acquire may come back after its timeout by the scheduling
// delay it suffered, measured two ways and added: the thread's own run-queue
// wait during the acquire (the kernel's schedstat, `OwnDelay`), and the
// machine's lag meanwhile (`LagMonitor`: a thread that sleeps 1 ms over and
// over and records how late it woke, and every 5 ms the longest run-queue
// wait any thread of the process had — a lock holder that was preempted
// delays every thread waiting for its lock), plus a fixed allowance (TESTPLAN's 150 ms; more under
// sanitizers). On a quiet machine both are near zero and the bound is
// tight; on a busy one it grows exactly as much as the threads were late.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

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

inline std::uint64_t scaled(std::uint64_t rounds)
{
    const auto n = static_cast<std::uint64_t>(static_cast<double>(rounds) * scale());
    return n < 1 ? 1 : n;
}

/// How long a run may take at most before it counts as stuck: generous, so a
/// loaded machine reaches the minimum long before (RESPOOL_STRESS_TIME_CAP_S
/// overrides it, in seconds).
inline std::chrono::milliseconds time_cap()
{
    static const std::chrono::milliseconds value = [] {
        if (const char* env = std::getenv("RESPOOL_STRESS_TIME_CAP_S")) {
            const long v = std::strtol(env, nullptr, 10);
            if (v > 0) return std::chrono::milliseconds(v * 1000);
        }
        return std::chrono::milliseconds(sanitized ? 240'000 : 120'000);
    }();
    return value;
}

/// Run until `minimum` operations are done (counted with `add`), or the time
/// cap passes. Shared by the workers of one run.
class WorkBudget {
public:
    explicit WorkBudget(std::uint64_t minimum, std::chrono::milliseconds cap = time_cap())
        : minimum_(minimum), start_(std::chrono::steady_clock::now()), cap_(start_ + cap)
    {
    }
    /// Counts the work in `counter` (e.g. leases obtained) instead of `add()`.
    WorkBudget(const std::atomic<std::uint64_t>& counter, std::uint64_t minimum, const char* unit,
               std::chrono::milliseconds cap = time_cap())
        : WorkBudget(minimum, cap)
    {
        counter_ = &counter;
        unit_ = unit;
    }
    void add(std::uint64_t n = 1) { done_.fetch_add(n, std::memory_order_relaxed); }
    /// True once the minimum is reached or the cap has passed.
    bool over() const { return done() >= minimum_ || std::chrono::steady_clock::now() >= cap_; }
    bool reached() const { return done() >= minimum_; }
    std::uint64_t done() const { return (counter_ ? *counter_ : done_).load(std::memory_order_relaxed); }
    std::uint64_t minimum() const { return minimum_; }
    std::chrono::milliseconds elapsed() const
    {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_);
    }
    std::string describe() const
    {
        return fmt::format("{} of {} {} in {} ms", done(), minimum_, unit_, elapsed().count());
    }

private:
    std::atomic<std::uint64_t> done_{0};
    const std::atomic<std::uint64_t>* counter_ = nullptr;
    const char* unit_ = "operations";
    std::uint64_t minimum_;
    std::chrono::steady_clock::time_point start_, cap_;
};

/// The machine's scheduling delay over time: a thread sleeps 1 ms again and
/// again and records, per 10 ms bucket since it started, how late it woke.
/// `lag_around(t0, t1)` is the worst lateness seen from t0 to a little after
/// t1: a thread waiting for a timeout in that span could have been that late
/// through no fault of the pool.
class LagMonitor {
public:
    LagMonitor() : start_(std::chrono::steady_clock::now()), buckets_(bucket_count)
    {
        thread_ = std::jthread([this](std::stop_token stop) {
            auto scanned_at = std::chrono::steady_clock::now();
            int round = 0;
            while (!stop.stop_requested()) {
                const auto t0 = std::chrono::steady_clock::now();
                std::this_thread::sleep_for(1ms);
                const auto t1 = std::chrono::steady_clock::now();
                record(t0, t1, std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0 - 1ms).count());
                // Every 5 ms: the most any thread of this process waited on a
                // run queue meanwhile. A thread preempted while it holds the
                // pool's lock delays every thread waiting for that lock, and
                // this monitor, a sleeper the scheduler favours, would not see
                // it in its own wake-ups.
                if (++round % 5 == 0) {
                    record(scanned_at, t1, worst_runqueue_wait_since_last_scan());
                    scanned_at = t1;
                }
            }
        });
    }
    ~LagMonitor() { thread_.request_stop(); }

    /// Worst wake-up lag seen from `t0` to 100 ms after `t1`.
    std::chrono::microseconds lag_around(std::chrono::steady_clock::time_point t0,
                                         std::chrono::steady_clock::time_point t1) const
    {
        std::int64_t worst = 0;
        const std::size_t last = std::min(bucket(t1 + 100ms), bucket_count - 1);
        for (std::size_t b = bucket(t0); b <= last; ++b) worst = std::max(worst, buckets_[b].load());
        return std::chrono::microseconds(worst);
    }
    /// Worst lag over the whole run so far.
    std::chrono::microseconds worst() const
    {
        std::int64_t worst = 0;
        for (const auto& b : buckets_) worst = std::max(worst, b.load());
        return std::chrono::microseconds(worst);
    }

private:
    static constexpr std::size_t bucket_count = 60'000;  // 10 min at 10 ms

    // Every bucket in [t0, t1] saw a lag of `lag_us`.
    void record(std::chrono::steady_clock::time_point t0, std::chrono::steady_clock::time_point t1, std::int64_t lag_us)
    {
        for (std::size_t b = bucket(t0); b <= bucket(t1) && b < bucket_count; ++b) {
            std::int64_t seen = buckets_[b].load(std::memory_order_relaxed);
            while (lag_us > seen && !buckets_[b].compare_exchange_weak(seen, lag_us)) {
            }
        }
    }

    // The largest growth of any thread's run-queue wait (schedstat) since the
    // last call, in microseconds; 0 where the kernel does not say.
    std::int64_t worst_runqueue_wait_since_last_scan()
    {
        std::int64_t worst = 0;
        DIR* dir = ::opendir("/proc/self/task");
        if (!dir) return 0;
        while (const dirent* e = ::readdir(dir)) {
            if (e->d_name[0] == '.') continue;
            char path[320];  // "/proc/self/task/" + a d_name of up to 255 bytes + "/schedstat"
            std::snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
            const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;
            char buf[128];
            const ssize_t n = ::read(fd, buf, sizeof buf - 1);
            ::close(fd);
            if (n <= 0) continue;
            buf[n] = 0;
            unsigned long long run = 0, wait = 0;
            if (std::sscanf(buf, "%llu %llu", &run, &wait) != 2) continue;
            const long tid = std::strtol(e->d_name, nullptr, 10);
            const auto it = last_wait_.find(tid);
            if (it != last_wait_.end() && wait > it->second)
                worst = std::max(worst, static_cast<std::int64_t>((wait - it->second) / 1000));
            last_wait_[tid] = wait;
        }
        ::closedir(dir);
        return worst;
    }
    std::map<long, unsigned long long> last_wait_;  // the monitor thread's own
    std::size_t bucket(std::chrono::steady_clock::time_point t) const
    {
        if (t < start_) return 0;
        return static_cast<std::size_t>(std::chrono::duration_cast<std::chrono::milliseconds>(t - start_).count() / 10);
    }
    std::chrono::steady_clock::time_point start_;
    std::vector<std::atomic<std::int64_t>> buckets_;
    std::jthread thread_;  // last: starts once the buckets exist
};

/// The fixed part of the lateness allowance, above the measured lag:
/// TESTPLAN's 150 ms, and 500 ms under a sanitizer (its own pauses — TSan's
/// shadow-memory resets, ASan's quarantine — do not show as scheduling lag).
inline std::chrono::milliseconds lateness_allowance()
{
    return sanitized ? 500ms : 150ms;
}

/// The one lag monitor of the process, started on first use.
inline const LagMonitor& lag_monitor()
{
    static const LagMonitor monitor;
    return monitor;
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

/// How long this thread has waited on a run queue, runnable but not running,
/// since it started (the kernel's /proc/thread-self/schedstat, second field):
/// the thread's own scheduling delay. -1 where the kernel does not say.
inline std::int64_t own_runqueue_wait_ns()
{
    struct File {
        int fd = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
        ~File()
        {
            if (fd >= 0) ::close(fd);
        }
    };
    thread_local File file;
    if (file.fd < 0) return -1;
    char buf[128];
    const ssize_t n = ::pread(file.fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return -1;
    buf[n] = 0;
    unsigned long long run = 0, wait = 0;
    if (std::sscanf(buf, "%llu %llu", &run, &wait) != 2) return -1;
    return static_cast<std::int64_t>(wait);
}

/// A span of this thread's life: wall time and the run-queue wait within it.
class OwnDelay {
public:
    OwnDelay() : start_(own_runqueue_wait_ns()) {}
    /// Run-queue wait since construction (0 where unknown).
    std::chrono::microseconds so_far() const
    {
        const std::int64_t now = own_runqueue_wait_ns();
        if (start_ < 0 || now < start_) return std::chrono::microseconds(0);
        return std::chrono::microseconds((now - start_) / 1000);
    }

private:
    std::int64_t start_;
};

/// Events that look like the pool's fault unless the machine stalled
/// meanwhile: each is kept with its span and judged at the end of the run,
/// once the lag monitor has recorded the stalls that were still going on
/// when the event was seen.
class Suspects {
public:
    /// An event from `t0` to `t1` that a scheduling lag of `excuse` or more explains.
    /// `own_delay` is the noting thread's run-queue wait within the span
    /// (`OwnDelay`): it excuses as much as the machine-wide lag does.
    void note(std::chrono::steady_clock::time_point t0, std::chrono::steady_clock::time_point t1,
              std::chrono::microseconds excuse, std::string what = {},
              std::chrono::microseconds own_delay = std::chrono::microseconds(0))
    {
        std::lock_guard lk(mu_);
        if (kept_.size() < 100'000) kept_.push_back({t0, t1, excuse, own_delay, std::move(what)});
        else ++dropped_;  // counted as unexplained below: no excuse unheard
    }
    std::uint64_t noted() const
    {
        std::lock_guard lk(mu_);
        return kept_.size() + dropped_;
    }
    /// How many the measured lag does not explain; `first` gets the first one's text.
    std::uint64_t unexplained(std::string* first = nullptr) const
    {
        std::lock_guard lk(mu_);
        std::uint64_t n = dropped_;
        for (const auto& e : kept_) {
            const auto lag = lag_monitor().lag_around(e.t0, e.t1);
            if (lag + e.own_delay >= e.excuse) continue;
            if (n++ == 0 && first)
                *first = fmt::format("{} (meanwhile: machine lag {} us, this thread's run-queue wait {} us)", e.what,
                                     lag.count(), e.own_delay.count());
        }
        return n;
    }

private:
    struct Event {
        std::chrono::steady_clock::time_point t0, t1;
        std::chrono::microseconds excuse, own_delay;
        std::string what;
    };
    mutable std::mutex mu_;
    std::vector<Event> kept_;
    std::uint64_t dropped_ = 0;
};

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
    std::atomic<std::int64_t> worst_late_us{0};   // worst lateness past the timeout
    Suspects late;  // acquires back later than the allowance: judged against the lag at the end

    /// An acquire that ran from `t0` to `t1` with this timeout: returned
    /// later than the allowance past it, it is a suspect, excused only by a
    /// scheduling lag as large as the excess.
    void note_lateness(std::chrono::steady_clock::time_point t0, std::chrono::steady_clock::time_point t1,
                       std::chrono::milliseconds timeout, const OwnDelay& own)
    {
        const auto over = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0 - timeout);
        std::int64_t seen = worst_late_us.load();
        while (over.count() > seen && !worst_late_us.compare_exchange_weak(seen, over.count())) {
        }
        if (over <= lateness_allowance()) return;
        late.note(t0, t1, over - lateness_allowance(),
                  fmt::format("{} us past a {} ms timeout", over.count(), timeout.count()), own.so_far());
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
    (void)lag_monitor();  // started before the first acquire it judges
    const OwnDelay own;
    const auto t0 = std::chrono::steady_clock::now();
    auto over = [&] { counts.note_lateness(t0, std::chrono::steady_clock::now(), options.timeout, own); };
    try {
        auto lease = pool.acquire(options);
        over();
        counts.acquired.fetch_add(1, std::memory_order_relaxed);
        return lease;
    } catch (const respool::AcquireTimeout& e) {
        over();
        counts.timeouts.fetch_add(1, std::memory_order_relaxed);
        if (e.phase() == respool::AcquirePhase::validating) counts.timeouts_validating.fetch_add(1);
        if (e.phase() == respool::AcquirePhase::creating) counts.timeouts_creating.fetch_add(1);
    } catch (const respool::CreateFailed&) {
        over();
        counts.create_failed.fetch_add(1, std::memory_order_relaxed);
    } catch (const respool::Cancelled&) {
        over();
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
    std::string first_late;
    const std::uint64_t late = counts.late.unexplained(&first_late);
    CHECK_MESSAGE(late == 0, late, " acquire(s) returned later than ", lateness_allowance().count(),
                  " ms + the machine's measured lag after their timeout; first: ", first_late);
    pool.reset();  // waits for the pool's threads; must not hang
    CHECK(c.live() == 0);
}

/// One line for the log: what a run did, so a reader can see it did work.
inline std::string summary(const respool::PoolStats& s, const OpCounts& counts)
{
    return fmt::format("acquired {} | timeouts {} (validating {}, creating {}) | create failures seen {} | "
                       "cancelled {} | created {} destroyed {} (idle {}, lifetime {}, broken {}, validation {}) | "
                       "worst lateness {} us (machine lag up to {} us)",
                       counts.acquired.load(), counts.timeouts.load(), counts.timeouts_validating.load(),
                       counts.timeouts_creating.load(), counts.create_failed.load(), counts.cancelled.load(),
                       s.created, s.destroyed.total(), s.destroyed[respool::DestroyReason::idle],
                       s.destroyed[respool::DestroyReason::lifetime], s.destroyed[respool::DestroyReason::broken],
                       s.destroyed[respool::DestroyReason::validation], counts.worst_late_us.load(),
                       lag_monitor().worst().count());
}

} // namespace stress
