// respool/testing.hpp — helpers for tests that use pools.
//
// - `ManualClock`: time that moves only when the test says, for eviction,
//   lifetime and leak-threshold tests without sleeping. Pass it through
//   `PoolOptions::clock` and drive housekeeping with `Pool::run_maintenance()`.
// - `FaultInjector<A>` + `FaultScript` (testing/faults.hpp, included here):
//   scripted faults (fail the Nth create, hang validate until the deadline,
//   report broken on the next return, throw from reset) around any adapter,
//   a real one included, to test your own code against a PostgreSQL, gRPC or
//   TCP pool that misbehaves.
// - `FakeAdapter` + `FakeController`: an in-memory adapter whose scripted
//   faults are a `FaultScript` (the controller's fault calls forward to it;
//   `controller.script()` gives the script itself), plus random faults for
//   stress tests. It counts everything it does and detects misuse: a
//   destroyed resource used, destroyed twice, or one resource held by two
//   exclusive leases at once.
// - Leak checks: `leak_report(pool)` lists each outstanding lease's
//   file:line; `LeakRecorder` collects the leases a strict-mode pool reports
//   at close; with doctest included first, `RESPOOL_CHECK_NO_LEAKS(pool)`
//   fails the test and names the lines.
//
//   TEST_CASE("handler gives its connection back") {
//       respool::Pool pool{respool::testing::FakeAdapter{}};
//       handle_request(pool);
//       RESPOOL_CHECK_NO_LEAKS(pool);   // "leaked: handler.cpp:42 held 3 ms by thread ..."
//   }
//
// Thread-safety: every class here may be used from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <respool/pool.hpp>
#include <respool/testing/faults.hpp>

namespace respool::testing {

/// A clock that stands still until advanced. Starts at an arbitrary point.
class ManualClock final : public Clock {
public:
    SteadyClock::time_point now() const noexcept override
    {
        return SteadyClock::time_point(SteadyClock::duration(ns_.load(std::memory_order_acquire)));
    }
    /// Moves time forward by `d` (never backwards).
    void advance(std::chrono::nanoseconds d) noexcept { ns_.fetch_add(d.count(), std::memory_order_acq_rel); }

private:
    std::atomic<std::int64_t> ns_{std::int64_t{1} << 40};
};

/// The error the fake adapter throws for scripted and random failures: the
/// fault injector's, since the fake's scripted faults are a `FaultScript`.
using FakeError = InjectedFault;

/// Random faults for stress tests; probabilities per call.
struct FakeRandomFaults {
    double create_failure = 0;
    double create_delay = 0;          ///< sleep `delay` (bounded by the deadline)
    double create_hang = 0;           ///< block until the deadline, then fail
    double validate_failure = 0;
    double validate_hang = 0;
    double broken_on_check = 0;       ///< `is_broken` says yes
    double reset_failure = 0;
    std::chrono::milliseconds delay{1};
    std::uint64_t seed = 1;
};

class FakeController;

/// What `FakeAdapter` makes: a numbered resource that reports misuse.
struct FakeResource {
    std::uint64_t serial = 0;
    std::shared_ptr<FakeController> controller;

    /// Marks the resource in use until the guard is destroyed; records a
    /// violation if it was destroyed or is in use by another exclusive holder.
    class Use {
    public:
        Use(Use&& o) noexcept : res_(std::exchange(o.res_, nullptr)) {}
        Use(const Use&) = delete;
        ~Use();

    private:
        friend struct FakeResource;
        explicit Use(const FakeResource* r) : res_(r) {}
        const FakeResource* res_;
    };
    [[nodiscard]] Use use() const;
};

/// Scripts the fake adapter's behaviour and counts what it did. The scripted
/// faults are those of a `FaultScript` (same meaning, same counts; see
/// testing/faults.hpp); the controller adds the resources' bookkeeping, the
/// misuse checker and random faults.
class FakeController {
public:
    /// Faults come from `script` (a fresh one by default); share it with a
    /// `FaultInjector` to script both the same way.
    explicit FakeController(std::shared_ptr<FaultScript> script = std::make_shared<FaultScript>())
        : script_(std::move(script))
    {
    }

    // --- scripted faults (each takes effect from the next call on; forwarded to script()) ---
    /// The next `n` creates throw `FakeError(message)`.
    void fail_next_creates(int n, std::string message = "fake: create failed");
    /// The next `n` creates throw a fatal `FakeError(message)` (see `FaultScript`).
    void fail_next_creates_fatally(int n, std::string message = "fake: fatal create failure");
    /// The `k`-th create since the controller was made (1-based) throws.
    void fail_create_number(int k);
    /// Each create takes this long (or fails at its deadline, if sooner).
    void set_create_delay(std::chrono::milliseconds d);
    /// Creates block until their deadline, then throw; until `release_hangs()`.
    void hang_creates(bool on);
    void fail_next_validations(int n);
    void set_validate_delay(std::chrono::milliseconds d);
    void hang_validations(bool on);
    /// Resets block (they have no deadline) until `release_hangs()`, then throw.
    void hang_resets(bool on);
    /// Each reset takes this long first (`FaultScript::delay_resets`).
    void set_reset_delay(std::chrono::milliseconds d);
    /// The resource with this serial reports broken from now on.
    void break_resource(std::uint64_t serial);
    /// The next `n` `is_broken` checks (borrow or return) say yes; that resource stays broken.
    void break_next_checks(int n);
    void fail_next_resets(int n);
    void set_random_faults(const FakeRandomFaults& faults);
    /// Ends every hang (hung calls fail at once) and every delay in
    /// progress (delayed calls go on and succeed), and stops hanging.
    void release_hangs();
    /// The script behind the faults above.
    const std::shared_ptr<FaultScript>& script() const noexcept { return script_; }

    // --- what happened ---
    int created() const;          ///< successful creates
    int destroyed() const;        ///< destroy calls
    int live() const;             ///< created - destroyed
    int max_live() const;         ///< most alive at once
    int create_calls() const;     ///< every create, failed ones included
    int creates_in_flight() const;
    int max_creates_in_flight() const;
    int validate_calls() const;
    int reset_calls() const;
    std::vector<std::string> violations() const;  ///< misuse seen (empty when all is well)

    // --- called by FakeAdapter / FakeResource ---
    FakeResource create(std::shared_ptr<FakeController> self, Deadline d);
    bool is_broken(const FakeResource& r);
    bool validate(FakeResource& r, Deadline d);
    void reset(FakeResource& r);
    void destroy(FakeResource& r) noexcept;
    void begin_use(std::uint64_t serial, bool exclusive);
    void end_use(std::uint64_t serial) noexcept;
    void set_exclusive(bool exclusive) { std::lock_guard lk(mu_); exclusive_ = exclusive; }

private:
    bool roll(double p);  // under mu_
    // A random delay or hang; false when the deadline came first.
    bool random_wait(std::unique_lock<std::mutex>& lk, Deadline d, std::chrono::milliseconds delay, bool hang);
    void violation(std::string what);  // under mu_

    struct Entry {
        bool alive = true;
        int users = 0;
        bool broken = false;
    };
    std::shared_ptr<FaultScript> script_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::uint64_t, Entry> resources_;
    std::vector<std::string> violations_;
    std::uint64_t next_serial_ = 1;
    int created_ = 0, destroyed_ = 0, max_live_ = 0, in_flight_ = 0, max_in_flight_ = 0;
    bool exclusive_ = true;
    std::uint64_t hang_generation_ = 0;
    FakeRandomFaults random_{};
    bool random_on_ = false;
    std::mt19937_64 rng_{1};
};

/// An adapter with every optional hook, driven by a `FakeController`.
class FakeAdapter {
public:
    using Resource = FakeResource;

    explicit FakeAdapter(std::shared_ptr<FakeController> controller = std::make_shared<FakeController>(),
                         LeaseMode mode = LeaseMode::exclusive())
        : controller_(std::move(controller)), mode_(mode)
    {
        controller_->set_exclusive(!mode.is_shared());
    }

    FakeResource create(Deadline d) { return controller_->create(controller_, d); }
    bool is_broken(const FakeResource& r) const { return controller_->is_broken(r); }
    bool validate(FakeResource& r, Deadline d) { return controller_->validate(r, d); }
    void reset(FakeResource& r) { controller_->reset(r); }
    void destroy(FakeResource& r) noexcept { controller_->destroy(r); }
    LeaseMode lease_mode() const noexcept { return mode_; }
    /// Fatal for the controller's `fail_next_creates_fatally`, else transient.
    bool is_fatal(const std::exception& e) const noexcept
    {
        const auto* fault = dynamic_cast<const FakeError*>(&e);
        return fault && fault->fatal();
    }

    FakeController& controller() const noexcept { return *controller_; }

private:
    std::shared_ptr<FakeController> controller_;
    LeaseMode mode_;
};
static_assert(Adapter<FakeAdapter>);
static_assert(Adapter<FaultInjector<FakeAdapter>>);
static_assert(detail::HasIsBroken<FaultInjector<FakeAdapter>> && detail::HasValidate<FaultInjector<FakeAdapter>> &&
              detail::HasReset<FaultInjector<FakeAdapter>> && detail::HasDestroy<FaultInjector<FakeAdapter>> &&
              detail::HasLeaseMode<FaultInjector<FakeAdapter>> && detail::HasIsFatal<FakeAdapter> &&
              detail::HasIsFatal<FaultInjector<FakeAdapter>>);

/// One line per outstanding lease ("leaked: file.cpp:42 held 1.2 s by thread ..."); empty if none.
std::string leak_report(const std::vector<LeaseInfo>& leases);

template <Adapter A>
std::string leak_report(const Pool<A>& pool)
{
    return leak_report(pool.leases());
}

/// Collects the leases a strict-mode pool reports at close (and suspected
/// leaks). Pass it as `PoolOptions::listener`; read it after the pool is gone.
class LeakRecorder final : public EventListener {
public:
    void on_event(const Event& e) noexcept override;
    /// Leases still out when the pool closed.
    std::vector<LeaseInfo> leaked() const;
    /// Leases reported as held past `leak_threshold`.
    std::vector<LeaseInfo> suspected() const;
    /// `leak_report(leaked())`.
    std::string report() const;

private:
    mutable std::mutex mu_;
    std::vector<LeaseInfo> leaked_, suspected_;
};

/// The leases a strict-mode pool reported at close, one line each; empty if none.
inline std::string leak_report(const LeakRecorder& recorder)
{
    return recorder.report();
}

/// Polls `done` until it holds or `timeout` passes; for waiting on the pool's
/// own threads (creations, refills), never for measuring time.
bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

} // namespace respool::testing

#ifdef DOCTEST_LIBRARY_INCLUDED
/// Fails the current doctest test, listing each outstanding lease's file:line.
#define RESPOOL_CHECK_NO_LEAKS(pool)                                                                    \
    do {                                                                                                \
        const std::string respool_leaks_ = ::respool::testing::leak_report(pool);                       \
        CHECK_MESSAGE(respool_leaks_.empty(), respool_leaks_);                                          \
    } while (0)
#endif
