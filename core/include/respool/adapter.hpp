// respool/adapter.hpp — the contract between the pool and a kind of resource.
//
// An adapter is a small struct that knows how to make one resource. Only
// `Resource` and `create` are required; every other hook is optional, found
// with `requires` and compiled out when absent (it then costs nothing):
//
//   struct MyAdapter {
//       using Resource = MyConnection;                      // movable
//       Resource create(respool::Deadline d);               // throws on failure, honours d
//       Resource create(respool::Deadline d, std::stop_token stop);  // optional: also ends early
//                                                           //   when `stop` fires (the pool closes)
//       bool is_broken(const Resource&) const;              // cheap, no round trip, never blocks
//       bool validate(Resource&, respool::Deadline);        // an active round trip
//       void reset(Resource&);                              // on return; throwing destroys it
//       void destroy(Resource&) noexcept;                   // default: the destructor
//       void interrupt(Resource&) noexcept;                 // make a holder's I/O fail (lease reclaim);
//                                                           //   called while the holder may use it
//       respool::LeaseMode lease_mode() const;              // default: exclusive
//       bool is_fatal(const std::exception&);               // classify a create failure; default: transient
//   };
//   static_assert(respool::Adapter<MyAdapter>);
//
// Threads: the pool calls the hooks concurrently from callers' threads and
// from its own background threads, never while holding its lock. `create`
// and `validate` may block until their deadline; `is_broken` runs on every
// borrow and return and must not block. `reset` runs on the returning thread.
//
// Failed creations are transient by default: the pool retries them with
// back-off while its callers keep waiting, each until its own deadline. A
// failure that retrying cannot fix (a wrong password, an unknown database, a
// certificate that does not verify) is fatal: it fails every waiting caller at
// once, and later acquires that find no idle resource fail fast with the same
// cause until a creation succeeds. `create` says so by throwing a
// `respool::FatalError` (or a type derived from it), or the adapter classifies
// its own exceptions with `is_fatal` (called on a pool thread, outside the
// pool's lock, with what `create` threw; must not throw or block). An error
// derived from `respool::AdapterError` (adapter_error.hpp) whose `fatal()` is
// true is fatal too.
//
// Closing the pool does not wait out creations in flight when the adapter
// offers `create(Deadline, std::stop_token)`: the pool calls that overload
// (and never the other), and `close()` / `~Pool` request the stop; the
// adapter then gives up at once, throwing (the pool discards the failure).
#pragma once

#include <respool/detail/config.hpp>
#include <respool/detail/source_location.hpp>

#include <concepts>
#include <cstddef>
#include <exception>
#include <stdexcept>
#include <stop_token>
#include <type_traits>

#include <respool/deadline.hpp>

namespace respool {

/// How leases share a resource: one holder at a time (database connections,
/// sockets), or up to `cap` holders at once (multiplexed gRPC channels).
struct LeaseMode {
    std::size_t cap = 1;  ///< holders per resource; 1 means exclusive

    static constexpr LeaseMode exclusive() noexcept { return {1}; }
    static constexpr LeaseMode shared(std::size_t cap) noexcept { return {cap}; }
    constexpr bool is_shared() const noexcept { return cap > 1; }
};

/// Most holders one shared resource may have (`LeaseMode::cap`); a larger
/// cap is `InvalidOptions` naming `LeaseMode.cap`.
inline constexpr std::size_t max_lease_cap = 1'000'000;

/// Thrown by `create` (directly, or as a base of the adapter's own type) for
/// a failure retrying cannot fix: the pool fails its waiters at once instead
/// of retrying for them (see the header comment). Do not also derive from
/// another `std::exception` type: a second base would make the exception
/// ambiguous to catch as `std::exception`; classify such types with `is_fatal`.
class FatalError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// What the pool needs of an adapter: a movable `Resource` and `create(Deadline)`.
template <class A>
concept Adapter = std::is_move_constructible_v<typename A::Resource> &&
                  requires(A& a, Deadline d) {
                      { a.create(d) } -> std::same_as<typename A::Resource>;
                  };

namespace detail {

template <class A>
concept HasIsBroken = requires(A& a, const typename A::Resource& r) {
    { a.is_broken(r) } -> std::convertible_to<bool>;
};
template <class A>
concept HasValidate = requires(A& a, typename A::Resource& r, Deadline d) {
    { a.validate(r, d) } -> std::convertible_to<bool>;
};
template <class A>
concept HasReset = requires(A& a, typename A::Resource& r) { a.reset(r); };
template <class A>
concept HasDestroy = requires(A& a, typename A::Resource& r) { a.destroy(r); };
template <class A>
concept HasInterrupt = requires(A& a, typename A::Resource& r) { a.interrupt(r); };
template <class A>
concept HasStoppableCreate = requires(A& a, Deadline d, std::stop_token s) {
    { a.create(d, s) } -> std::same_as<typename A::Resource>;
};
template <class A>
concept HasIsFatal = requires(A& a, const std::exception& e) {
    { a.is_fatal(e) } -> std::convertible_to<bool>;
};
template <class A>
concept HasLeaseMode = requires(const A& a) {
    { a.lease_mode() } -> std::convertible_to<LeaseMode>;
};

} // namespace detail
} // namespace respool
