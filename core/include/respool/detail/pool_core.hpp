// Internal: the resource-agnostic pool machine behind every `Pool<A>`.
//
// `PoolCore` holds all the state and logic that does not depend on the
// resource type: sizing, the idle list, the wait queue with bounded
// fairness, creation threads, housekeeping, leak tracking and stats. It is
// compiled once (core/src), so `Pool<A>` stays a thin template. The typed
// part (`PoolState<A>`) supplies the five hooks below.
//
// Lifetime: the state outlives the `Pool` object while leases are out; it
// deletes itself when the pool handle is gone and no lease, caller, thread
// or destruction refers to it any more (`unreferenced_locked`).
// Locking: one mutex, `mu_` (see pool_mutex.hpp); adapter hooks and user
// callbacks never run under it. Queued callers sleep on parkers of their own
// and are woken after the lock is released (core/src/pool_core_internal.hpp).
#pragma once

#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <respool/adapter.hpp>
#include <respool/detail/creation_governor.hpp>
#include <respool/detail/histogram.hpp>
#include <respool/detail/idle_list.hpp>
#include <respool/detail/pool_mutex.hpp>
#include <respool/detail/site_table.hpp>
#include <respool/detail/slot.hpp>
#include <respool/detail/time_base.hpp>
#include <respool/error.hpp>
#include <respool/event.hpp>
#include <respool/lease_info.hpp>
#include <respool/options.hpp>
#include <respool/stats.hpp>

namespace respool::detail {

/// Which optional adapter hooks exist.
struct Capabilities {
    bool is_broken = false;
    bool validate = false;
    bool reset = false;
    bool interrupt = false;
};

class PoolCore {
public:
    PoolCore(PoolOptions options, LeaseMode mode, Capabilities caps);
    PoolCore(const PoolCore&) = delete;
    PoolCore& operator=(const PoolCore&) = delete;

    /// Starts background work; called once the typed part is constructed.
    void start();
    /// Called by `~Pool`: closes, waits for the pool's threads, drops the
    /// handle's reference. `this` may be deleted on return.
    void destroy_handle() noexcept;

    /// Returns a leased record or throws; with `may_wait == false`, returns
    /// null instead of waiting.
    LeaseRecord* acquire(std::chrono::nanoseconds timeout, const std::stop_token& stop,
                         const std::source_location& site, bool may_wait);
    /// Gives a lease back; may delete `this` when it was the last reference.
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

protected:
    virtual ~PoolCore();

    // The typed hooks. Never called under `mu_`.
    virtual Slot* create_slot(Deadline deadline) = 0;  // throws on failure
    virtual void destroy_slot(Slot* slot) noexcept = 0;
    virtual bool slot_is_broken(const Slot& slot) noexcept = 0;
    virtual bool validate_slot(Slot& slot, Deadline deadline) noexcept = 0;
    virtual bool reset_slot(Slot& slot) noexcept = 0;
    virtual void interrupt_slot(Slot& slot) noexcept = 0;

private:
    struct Waiter;
    struct AcquireContext;
    struct Deferred;  // work for once the lock is released: slots to destroy, waiters to wake

    // acquire (pool_core_acquire.cpp)
    LeaseRecord* obtain_locked(AcquireContext& ctx, std::unique_lock<PoolMutex>& lk, Deferred& deferred,
                               std::int64_t now);
    void flush_locked(std::unique_lock<PoolMutex>& lk, Deferred& deferred);
    LeaseRecord* acquire_slow(AcquireContext& ctx, std::unique_lock<PoolMutex>& lk, Deferred& deferred);
    LeaseRecord* checked_out(LeaseRecord* rec, AcquireContext& ctx, std::unique_lock<PoolMutex>& lk,
                             Deferred& deferred);
    Slot* take_available_locked(std::int64_t now, std::thread::id thread, Deferred& deferred);
    static constexpr std::size_t affinity_scan = 8;  // idle resources looked at for this thread's last one
    bool may_overtake_locked(std::int64_t now) const noexcept;
    LeaseRecord* lease_locked(Slot* slot, const AcquireContext& ctx, std::int64_t now);
    void unlease_locked(LeaseRecord* rec) noexcept;
    void grant_locked(Waiter* w, Slot* slot, std::int64_t now, Deferred& deferred) noexcept;
    void remove_waiter_locked(Waiter* w) noexcept;
    void wake_front_locked() noexcept;
    [[noreturn]] void throw_timeout_locked(const AcquireContext& ctx, std::uint64_t failures_seen);
    std::vector<LeaseInfo> holders_locked(std::int64_t now) const;
    PoolSnapshot snapshot_locked() const noexcept;

    // release and placement (pool_core.cpp)
    void place_locked(Slot* slot, bool broken, std::int64_t now, Deferred& deferred) noexcept;
    void doom_locked(Slot* slot, DestroyReason reason, Deferred& deferred) noexcept;
    // Wakes granted waiters, destroys doomed slots, then settles counts. May
    // delete `this` if it destroyed slots; touches nothing of `this` if not.
    void finish(Deferred& deferred) noexcept;
    bool unreferenced_locked() const noexcept;

    // creation and housekeeping (pool_core_maintenance.cpp)
    std::size_t creation_demand_locked() const noexcept;
    void start_creations_locked() noexcept;
    void creator_main() noexcept;
    void deliver_locked(Slot* slot, std::int64_t now, Deferred& deferred) noexcept;
    void fail_front_waiter_locked(const std::exception_ptr& error, const std::string& text) noexcept;
    void fail_all_waiters_locked(const std::exception_ptr& error, const std::string& text) noexcept;
    [[noreturn]] void throw_circuit_open_locked(std::int64_t now);
    void keep_alive(std::int64_t now);  // maintenance: validate idle resources that are due
    std::int64_t keepalive_due_locked(std::int64_t now) noexcept;
    void housekeeper_main() noexcept;
    std::int64_t lifetime_for_new_slot_locked() noexcept;

    // outputs
    void emit(const Event& event) const noexcept;
    void log(LogLevel level, const std::string& message) const noexcept;

    // Immutable after construction.
    const PoolOptions opt_;
    const bool shared_;
    const std::size_t cap_;
    const Capabilities caps_;
    const std::size_t max_idle_;
    const TimeBase time_;
    const std::int64_t validate_after_idle_ticks_;
    const std::int64_t idle_timeout_ticks_;
    const std::int64_t lifetime_ticks_;
    const std::int64_t leak_threshold_ticks_;
    const std::int64_t fairness_ticks_;
    const std::int64_t keepalive_ticks_;
    const std::int64_t max_lease_ticks_;

    mutable PoolMutex mu_;
    // Everything below is guarded by mu_.
    std::condition_variable_any state_cv_;  // housekeeper sleep, drain, threads/callers leaving
    IdleList idle_;                     // exclusive mode only
    std::vector<Slot*> slots_;          // every live slot
    Waiter* waiters_head_ = nullptr;    // FIFO of waiting callers (their stack frames)
    Waiter* waiters_tail_ = nullptr;
    std::size_t waiting_ = 0;
    std::size_t total_ = 0;       // slots alive, being created or being destroyed
    std::size_t creating_ = 0;
    std::size_t destroying_ = 0;
    std::size_t in_use_ = 0;      // slots with a lease (granted counts)
    std::size_t leases_out_ = 0;  // lease records out (granted counts)
    std::size_t threads_ = 0;     // the pool's own threads running
    std::size_t callers_ = 0;     // acquires that released the lock mid-way
    std::size_t creators_ = 0;    // creator threads running
    std::size_t checking_ = 0;    // idle slots out for a keepalive check
    std::size_t pending_replacements_ = 0;  // shared mode, make-before-break
    bool closed_ = false;
    bool handle_alive_ = true;
    bool strict_reported_ = false;
    LeaseRecord* outstanding_ = nullptr;  // doubly linked, newest first
    LeaseRecord* free_records_ = nullptr;
    std::uint64_t next_id_ = 1;
    std::minstd_rand rng_{0x5eed};

    std::uint64_t acquired_ = 0, created_ = 0, create_failures_ = 0, timeouts_ = 0;
    std::uint64_t cancellations_ = 0, rejections_ = 0, validations_ = 0, validation_failures_ = 0;
    std::uint64_t leaks_suspected_ = 0, leases_overdue_ = 0, keepalives_ = 0, keepalive_failures_ = 0;
    std::uint64_t circuit_opened_ = 0, fast_failures_ = 0;
    CreationGovernor governor_;
    std::exception_ptr last_create_exception_;
    DestroyCounts destroyed_;
    Histogram create_hist_;
    SiteTable sites_;
    std::string last_create_error_;
};

} // namespace respool::detail
