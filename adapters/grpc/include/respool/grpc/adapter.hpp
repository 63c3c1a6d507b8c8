// respool/grpc/adapter.hpp — the respool adapter for gRPC channels.
//
// `Adapter` makes `Channel`s to one target (`Options::target`). Each is a
// connection of its own (grpc would otherwise merge channels with equal
// arguments into one TCP connection, making a "pool" one connection in
// disguise). The pool leases channels in shared mode: up to
// `max_calls_per_channel` leases per channel, one lease per call in flight;
// it opens another channel only when every channel is at its cap.
// `pool.stats().resources[i].leases` is then the number of calls in flight
// on channel i.
//
// Hooks, as the pool calls them:
//   create     builds a channel and waits until it is READY (and, with
//              health_check, until Health/Check answers SERVING) or the
//              deadline passes: then throws `Error` naming the target, the
//              last state and grpc's reason. Ends at once, throwing, when the
//              pool closes (the stop token).
//   is_broken  cheap: SHUTDOWN, or TRANSIENT_FAILURE for longer than
//              `transient_failure_grace`. The pool checks it on every borrow
//              and return, also while other leases hold the channel: a
//              broken channel takes no new lease and goes when its last
//              holder lets go.
//   validate   Health/Check within the deadline; anything but SERVING fails.
//
// Thread-safety: every hook may run concurrently on several threads; the
// adapter is immutable after construction. Copying is cheap (shared state).
//
//   respool::grpc::Options o;
//   o.target = "127.0.0.1:50051";
//   o.insecure = true;                              // plaintext, e.g. loopback
//   respool::Pool pool{respool::grpc::Adapter{o}, pool_options};
//   auto lease = pool.acquire();
//   auto stub = respool::grpc::make_stub<echo::Echo>(lease);
#pragma once

#include <exception>
#include <memory>
#include <stop_token>
#include <string>

#include <respool/adapter.hpp>
#include <respool/deadline.hpp>
#include <respool/grpc/channel.hpp>
#include <respool/grpc/error.hpp>
#include <respool/grpc/export.hpp>
#include <respool/grpc/options.hpp>

namespace respool::grpc {

namespace detail {
class ChannelFactory;
} // namespace detail

/// Pooled gRPC channels to one target, shared by up to a cap of calls each.
class RESPOOL_GRPC_API Adapter {
public:
    using Resource = Channel;

    /// Throws `respool::InvalidOptions` naming the field when `options`
    /// cannot work (an empty target, no credentials chosen, ...).
    explicit Adapter(Options options);
    /// The shorthand: `target` over TLS with grpc's default root certificates,
    /// every other option at its default.
    explicit Adapter(std::string target);
    /// The old form (before 0.2), with the target apart.
    [[deprecated("set Options::target and use Adapter{options}")]]
    Adapter(std::string target, Options options);

    /// A new READY channel. Blocks until then or until `deadline`, when it
    /// throws `Error`; never later than the deadline plus a few ms.
    Channel create(respool::Deadline deadline);
    /// The same, and gives up within a few ms when `stop` is requested (the
    /// pool closing), throwing `Error` with operation "cancelled".
    Channel create(respool::Deadline deadline, std::stop_token stop);

    /// True when the channel cannot carry calls and should be replaced: it is
    /// SHUTDOWN, or has been failing longer than `transient_failure_grace`.
    /// Never blocks, never throws.
    bool is_broken(const Channel& channel) const noexcept;

    /// One Health/Check round trip within `deadline` (or, without
    /// health_check, waiting for READY). True only for SERVING.
    bool validate(Channel& channel, respool::Deadline deadline);

    /// Classifies a failed `create` for the pool: an `Error` of kind `tls`
    /// (handshake or certificate verification) is fatal — every waiter fails
    /// at once; `not_ready` (refused, unreachable, still starting) and
    /// `unhealthy` are transient: retried while callers wait. The same as
    /// `Error::fatal()`.
    bool is_fatal(const std::exception& error) const noexcept;

    /// Shared leases, `max_calls_per_channel` per channel.
    respool::LeaseMode lease_mode() const noexcept;

    const std::string& target() const noexcept;
    const Options& options() const noexcept;

private:
    std::shared_ptr<const detail::ChannelFactory> factory_;
};

static_assert(respool::Adapter<Adapter>);

/// The old name of `Adapter` (before 0.2).
using ChannelAdapter [[deprecated("renamed respool::grpc::Adapter, constructed from Options with the target in it")]] =
    Adapter;

} // namespace respool::grpc
