// respool/event.hpp — structured events for logs, metrics and tests.
//
// Give the pool an `EventListener` through `PoolOptions::listener` to learn
// what it does: resources made and destroyed (with the reason), acquires that
// timed out, suspected leaks and their return, failed validations. Events are
// delivered after the pool's lock is released, on the thread where they
// happened (a caller's or the pool's own); a listener must be thread-safe and
// should be quick. An `Event` and the views in it are valid only during the call.
//
//   struct Counter : respool::EventListener {
//       std::atomic<int> leaks{0};
//       void on_event(const respool::Event& e) noexcept override {
//           if (e.kind == respool::EventKind::leak_suspected) ++leaks;
//       }
//   };
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
#include <thread>

#include <respool/detail/export.hpp>
#include <respool/detail/source_location.hpp>
#include <respool/stats.hpp>

namespace respool {

/// What happened.
enum class EventKind {
    created,            ///< a resource was made (`duration`: how long it took)
    create_failed,      ///< `create` threw (`message`: its error)
    destroyed,          ///< a resource was destroyed (`reason`)
    validation_failed,  ///< `validate` said no on borrow
    acquire_timeout,    ///< an acquire ran out of time (`message`: why)
    leak_suspected,     ///< a lease was held past `leak_threshold` (`site`, `duration`)
    leak_returned,      ///< a lease reported as a leak came back after all
    leak_at_close,      ///< a lease was still out when the pool closed (strict mode)
    lease_overdue,      ///< a lease passed `max_lease_time` without a heartbeat (`site`, `duration`)
    lease_reclaimed,    ///< an overdue lease's resource was interrupted (`reclaim_overdue_leases`)
    circuit_opened,     ///< creation kept failing; acquires now fail fast (`message`: last error)
    circuit_closed,     ///< a probe creation succeeded; the pool ramps back up
    keepalive_failed,   ///< an idle resource failed its keepalive validation
    pool_closed,        ///< `close()` began
};

/// "created", "destroyed", "leak_suspected", ...
RESPOOL_API std::string_view to_string(EventKind kind) noexcept;

/// One event. Fields that do not apply to a kind are zero or empty.
struct Event {
    EventKind kind{};
    std::string_view pool;                 ///< `PoolOptions::name`
    std::uint64_t resource_id = 0;
    DestroyReason reason{};                ///< for `destroyed`
    std::chrono::nanoseconds duration{};   ///< create time, lease age, or wait
    std::string_view message;              ///< error text or explanation
    SourceLocation site{};                 ///< acquire site, for lease events
    std::thread::id thread{};              ///< the lease's thread, for lease events
};

/// Receives events. Called outside the pool's lock, from any thread.
class RESPOOL_API EventListener {
public:
    virtual ~EventListener() = default;
    /// Must not throw and should not block; it may call `stats()` or `leases()`.
    virtual void on_event(const Event& event) noexcept = 0;
};

} // namespace respool
