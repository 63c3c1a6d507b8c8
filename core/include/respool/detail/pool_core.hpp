// Internal: the compiled core as the typed half (`Pool<A>`, `Lease<A>`) sees
// it — an opaque handle with the pool's entry points, and the interface
// through which the core calls the adapter (`AdapterOps`, implemented by
// `PoolState<A>`, which owns the adapter). Everything else — the lock, the
// parts, the threads — is the core's own (core/src/pool_engine.hpp) and
// compiled once; none of it is in the installed headers.
//
// Lifetime: `PoolCore::create` makes the core and starts its threads; the
// core owns the `AdapterOps` from then on. One reference count inside the
// core: the `Pool` handle, each lease, each of the pool's threads and each
// caller inside a pool operation hold one; the last to let go deletes the
// core (and with it the adapter). A lease that outlives its `Pool` is safe.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <stop_token>
#include <vector>

#include <respool/adapter.hpp>
#include <respool/deadline.hpp>
#include <respool/detail/export.hpp>
#include <respool/detail/slot.hpp>
#include <respool/detail/source_location.hpp>
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
    bool on_acquire = false;  // Hooks::on_acquire is set
    bool on_release = false;  // Hooks::on_release is set
};

/// The adapter as the core calls it. Never called under the pool's lock;
/// called concurrently from callers' threads and the pool's own.
class PoolCore;
class PoolEngine;

class AdapterOps {
public:
    virtual ~AdapterOps() = default;
    /// Throws on failure; `stop` is requested when the pool closes.
    virtual Slot* create_slot(Deadline deadline, std::stop_token stop) = 0;
    /// Did `create_slot` fail with an error retrying cannot fix?
    virtual bool creation_is_fatal(const std::exception& e) noexcept = 0;
    virtual void destroy_slot(Slot* slot) noexcept = 0;
    virtual bool slot_is_broken(const Slot& slot) noexcept = 0;
    virtual bool validate_slot(Slot& slot, Deadline deadline) noexcept = 0;
    virtual bool reset_slot(Slot& slot) noexcept = 0;
    virtual void interrupt_slot(Slot& slot) noexcept = 0;
    // The user's Hooks (only called when the capabilities say they are set).
    virtual bool on_acquire_slot(Slot& slot) noexcept = 0;
    virtual bool on_release_slot(Slot& slot) noexcept = 0;

protected:
    /// The core that owns this; set before its threads start.
    PoolCore& core() const noexcept { return *core_; }

private:
    friend class PoolEngine;
    PoolCore* core_ = nullptr;
};

/// The pool's entry points; see `Pool` for each one's contract.
class RESPOOL_API PoolCore {
public:
    /// Validates `options` and `mode` (throws `InvalidOptions`, and `ops` is
    /// destroyed), then starts the pool's threads. Never null.
    static PoolCore* create(PoolOptions options, LeaseMode mode, Capabilities caps, std::unique_ptr<AdapterOps> ops);
    PoolCore(const PoolCore&) = delete;
    PoolCore& operator=(const PoolCore&) = delete;

    /// Called by `~Pool`: closes, waits until no pool thread, caller or
    /// borrow check is inside the pool, drops the handle's reference.
    void destroy_handle() noexcept;

    /// A leased record, or throws; with `may_wait == false` (try_acquire),
    /// null instead of waiting or creating.
    LeaseRecord* acquire(std::chrono::milliseconds timeout, const std::stop_token& stop, const SourceLocation& site,
                         bool may_wait);
    /// Gives a lease back; the core may be gone on return.
    void release(LeaseRecord* record) noexcept;
    std::stop_token lease_stop_token(LeaseRecord* record);
    void heartbeat(LeaseRecord* record) noexcept;
    LeaseInfo lease_info(const LeaseRecord* record) const;
    std::vector<LeaseInfo> leases() const;
    PoolStats stats() const;
    bool close(std::chrono::milliseconds drain_timeout);
    void run_maintenance();
    const PoolOptions& options() const noexcept;
    /// The adapter's owner, for `Pool::adapter()`.
    AdapterOps& ops() noexcept;

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
    /// A user hook threw: logged as a warning naming the hook.
    void report_hook_failure(const char* hook, const char* what) const noexcept;

protected:
    PoolCore() = default;
    ~PoolCore() = default;
};

} // namespace respool::detail
