// respool/pool.hpp — the pool: Pool, Lease, PoolOptions, the errors, stats and
// events. Formatting (format.hpp), listeners (listeners.hpp), Prometheus text
// (prometheus.hpp) and test helpers (testing.hpp) have headers of their own.
//
// `Pool<A>` lends resources made by an adapter `A` (see adapter.hpp): at most
// `max_size` exist; `acquire` takes an idle one, makes one, or waits in a
// fair queue — all within one deadline — and fails with a typed error that
// says why (see error.hpp). Leases name their acquire site, so an exhausted
// or leaking pool says which code holds it.
//
//   respool::PoolOptions options;
//   options.max_size = 8;
//   respool::Pool pool{MyAdapter{"db.internal", 5432}, options};
//
//   auto conn = pool.acquire();                                // default timeout
//   auto quick = pool.acquire({.timeout = std::chrono::milliseconds(50)});
//   if (auto maybe = pool.try_acquire()) use(**maybe);          // never queues or creates
//
// Thread-safety: every member may be called from any thread concurrently.
// Lifetime: the destructor closes the pool (waiters get `PoolClosed`, idle
// resources are destroyed, outstanding leases are waited for up to
// `drain_timeout`) and waits for borrow checks and creations in flight
// (creations end at once when the adapter takes a stop token, else by
// `create_timeout`). Leases may outlive the pool; giving them back then
// destroys the resource. Not copyable. Movable: the handle owns a pointer to
// the pool's shared state, which leases point to, so a move leaves leases
// valid; a moved-from pool may only be destroyed or assigned to.
#pragma once

#include <chrono>
#include <concepts>
#include <optional>
#include <utility>
#include <respool/detail/source_location.hpp>
#include <stop_token>
#include <vector>

#include <respool/adapter.hpp>
#include <respool/deadline.hpp>
#include <respool/detail/pool_state.hpp>
#include <respool/error.hpp>
#include <respool/event.hpp>
#include <respool/hooks.hpp>
#include <respool/lease.hpp>
#include <respool/lease_info.hpp>
#include <respool/options.hpp>
#include <respool/stats.hpp>

namespace respool {

template <Adapter A>
class Pool {
public:
    using Resource = typename A::Resource;

    /// Validates `options` (throws `InvalidOptions`), then starts the
    /// housekeeper and the creations that fill `min_idle`. `hooks`: the
    /// user's checks on every borrow and return (hooks.hpp; default none).
    explicit Pool(A adapter, PoolOptions options = {}, Hooks<Resource> hooks = {})
        : state_(detail::PoolState<A>::make_core(std::move(adapter), std::move(options), std::move(hooks)))
    {
    }
    ~Pool()
    {
        if (state_) state_->destroy_handle();
    }
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    Pool(Pool&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    /// Closes and lets go of this pool's state (like the destructor), then takes `other`'s.
    Pool& operator=(Pool&& other) noexcept
    {
        if (this != &other) {
            if (state_) state_->destroy_handle();
            state_ = std::exchange(other.state_, nullptr);
        }
        return *this;
    }

    /// A lease within `options().acquire_timeout`. Throws `AcquireTimeout`,
    /// `CreateFailed`, `QueueFull` or `PoolClosed`.
    [[nodiscard]] Lease<A> acquire(SourceLocation site = SourceLocation::current())
    {
        static const std::stop_token no_stop;
        return Lease<A>(state_, state_->acquire(state_->options().acquire_timeout, no_stop, site, true));
    }

    /// A lease within `o.timeout` (default: `acquire_timeout`), cancelled
    /// (`Cancelled`) when `o.stop` fires.
    [[nodiscard]] Lease<A> acquire(const AcquireOptions& o,
                                   SourceLocation site = SourceLocation::current())
    {
        const auto timeout = o.timeout.count() < 0 ? state_->options().acquire_timeout : o.timeout;
        return Lease<A>(state_, state_->acquire(timeout, o.stop, site, true));
    }

    /// A lease if an idle resource can be had without queueing or creating;
    /// nullopt otherwise. It still runs the borrow checks, so it may block for
    /// a validation (up to `validation_timeout`). Throws only `PoolClosed`.
    [[nodiscard]] std::optional<Lease<A>> try_acquire(SourceLocation site = SourceLocation::current())
    {
        static const std::stop_token no_stop;
        if (detail::LeaseRecord* rec = state_->acquire(std::chrono::milliseconds::zero(), no_stop, site, false))
            return Lease<A>(state_, rec);
        return std::nullopt;
    }

    /// Gauges, counters and distributions; consistent, copied under the lock.
    PoolStats stats() const { return state_->stats(); }
    /// Outstanding leases, oldest first: acquire site, thread, age.
    std::vector<LeaseInfo> leases() const { return state_->leases(); }

    /// Stops new acquires (waiters get `PoolClosed`), destroys idle
    /// resources, asks holders to let go (`Lease::stop_token`) and waits up to
    /// `drain_timeout` for them (`milliseconds::max()`: as long as it takes).
    /// True if every lease came back. Idempotent.
    bool close() { return state_->close(state_->options().drain_timeout); }
    bool close(std::chrono::milliseconds drain_timeout) { return state_->close(drain_timeout); }

    /// One housekeeping pass now, on this thread: eviction, lifetime, refill,
    /// leak scan. For tests with a manual clock, or with
    /// `background_housekeeping = false`.
    void run_maintenance() { state_->run_maintenance(); }

    // --- run-time changes (docs/concepts.md, "Changing a running pool") ---

    /// A new `max_size`, validated like the constructor's (`InvalidOptions`
    /// naming `max_size`: at least 1, at most `max_pool_size`, not below
    /// `min_idle`). Growing serves waiters at once; shrinking destroys idle
    /// resources now and leased ones as they are given back, and starts no
    /// creation until fewer than the new limit exist. A `max_idle` above it
    /// is taken as the new limit.
    void resize(std::size_t max_size) { state_->resize(max_size); }
    /// A new `min_idle` (`InvalidOptions` naming `min_idle` if it exceeds
    /// `max_size` or a non-zero `max_idle`); a larger one is refilled at once.
    void set_min_idle(std::size_t min_idle) { state_->set_min_idle(min_idle); }

    /// Blocks until `min_idle` resources exist (made, not retiring; leased
    /// ones count). Throws `CreateFailed` with the last creation error at once
    /// on a fatal one, or at `timeout` if creation failed meanwhile; else
    /// `AcquireTimeout` saying how many of `min_idle` exist; `PoolClosed` if
    /// the pool is or becomes closed (a closed pool is never ready, whatever
    /// `min_idle` says). On an open pool with `min_idle == 0` it returns at once. For start-up:
    /// fail fast when the server is unreachable.
    void wait_ready(std::chrono::milliseconds timeout) { state_->wait_ready(timeout); }

    /// Holds new acquires: they queue (and time out within their deadlines,
    /// saying the pool is paused), no resource is lent or created (no
    /// `min_idle` refill), `try_acquire` returns nullopt. Leases out are
    /// untouched and may be given back. Idempotent.
    void pause() { state_->pause(); }
    /// Ends a pause: waiters are served at once from idle resources, then
    /// creations start for the rest. Idempotent.
    void resume() { state_->resume(); }

    /// Retires every resource that exists now: idle ones are destroyed at
    /// once (reason `retired`), leased ones when given back, and none of them
    /// is lent again (shared ones take no new lease). New ones are made as
    /// needed. Creations already in flight are not affected.
    void retire_all() { state_->retire_all(); }
    /// Runs `pred(const Resource&)` on each resource idle now, on this
    /// thread, outside the lock, one at a time (the resource is not lent
    /// meanwhile), and retires those for which it returns true (reason
    /// `retired`). Leased resources are not examined (their holders are
    /// using them); use `retire_all` for those. An exception from `pred`
    /// puts the resource back and propagates.
    template <class Pred>
        requires std::predicate<Pred&, const Resource&>
    void retire_if(Pred pred)
    {
        state_->retire_if([&pred](const detail::Slot& slot) {
            return static_cast<bool>(pred(detail::PoolState<A>::resource_of(slot)));
        });
    }

    /// The adapter, e.g. to read its configuration. Calls on it must be thread-safe.
    A& adapter() noexcept { return detail::PoolState<A>::of(*state_).adapter(); }
    /// The options the pool was made with (`stats().max_size` shows a resize).
    const PoolOptions& options() const noexcept { return state_->options(); }

private:
    detail::PoolCore* state_;  // the compiled core; owns the adapter
};

} // namespace respool
