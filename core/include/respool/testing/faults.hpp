// respool/testing/faults.hpp — scripted, deterministic faults around any adapter.
//
// `FaultInjector<A>` is itself an adapter: it owns an adapter `A` by value and
// forwards every call to it, except when its `FaultScript` says to fail. The
// script is shared (`std::shared_ptr`), so the test keeps a handle and scripts
// faults while the pool runs:
//
//   auto script = std::make_shared<respool::testing::FaultScript>();
//   respool::Pool pool{respool::testing::FaultInjector{respool::pg::Adapter{conninfo}, script}, opts};
//   script->fail_create_number(3, "connection refused");  // the 3rd create throws
//   script->hang_validations(true);                      // validate returns false at its deadline
//   script->break_next_checks(1);                        // the next return (or borrow) is broken
//   script->fail_next_resets(1);                         // the next reset throws
//
// The wrapper has exactly the optional hooks `A` has (is_broken, validate,
// reset, destroy, interrupt, lease_mode; and always is_fatal), so the pool treats it as it treats `A`; a fault
// aimed at a hook `A` lacks never fires (the pool never makes that call).
// With nothing scripted it only counts calls. Injected failures throw
// `InjectedFault`; the real adapter is not called for a call that fails.
// Hangs and delays end at the call's deadline (or at `release_hangs()`).
//
// Thread-safety: the pool calls the wrapper from many threads; the script may
// be changed from any thread meanwhile. A scripted count ("the next N") is
// consumed by whichever calls come first.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include <respool/adapter.hpp>
#include <respool/deadline.hpp>

namespace respool::testing {

/// The error a scripted fault throws; `fatal()` for `fail_next_creates_fatally`
/// (the `FaultInjector`'s `is_fatal` hook reports it to the pool).
class InjectedFault : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    InjectedFault(const std::string& what, bool fatal) : std::runtime_error(what), fatal_(fatal) {}
    bool fatal() const noexcept { return fatal_; }

private:
    bool fatal_ = false;
};

/// How many calls a `FaultInjector` saw, and how many faults it injected.
/// Failures of the real adapter are not counted as injected.
struct FaultCounters {
    int create_calls = 0;        ///< every create, including failed ones
    int creates_failed = 0;      ///< creates that threw `InjectedFault` (failures, hangs, delays past the deadline)
    int validate_calls = 0;
    int validations_failed = 0;  ///< validations the script made return false
    int is_broken_calls = 0;
    int broken_reported = 0;     ///< `is_broken` calls the script answered with true
    int reset_calls = 0;
    int resets_failed = 0;       ///< resets the script made throw (hung ones included)
    int destroy_calls = 0;       ///< only for adapters with a `destroy` hook
};

/// The faults a test scripts; shared by every copy of the `FaultInjector`s using it.
class FaultScript {
public:
    // --- create ---
    /// The `n`-th create since the script was made (1-based) throws `message`.
    void fail_create_number(int n, std::string message = "injected: create failed");
    /// The next `n` creates throw `message`.
    void fail_next_creates(int n, std::string message = "injected: create failed");
    /// The next `n` creates throw `message` as a fatal failure (a wrong
    /// password, say): the pool fails its waiters at once instead of retrying.
    void fail_next_creates_fatally(int n, std::string message = "injected: fatal create failure");
    /// Each create waits `d` first; past its deadline it throws instead.
    void delay_creates(std::chrono::milliseconds d);
    /// Creates block until their deadline, then throw; until turned off or released.
    void hang_creates(bool on);

    // --- validate ---
    /// The next `n` validations return false.
    void fail_next_validations(int n);
    /// Each validation waits `d` first; past its deadline it returns false.
    void delay_validations(std::chrono::milliseconds d);
    /// Validations block until their deadline, then return false.
    void hang_validations(bool on);

    // --- is_broken, reset ---
    /// The next `n` `is_broken` calls (each return and borrow makes one) say true.
    void break_next_checks(int n);
    /// The next `n` resets throw, so the pool destroys the resource.
    void fail_next_resets(int n);
    /// Resets block until `release_hangs()` (a reset has no deadline), then
    /// throw; the thread giving the lease back is the one that waits.
    void hang_resets(bool on);
    /// Each reset waits `d` first (a slow rollback), then goes on; ended
    /// early by `release_hangs()`.
    void delay_resets(std::chrono::milliseconds d);

    /// Ends every hang and delay in progress — hung calls fail at once, delayed
    /// ones go on — and stops hanging. (`hang_*(false)` only stops new hangs.)
    void release_hangs();
    /// Clears every scripted fault (not the counters, not the create numbering).
    void clear();
    FaultCounters counters() const;

    // --- called by FaultInjector (one call per adapter hook) ---
    /// Waits and decides; throws `InjectedFault` when this create must fail.
    void before_create(Deadline deadline);
    /// False when this validation must fail without calling the real adapter.
    bool before_validate(Deadline deadline);
    /// True when this check must report broken without calling the real adapter.
    bool before_is_broken();
    /// Throws `InjectedFault` when this reset must fail.
    void before_reset();
    void on_destroy() noexcept;

private:
    // Waits `delay`, or until `deadline` when `hang`; false when the deadline came first.
    bool wait(std::unique_lock<std::mutex>& lk, Deadline deadline, std::chrono::milliseconds delay, bool hang);

    mutable std::mutex mu_;
    std::condition_variable cv_;
    FaultCounters counters_;
    int creates_seen_ = 0;  // numbering of fail_create_number
    std::map<int, std::string> fail_numbers_;
    int fail_creates_ = 0;
    std::string fail_message_;
    int fatal_creates_ = 0;
    std::string fatal_message_;
    std::chrono::milliseconds create_delay_{0}, validate_delay_{0}, reset_delay_{0};
    bool hang_creates_ = false, hang_validations_ = false, hang_resets_ = false;
    int fail_validations_ = 0, break_checks_ = 0, fail_resets_ = 0;
    std::uint64_t release_generation_ = 0;
};

/// An adapter that behaves like `A` except where the script says otherwise.
template <Adapter A>
class FaultInjector {
public:
    using Resource = typename A::Resource;

    /// Wraps `inner`; faults come from `script` (a fresh one by default, see `script()`).
    explicit FaultInjector(A inner, std::shared_ptr<FaultScript> script = std::make_shared<FaultScript>())
        : inner_(std::move(inner)), script_(std::move(script))
    {
    }

    /// Scripted failure, delay or hang first; then the real create.
    Resource create(Deadline d)
    {
        script_->before_create(d);
        return inner_.create(d);
    }

    /// A scripted "broken", else the real check.
    bool is_broken(const Resource& r)
        requires detail::HasIsBroken<A>
    {
        return script_->before_is_broken() || inner_.is_broken(r);
    }

    /// A scripted failure, delay or hang first; then the real validation.
    bool validate(Resource& r, Deadline d)
        requires detail::HasValidate<A>
    {
        return script_->before_validate(d) && inner_.validate(r, d);
    }

    /// A scripted throw, else the real reset.
    void reset(Resource& r)
        requires detail::HasReset<A>
    {
        script_->before_reset();
        inner_.reset(r);
    }

    /// Counted, then forwarded; never fails.
    void destroy(Resource& r) noexcept
        requires detail::HasDestroy<A>
    {
        static_assert(noexcept(inner_.destroy(r)), "respool: Adapter::destroy(Resource&) must be noexcept");
        script_->on_destroy();
        inner_.destroy(r);
    }

    /// A scripted fatal fault is fatal; anything else is what `A` says
    /// (transient when `A` has no `is_fatal`).
    bool is_fatal(const std::exception& e)
    {
        if (const auto* injected = dynamic_cast<const InjectedFault*>(&e)) return injected->fatal();
        if constexpr (detail::HasIsFatal<A>) return inner_.is_fatal(e);
        else return false;
    }

    /// Forwarded as is: reclaiming a lease is the pool's business, not a fault.
    void interrupt(Resource& r) noexcept
        requires requires(A& a, Resource& res) { a.interrupt(res); }
    {
        static_assert(noexcept(inner_.interrupt(r)), "respool: Adapter::interrupt(Resource&) must be noexcept");
        inner_.interrupt(r);
    }

    LeaseMode lease_mode() const
        requires detail::HasLeaseMode<A>
    {
        return inner_.lease_mode();
    }

    /// The script this wrapper follows.
    const std::shared_ptr<FaultScript>& script() const noexcept { return script_; }
    /// The wrapped adapter.
    A& inner() noexcept { return inner_; }
    const A& inner() const noexcept { return inner_; }

private:
    A inner_;
    std::shared_ptr<FaultScript> script_;
};

} // namespace respool::testing
