// respool/grpc/channel_adapter.hpp — the respool adapter for gRPC channels.
//
// `ChannelAdapter` makes `Channel`s to one target. Each is a connection of its
// own (grpc would otherwise merge channels with equal arguments into one TCP
// connection, making a "pool" one connection in disguise). The pool leases
// channels in shared mode: up to `max_calls_per_channel` leases per channel,
// one lease per call in flight; it opens another channel only when every
// channel is at its cap. `pool.stats().resources[i].leases` is then the
// number of calls in flight on channel i.
//
// Hooks, as the pool calls them:
//   create     builds a channel and waits until it is READY (and, with
//              health_check, until Health/Check answers SERVING) or the
//              deadline passes: then throws `ChannelError` naming the target,
//              the last state and grpc's reason.
//   is_broken  cheap: SHUTDOWN, or TRANSIENT_FAILURE for longer than
//              `transient_failure_grace`.
//   validate   Health/Check within the deadline; anything but SERVING fails.
//
// Thread-safety: every hook may run concurrently on several threads; the
// adapter is immutable after construction. Copying is cheap (shared state).
//
//   respool::grpc::ChannelOptions o;
//   o.insecure = true;                              // plaintext, e.g. loopback
//   respool::Pool pool{respool::grpc::ChannelAdapter{"127.0.0.1:50051", o}, pool_options};
//   auto lease = pool.acquire();
//   auto stub = respool::grpc::make_stub<echo::Echo>(lease);
#pragma once

#include <memory>
#include <string>

#include <respool/adapter.hpp>
#include <respool/deadline.hpp>
#include <respool/grpc/channel.hpp>
#include <respool/grpc/channel_options.hpp>
#include <respool/grpc/export.hpp>

namespace respool::grpc {

namespace detail {
class ChannelFactory;
} // namespace detail

/// Pooled gRPC channels to one target, shared by up to a cap of calls each.
class RESPOOL_GRPC_API ChannelAdapter {
public:
    using Resource = Channel;

    /// `target` is any grpc target string ("host:port", "dns:///host:port",
    /// "ipv4:127.0.0.1:50051", "unix:/path"). Throws `respool::InvalidOptions`
    /// naming the field when `target` or `options` cannot work.
    ChannelAdapter(std::string target, ChannelOptions options);

    /// A new READY channel. Blocks until then or until `deadline`, when it
    /// throws `ChannelError`; never later than the deadline plus a few ms.
    Channel create(respool::Deadline deadline);

    /// True when the channel cannot carry calls and should be replaced: it is
    /// SHUTDOWN, or has been failing longer than `transient_failure_grace`.
    /// Never blocks, never throws.
    bool is_broken(const Channel& channel) const noexcept;

    /// One Health/Check round trip within `deadline` (or, without
    /// health_check, waiting for READY). True only for SERVING.
    bool validate(Channel& channel, respool::Deadline deadline);

    /// Classifies a failed `create` for the pool: a `ChannelError` of kind
    /// `tls` (handshake or certificate verification) is fatal — every waiter
    /// fails at once; `not_ready` (refused, unreachable, still starting) and
    /// `unhealthy` are transient: retried while callers wait.
    bool is_fatal(const std::exception& error) const noexcept;

    /// Shared leases, `max_calls_per_channel` per channel.
    respool::LeaseMode lease_mode() const noexcept;

    const std::string& target() const noexcept;
    const ChannelOptions& options() const noexcept;

private:
    std::shared_ptr<const detail::ChannelFactory> factory_;
};

static_assert(respool::Adapter<ChannelAdapter>);
static_assert(respool::detail::HasIsBroken<ChannelAdapter>);
static_assert(respool::detail::HasValidate<ChannelAdapter>);
static_assert(respool::detail::HasLeaseMode<ChannelAdapter>);
static_assert(respool::detail::HasIsFatal<ChannelAdapter>);

} // namespace respool::grpc
