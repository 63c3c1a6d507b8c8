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
//   if (auto maybe = pool.try_acquire()) use(**maybe);          // never waits
//
// Thread-safety: every member may be called from any thread concurrently.
// Lifetime: the destructor closes the pool (waiters get `PoolClosed`, idle
// resources are destroyed, outstanding leases are waited for up to
// `drain_timeout`) and waits for creations in flight (bounded by
// `create_timeout`). Leases may outlive the pool; giving them back then
// destroys the resource. Not copyable, not movable (leases point into it).
#pragma once

#include <chrono>
#include <optional>
#include <respool/detail/source_location.hpp>
#include <stop_token>
#include <vector>

#include <respool/adapter.hpp>
#include <respool/deadline.hpp>
#include <respool/detail/pool_state.hpp>
#include <respool/error.hpp>
#include <respool/event.hpp>
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
    /// housekeeper and the creations that fill `min_idle`.
    explicit Pool(A adapter, PoolOptions options = {})
        : state_(new detail::PoolState<A>(std::move(adapter), std::move(options)))
    {
        try {
            state_->start();
        } catch (...) {
            state_->destroy_handle();
            throw;
        }
    }
    ~Pool() { state_->destroy_handle(); }
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

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

    /// A lease if one can be had without waiting or creating; nullopt otherwise.
    /// Still runs the borrow checks. Throws only `PoolClosed`.
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

    /// The adapter, e.g. to read its configuration. Calls on it must be thread-safe.
    A& adapter() noexcept { return state_->adapter(); }
    const PoolOptions& options() const noexcept { return state_->options(); }

private:
    detail::PoolState<A>* state_;
};

} // namespace respool
