// respool/hooks.hpp — the user's own checks around every lease.
//
// `Hooks<Resource>` is the optional third argument of `Pool`'s constructor:
// callbacks typed on the adapter's resource, so they live where that type is
// known rather than in the untyped `PoolOptions`.
//
//   respool::Hooks<MyConnection> hooks;
//   hooks.on_acquire = [](MyConnection& c) { c.tag_request(); return true; };
//   hooks.on_release = [](MyConnection& c) { return !c.in_transaction(); };  // false: destroy it
//   respool::Pool pool{MyAdapter{}, options, hooks};
//
// Both run on the caller's thread, outside the pool's lock, after the
// adapter's own checks on borrow (`is_broken`, `validate`) and before them on
// return (`is_broken`, `reset`). Returning false destroys the resource
// (reason `broken`, like `mark_broken()`; it is not a failed creation): on
// acquire the caller gets another resource within its deadline, on release
// it is destroyed instead of going back. A hook that throws counts as false,
// and the pool logs a warning naming the hook. An empty hook costs one branch.
// In shared lease mode they run once per lease, possibly concurrently with
// other holders of the same resource.
#pragma once

#include <functional>

namespace respool {

template <class Resource>
struct Hooks {
    /// Runs on every borrow, just before the lease is handed out; false
    /// refuses this resource (destroyed; the acquire goes on).
    std::function<bool(Resource&)> on_acquire;
    /// Runs on every return, before the adapter's checks; false destroys it.
    std::function<bool(Resource&)> on_release;
};

} // namespace respool
