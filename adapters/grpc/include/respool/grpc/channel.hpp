// respool/grpc/channel.hpp — one pooled gRPC channel, and the adapter's error.
//
// `Channel` is the adapter's resource: a `::grpc::Channel` with a connection of
// its own (no other pooled channel shares it), plus the little state the
// adapter keeps to judge its health. A lease on it is one call slot: hold the
// lease for as long as the call (or stream) runs, then give it back.
//
// `ChannelError` is what `ChannelAdapter::create` throws; the pool wraps it in
// `respool::CreateFailed`, whose `cause()` still holds it.
//
// Thread-safety: a Channel is used by many leases at once; everything here is
// safe to call concurrently (grpc channels are thread-safe).
// Lifetime: stubs made from the channel keep the `::grpc::Channel` object
// alive, but not its connection: when the pool destroys the Channel (broken,
// retired, closed) its sockets are shut down and calls on leftover stubs
// fail with UNAVAILABLE. Make stubs per lease, not for longer.
//
//   auto lease = pool.acquire();
//   auto stub = respool::grpc::make_stub<my::Echo>(lease);
//   ::grpc::ClientContext ctx;
//   ctx.set_deadline(std::chrono::system_clock::now() + 200ms);
//   auto status = stub->Say(&ctx, request, &reply);   // the lease goes back at scope end,
//                                                      // where is_broken checks the state
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <grpcpp/channel.h>

#include <respool/grpc/export.hpp>

namespace respool::grpc {

namespace detail {
/// Health bookkeeping shared by all leases of one channel.
struct ChannelHealth {
    /// Steady-clock nanoseconds since the channel was first seen failing
    /// (TRANSIENT_FAILURE, or CONNECTING after one); 0 while healthy.
    std::atomic<std::int64_t> failing_since{0};
};
} // namespace detail

/// A pooled channel: the adapter's `Resource`. Move-only.
class RESPOOL_GRPC_API Channel {
public:
    /// `shutdown`, when given, is released with the Channel (destroyed or
    /// given up): the adapter's handle that then shuts the channel's sockets
    /// down and keeps grpc from opening new ones, so no connection outlives it.
    Channel(std::shared_ptr<::grpc::Channel> channel, std::uint64_t id,
            std::shared_ptr<const void> shutdown = nullptr)
        : channel_(std::move(channel)), id_(id), health_(std::make_unique<detail::ChannelHealth>()),
          shutdown_(std::move(shutdown))
    {
    }

    /// The grpc channel, for `Service::NewStub` or generic calls.
    const std::shared_ptr<::grpc::Channel>& channel() const noexcept { return channel_; }
    /// The process-unique number in this channel's arguments (what keeps it
    /// from sharing a connection with another channel).
    std::uint64_t id() const noexcept { return id_; }
    /// Current connectivity state, without trying to connect.
    grpc_connectivity_state state() const { return channel_->GetState(false); }

    /// The adapter's health bookkeeping; not for users.
    detail::ChannelHealth& health() const noexcept { return *health_; }

private:
    std::shared_ptr<::grpc::Channel> channel_;
    std::uint64_t id_ = 0;
    std::unique_ptr<detail::ChannelHealth> health_;
    std::shared_ptr<const void> shutdown_;  // last: released first, before the grpc channel
};

/// "IDLE", "CONNECTING", "READY", "TRANSIENT_FAILURE" or "SHUTDOWN".
RESPOOL_GRPC_API std::string_view state_name(grpc_connectivity_state state) noexcept;

/// Why `ChannelAdapter::create` gave up on a channel. The message names the
/// target, the time waited, the last connectivity state and grpc's reason
/// (e.g. "Connection refused", a certificate error); never a secret.
class RESPOOL_GRPC_API ChannelError : public std::runtime_error {
public:
    enum class Kind {
        not_ready,  ///< the channel did not reach READY before the deadline
        unhealthy,  ///< READY, but the health check did not answer SERVING
        tls,        ///< the TLS handshake or the server certificate failed (grpc
                    ///< said so, or the certificate has no subjectAltName):
                    ///< reported at once, not at the deadline; retrying cannot help
    };

    ChannelError(Kind kind, const std::string& what, std::string target,
                 grpc_connectivity_state last_state, std::string reason,
                 std::string operation = "connect")
        : std::runtime_error(what), kind_(kind), target_(std::move(target)),
          last_state_(last_state), reason_(std::move(reason)), operation_(std::move(operation))
    {
    }

    Kind kind() const noexcept { return kind_; }
    /// The target string the adapter was given.
    const std::string& target() const noexcept { return target_; }
    /// The same as `target()`: the endpoint, named as in the other adapters' errors.
    const std::string& endpoint() const noexcept { return target_; }
    /// The step that failed: "connect" (waiting for READY, the TLS handshake
    /// included), "health_check" or "peer_certificate".
    const std::string& operation() const noexcept { return operation_; }
    /// The connectivity state when the adapter gave up.
    grpc_connectivity_state last_state() const noexcept { return last_state_; }
    /// grpc's own words for the failure (may be empty), or the health answer.
    const std::string& reason() const noexcept { return reason_; }

private:
    Kind kind_;
    std::string target_;
    grpc_connectivity_state last_state_;
    std::string reason_;
    std::string operation_;
};

/// "not_ready", "unhealthy", "tls".
RESPOOL_GRPC_API std::string_view to_string(ChannelError::Kind kind) noexcept;

/// A fresh stub of `Service` on a lease's channel (or on a `Channel`). Cheap;
/// make one per lease and drop it with the lease.
template <class Service, class L>
    requires requires(const L& lease) { lease->channel(); }
auto make_stub(const L& lease)
{
    return Service::NewStub(lease->channel());
}

template <class Service>
auto make_stub(const Channel& channel)
{
    return Service::NewStub(channel.channel());
}

} // namespace respool::grpc
