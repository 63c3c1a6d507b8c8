// Private to core/src: the resource-agnostic pool behind every `Pool<A>`,
// the implementation of the opaque `PoolCore` handle (pool_core.hpp).
//
// `PoolEngine` is the coordinator: it owns the pool's one lock and the parts,
// each of which keeps one concern and its invariants —
//   Inventory         the resources and the state each is in (inventory.hpp)
//   WaitQueue         the waiting callers, the fairness predicates (wait_queue.hpp)
//   LeaseRegistry     outstanding leases, acquire sites, leak tracking (lease_registry.hpp)
//   Counters          the numbers `stats()` reports (counters.hpp)
//   CreationGovernor  back-off, circuit breaker, slow start (creation_governor.hpp)
// — and runs the flows that span them, one concern per source file:
// where a resource goes and who is told (pool_dispatch.cpp: every way a
// place becomes lendable ends in place_locked -> offer_locked), acquiring
// (pool_acquire.cpp), giving back (pool_release.cpp), creating (pool_creation.cpp), housekeeping (pool_housekeeping.cpp), the
// error messages (pool_messages.cpp), and construction, close and the
// read-only views (pool_core.cpp). It is compiled once; the adapter is
// reached through `AdapterOps` (`PoolState<A>`), which it owns.
//
// Locking: every part is guarded by `mu_`. Nothing user-supplied runs under
// it — adapter hooks, listeners, loggers, lease stop callbacks, an injected
// clock (read before a locked step, or through `ticks_unlocked`) — so work for
// after the unlock is collected in a `Deferred` (pool_core_internal.hpp):
// waiters to signal, stop tokens to request, resources to destroy. Debug
// builds assert this at every hook (`RESPOOL_ASSERT_UNLOCKED`).
//
// Lifetime: one reference count, `refs_`, guarded by `mu_`: the `Pool`
// handle, each lease, each of the pool's threads, each caller while it is
// inside a pool operation and each borrow check in progress hold one. `unref` drops one and deletes the state
// with the last: the only place it is deleted. A lease that outlives its
// `Pool` therefore stays valid.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <random>
#include <stop_token>
#include <string>
#include <vector>

#include <respool/adapter.hpp>
#include <respool/detail/counters.hpp>
#include <respool/detail/creation_governor.hpp>
#include <respool/detail/export.hpp>
#include <respool/detail/inventory.hpp>
#include <respool/detail/lease_registry.hpp>
#include <respool/detail/pool_core.hpp>
#include <respool/detail/pool_mutex.hpp>
#include <respool/detail/slot.hpp>
#include <respool/detail/time_base.hpp>
#include <respool/detail/wait_queue.hpp>
#include <respool/error.hpp>
#include <respool/event.hpp>
#include <respool/lease_info.hpp>
#include <respool/options.hpp>
#include <respool/stats.hpp>

namespace respool::detail {

class PoolEngine final : public PoolCore {
public:
    /// Validates `options` and `mode` (throws `InvalidOptions`); starts nothing.
    PoolEngine(PoolOptions options, LeaseMode mode, Capabilities caps, std::unique_ptr<AdapterOps> ops);

    /// Starts background work; called once the typed part is constructed.
    void start();
    /// Called by `~Pool`: closes, waits until no pool thread or caller is
    /// inside the pool, drops the handle's reference. `this` may be gone on return.
    void destroy_handle() noexcept;

    /// A leased record, or throws; with `may_wait == false` (try_acquire),
    /// null instead of waiting or creating.
    LeaseRecord* acquire(std::chrono::milliseconds timeout, const std::stop_token& stop,
                         const SourceLocation& site, bool may_wait);
    /// Gives a lease back; `this` may be gone on return.
    void release(LeaseRecord* record) noexcept;

    std::stop_token lease_stop_token(LeaseRecord* record);
    /// Moves the lease's `max_lease_time` deadline to now + max_lease_time.
    void heartbeat(LeaseRecord* record) noexcept;
    LeaseInfo lease_info(const LeaseRecord* record) const;
    std::vector<LeaseInfo> leases() const;
    PoolStats stats() const;
    bool close(std::chrono::milliseconds drain_timeout);
    void run_maintenance();
    const PoolOptions& options() const noexcept { return opt_; }
    AdapterOps& ops() noexcept { return *ops_; }
    void report_hook_failure(const char* hook, const char* what) const noexcept;

    // run-time changes (pool_runtime.cpp); see Pool for the contracts
    void resize(std::size_t max_size);
    void set_min_idle(std::size_t min_idle);
    void wait_ready(std::chrono::milliseconds timeout);
    void pause();
    void resume();
    void retire_all();
    /// `pred` runs outside the lock on each idle slot, one at a time.
    void retire_if(const std::function<bool(const Slot&)>& pred);
    /// Takes the lease's resource out of the pool for good; returns its slot,
    /// no longer the pool's, for the caller to empty and delete. Throws
    /// std::logic_error in shared mode (the lease stays valid then).
    Slot* detach(LeaseRecord* record);

private:
    ~PoolEngine();  // only by `unref`, with the last reference

    // The adapter, through `ops_`. Never called under `mu_`.
    Slot* create_slot(Deadline deadline, std::stop_token stop) { return ops_->create_slot(deadline, std::move(stop)); }
    bool creation_is_fatal(const std::exception& e) noexcept { return ops_->creation_is_fatal(e); }
    void destroy_slot(Slot* slot) noexcept { ops_->destroy_slot(slot); }
    bool slot_is_broken(const Slot& slot) noexcept { return ops_->slot_is_broken(slot); }
    bool validate_slot(Slot& slot, Deadline deadline) noexcept { return ops_->validate_slot(slot, deadline); }
    bool reset_slot(Slot& slot) noexcept { return ops_->reset_slot(slot); }
    void interrupt_slot(Slot& slot) noexcept { ops_->interrupt_slot(slot); }
    bool on_acquire_slot(Slot& slot) noexcept { return ops_->on_acquire_slot(slot); }
    bool on_release_slot(Slot& slot) noexcept { return ops_->on_release_slot(slot); }

    struct AcquireContext;
    struct BorrowVerdict;
    struct Creation;
    struct LeaseWatch;
    struct ReturnVerdict;
    struct ThreadWaiter;
    struct CancelWait;
    struct Deferred;
    struct DeferredRare;
    using Lock = std::unique_lock<PoolMutex>;

    // lifetime and deferred work (pool_core.cpp)
    // Private members are RESPOOL_LOCAL: only the entry points above are
    // part of the shared library's interface.
    // lk held; released; then `told`'s waiters are signalled; `this` may be gone
    RESPOOL_LOCAL void unref(Lock& lk, Deferred* told = nullptr) noexcept;
    /// The injected clock is user code: never read under the lock. Drops
    /// `lk` for the read when the time base is such a clock; call it only
    /// where the pool's state may change meanwhile (a loop that looks again).
    RESPOOL_LOCAL std::int64_t ticks_unlocked(Lock& lk) const noexcept;
    RESPOOL_LOCAL void tell_waiters(Deferred& d) noexcept;       // unlocked: signals dequeued waiters
    RESPOOL_LOCAL void run_unlocked(Deferred& d) noexcept;       // unlocked: signals, stops, destruction
    RESPOOL_LOCAL void report_creation_news(DeferredRare& news) noexcept;  // unlocked: logs and events
    RESPOOL_LOCAL void settle_locked(Deferred& d) noexcept;      // locked: counts what was destroyed
    RESPOOL_LOCAL void flush(Lock& lk, Deferred& d) noexcept;    // locked on entry and return; caller holds a ref
    RESPOOL_LOCAL void finish_and_unref(Lock& lk, Deferred& d) noexcept;  // locked on entry; released
    RESPOOL_LOCAL void check_invariants_locked() const noexcept;  // full scan, debug builds
    // The same after each acquire and release while the pool is small (tests,
    // stress), where a full scan is cheap and catches a broken invariant at
    // the step that broke it. Nothing in release builds (there, only the
    // transition check of Inventory::set_state runs, and aborts when broken).
    RESPOOL_LOCAL void check_small_locked() const noexcept
    {
#ifndef NDEBUG
        if (inventory_.slots().size() <= 32) check_invariants_locked();
#endif
    }

    // acquiring (pool_acquire.cpp)
    RESPOOL_LOCAL LeaseRecord* obtain_locked(AcquireContext& ctx, Lock& lk, Deferred& d, std::int64_t now);
    RESPOOL_LOCAL LeaseRecord* wait_locked(AcquireContext& ctx, Lock& lk, Deferred& d, std::int64_t now);
    RESPOOL_LOCAL void admit_locked();  // throws QueueFull, CircuitOpen, or CreateFailed (fatal)
    /// When a waiter should look again by itself (its quiet spell, see wait_queue.hpp).
    RESPOOL_LOCAL Deadline next_look_locked(ThreadWaiter& w, AcquireContext& ctx, std::int64_t now) noexcept;
    RESPOOL_LOCAL LeaseRecord* left_queue_locked(ThreadWaiter& w, LeaseRecord* rec, AcquireContext& ctx, Lock& lk);
    RESPOOL_LOCAL LeaseRecord* checked_out(LeaseRecord* rec, AcquireContext& ctx, Lock& lk, Deferred& d);
    RESPOOL_LOCAL BorrowVerdict run_borrow_checks(LeaseRecord* rec, AcquireContext& ctx) noexcept;
    RESPOOL_LOCAL bool borrow_checks_due(const LeaseRecord* rec) const noexcept
    {
        return caps_.is_broken || caps_.on_acquire || rec->validate_due;
    }
    RESPOOL_LOCAL LeaseRecord* undo_borrow_locked(LeaseRecord* rec, const BorrowVerdict& v,
                                                  AcquireContext& ctx, Lock& lk, Deferred& d);
    RESPOOL_LOCAL LeaseRecord* lease_locked(Slot* slot, const AcquireContext& ctx, std::int64_t now);
    [[noreturn]] RESPOOL_LOCAL void throw_wait_outcome_locked(const Waiter& w, const AcquireContext& ctx,
                                                              std::int64_t now);

    // where a place goes and who is told (pool_dispatch.cpp)
    RESPOOL_LOCAL void place_locked(Slot* slot, std::int64_t now, bool returned, Deferred& d) noexcept;
    RESPOOL_LOCAL void offer_locked(Slot* slot, std::int64_t now, bool fresh, Deferred& d) noexcept;
    RESPOOL_LOCAL void retire_locked(Slot* slot, DestroyReason why, Deferred& d) noexcept;
    RESPOOL_LOCAL void grant_locked(Waiter& w, Slot* slot, std::int64_t now, Deferred& d) noexcept;
    RESPOOL_LOCAL void tell_locked(Waiter& w, WaitOutcome outcome, Deferred& d) noexcept;
    RESPOOL_LOCAL void hint_next_locked(Deferred& d) noexcept;
    RESPOOL_LOCAL void hint_front_locked(Deferred& d) noexcept;

    // giving back (pool_release.cpp)
    RESPOOL_LOCAL ReturnVerdict run_return_checks(const LeaseRecord* rec) noexcept;  // unlocked
    RESPOOL_LOCAL void prove_locked(Slot* slot) noexcept;
    RESPOOL_LOCAL void failed_unproven_locked(Slot* slot, const char* what, Deferred& d) noexcept;

    // creating (pool_creation.cpp)
    RESPOOL_LOCAL std::size_t creation_demand_locked() const noexcept;
    RESPOOL_LOCAL void start_creations_locked() noexcept;
    RESPOOL_LOCAL void creator_main() noexcept;
    /// Waits out back-off; false when no creation is wanted (or allowed) now.
    RESPOOL_LOCAL bool may_start_creation_locked(Lock& lk) noexcept;
    RESPOOL_LOCAL Creation create_one() noexcept;  // unlocked: the adapter's create
    RESPOOL_LOCAL std::uint64_t created_locked(const Creation& c, Deferred& d) noexcept;  // the new slot's id
    RESPOOL_LOCAL void report_creation(const Creation& c, std::uint64_t id, std::size_t failures) noexcept;
    RESPOOL_LOCAL void deliver_locked(Slot* slot, std::int64_t now, Deferred& d) noexcept;
    RESPOOL_LOCAL void creation_failed_locked(const std::exception_ptr& error, const std::string& text,
                                              bool from_create, Deferred& d, bool fatal = false) noexcept;
    RESPOOL_LOCAL bool fatal_fails_fast_locked(std::int64_t real_now) const noexcept;
    RESPOOL_LOCAL std::int64_t expiry_for_new_slot_locked(std::int64_t now) noexcept;
    RESPOOL_LOCAL std::int64_t keepalive_due_locked(std::int64_t now) noexcept;

    // housekeeping (pool_housekeeping.cpp)
    RESPOOL_LOCAL void housekeeper_main() noexcept;
    RESPOOL_LOCAL void evict_locked(std::int64_t now, Deferred& d) noexcept;
    RESPOOL_LOCAL void watch_leases_locked(std::int64_t now, LeaseWatch& watch, Deferred& d);
    RESPOOL_LOCAL void report_lease_notes(const LeaseWatch& watch) const noexcept;
    RESPOOL_LOCAL void keep_alive();
    /// Takes an idle slot out for a check by the pool (keepalive, retire_if):
    /// not lent, not destroyed while the check runs without the lock.
    RESPOOL_LOCAL void begin_pool_check_locked(Slot* slot) noexcept;
    /// Ends it: back to its place in the idle order, to a waiter, or retired.
    RESPOOL_LOCAL void end_pool_check_locked(Slot* slot, std::int64_t now, Deferred& d) noexcept;

    // messages (pool_messages.cpp)
    [[noreturn]] RESPOOL_LOCAL void throw_timeout_locked(const AcquireContext& ctx, std::uint64_t failures_seen,
                                                         std::int64_t now);
    [[noreturn]] RESPOOL_LOCAL void throw_circuit_open_locked(std::int64_t real_now);
    [[noreturn]] RESPOOL_LOCAL void throw_fatal_locked(std::int64_t real_now);
    RESPOOL_LOCAL PoolSnapshot snapshot_locked() const noexcept;

    // outputs
    RESPOOL_LOCAL void emit(const Event& event) const noexcept;
    RESPOOL_LOCAL void log(LogLevel level, const std::string& message) const noexcept;

    // Immutable after construction.
    const std::unique_ptr<AdapterOps> ops_;  // the adapter; destroyed with the engine
    const PoolOptions opt_;
    const bool shared_;
    const std::size_t cap_;
    const Capabilities caps_;
    std::size_t max_idle_;  // guarded by mu_ (resize changes it)
    const TimeBase time_;
    const std::int64_t validate_after_idle_ticks_;
    const std::int64_t idle_timeout_ticks_;
    const std::int64_t lifetime_ticks_;
    const std::int64_t leak_threshold_ticks_;
    const std::int64_t keepalive_ticks_;
    const std::int64_t max_lease_ticks_;
    // validate_after_idle = 0 with a validate hook: the user made validation
    // the judge of health, so only a passed validation proves a new resource
    // (a lease given back is no proof: nothing checked it).
    const bool validation_is_the_judge_;
    // The oldest waiter's own look-again interval after a wasted wake-up
    // (see wait_locked): starts at first_quiet_, doubles up to quiet_cap_.
    const std::chrono::nanoseconds quiet_cap_;
    const std::chrono::nanoseconds first_quiet_;

    mutable PoolMutex mu_;
    // Everything below is guarded by mu_.
    std::condition_variable_any changed_;  // housekeeper sleep, creation back-off, drain, ~Pool
    Inventory inventory_;
    WaitQueue queue_;
    LeaseRegistry leases_;
    Counters counters_;
    CreationGovernor governor_;
    std::size_t refs_ = 1;                   // the handle's; see "Lifetime" above
    std::size_t creators_ = 0;               // creator threads running
    // The last creation failed with a fatal error (counters_.last_create_*)
    // and none has succeeded since: acquires that would wait fail fast.
    bool creation_fatal_ = false;
    bool closed_ = false;
    bool strict_reported_ = false;
    bool paused_ = false;                    // pause(): no lending, no creating (pool_runtime.cpp)
    std::size_t min_idle_ = 0;               // set_min_idle() changes it; the limit is inventory_.max_size()
    std::size_t max_idle_setting_ = 0;       // options' max_idle; 0 = follow max_size
    std::size_t ready_waiters_ = 0;          // threads in wait_ready(): creations notify changed_
    std::uint64_t next_id_ = 1;
    std::minstd_rand rng_{0x5eed};
    // Requested (unlocked) by close(): creations in flight give up at once
    // where the adapter takes a stop token.
    std::stop_source creation_stop_;
};

} // namespace respool::detail
