// respool/lease.hpp — a handle to one leased resource.
//
// A `Lease` is what `Pool::acquire` returns: move-only, it reaches the
// resource with `*lease` and `lease->`, and gives it back when destroyed (or
// on `release()`). Giving back never throws and never blocks on the pool's
// waiters. A lease keeps the pool's shared state alive, so one that outlives
// its `Pool` is safe: giving it back then destroys the resource.
//
//   {
//       auto conn = pool.acquire();
//       try { conn->query("..."); }
//       catch (const IoError&) { conn.mark_broken(); throw; }  // destroyed, not reused
//   }                                                           // given back here
//
// Thread-safety: a lease is used by one thread at a time (it may be moved to
// another). In shared lease mode several leases reach the same resource; the
// adapter's resource must then be safe for concurrent use.
#pragma once

#include <optional>
#include <stop_token>
#include <utility>

#include <respool/adapter.hpp>
#include <respool/detail/pool_state.hpp>
#include <respool/lease_info.hpp>

namespace respool {

template <Adapter A>
class Pool;

namespace detail {
/// Throws std::logic_error for a use of an empty (released or moved-from) lease.
[[noreturn]] void throw_empty_lease();
} // namespace detail

template <Adapter A>
class Lease {
public:
    using Resource = typename A::Resource;

    /// An empty lease, holding nothing.
    Lease() noexcept = default;
    Lease(Lease&& other) noexcept
        : core_(other.core_), rec_(std::exchange(other.rec_, nullptr)), res_(std::exchange(other.res_, nullptr))
    {
    }
    Lease& operator=(Lease&& other) noexcept
    {
        if (this != &other) {
            release();
            core_ = other.core_;
            rec_ = std::exchange(other.rec_, nullptr);
            res_ = std::exchange(other.res_, nullptr);
        }
        return *this;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    /// Gives the resource back (see `release`).
    ~Lease() { release(); }

    /// The resource. Throws std::logic_error on an empty lease.
    Resource& operator*() const { return *checked(); }
    Resource* operator->() const { return checked(); }
    Resource& get() const { return *checked(); }
    /// True while the lease holds a resource.
    explicit operator bool() const noexcept { return rec_ != nullptr; }

    /// Gives the resource back now; the lease becomes empty. Runs the
    /// adapter's `is_broken` and `reset` on this thread. Idempotent, noexcept.
    void release() noexcept
    {
        if (rec_) {
            detail::LeaseRecord* rec = std::exchange(rec_, nullptr);
            res_ = nullptr;
            core_->release(rec);
        }
    }

    /// The resource is unusable (e.g. an I/O error): it will be destroyed on
    /// return instead of lent again. No effect on an empty lease.
    void mark_broken() noexcept
    {
        if (rec_) rec_->broken = true;
    }

    /// Takes the resource out of the pool for good and returns it; the lease
    /// becomes empty. The pool forgets it (no `destroy`, no `reset`, no
    /// hooks; counted in `stats().detached`), so its place is free: a waiter
    /// can get a new one. E.g. a connection handed to a LISTEN loop. Throws
    /// std::logic_error on an empty lease, and in shared lease mode (other
    /// holders share the resource; the lease stays valid then).
    [[nodiscard]] Resource detach()
    {
        if (!rec_) detail::throw_empty_lease();
        detail::Slot* slot = core_->detach(rec_);
        rec_ = nullptr;
        res_ = nullptr;
        return detail::PoolState<A>::take_resource(slot);
    }

    /// "Still working": moves this lease's `max_lease_time` deadline to now
    /// plus `max_lease_time`, so a long but live holder is not flagged overdue.
    void heartbeat() noexcept
    {
        if (rec_) core_->heartbeat(rec_);
    }

    /// Requested when the pool closes and wants its resources back, or when
    /// the lease passes `max_lease_time`; a long holder can watch it and let go. An empty lease's token never stops.
    std::stop_token stop_token() const { return rec_ ? core_->lease_stop_token(rec_) : std::stop_token{}; }

    /// Where and when this lease was acquired; nullopt for an empty lease.
    std::optional<LeaseInfo> info() const
    {
        if (!rec_) return std::nullopt;
        return core_->lease_info(rec_);
    }

private:
    friend class Pool<A>;
    Lease(detail::PoolCore* core, detail::LeaseRecord* rec) noexcept
        : core_(core), rec_(rec), res_(&detail::PoolState<A>::resource_of(rec->slot))
    {
    }
    Resource* checked() const
    {
        if (!res_) [[unlikely]]
            detail::throw_empty_lease();
        return res_;
    }

    detail::PoolCore* core_ = nullptr;
    detail::LeaseRecord* rec_ = nullptr;
    Resource* res_ = nullptr;
};

} // namespace respool
