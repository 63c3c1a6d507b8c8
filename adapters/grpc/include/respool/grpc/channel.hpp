// respool/grpc/channel.hpp — one pooled gRPC channel.
//
// `Channel` is the adapter's resource: a `::grpc::Channel` with a connection of
// its own (no other pooled channel shares it). A lease on it is one call
// slot: hold the lease for as long as the call (or stream) runs, then give it
// back. What the adapter keeps to judge its health is private to the adapter.
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

#include <cstdint>
#include <memory>
#include <string_view>

#include <grpcpp/channel.h>

#include <respool/grpc/export.hpp>

namespace respool::grpc {

/// A pooled channel: the adapter's `Resource`. Move-only; a moved-from
/// Channel may only be destroyed or assigned to.
class RESPOOL_GRPC_API Channel {
public:
    /// The adapter's own state of a channel; opaque outside the adapter.
    struct Internals;

    /// Made by `Adapter::create` only (users cannot make `Internals`).
    explicit Channel(std::unique_ptr<Internals> internals) noexcept;
    Channel(Channel&&) noexcept;
    Channel& operator=(Channel&&) noexcept;
    /// Shuts the channel's sockets down (see Lifetime above).
    ~Channel();

    /// The grpc channel, for `Service::NewStub` or generic calls.
    const std::shared_ptr<::grpc::Channel>& channel() const noexcept;
    /// The process-unique number in this channel's arguments (what keeps it
    /// from sharing a connection with another channel).
    std::uint64_t id() const noexcept;
    /// Current connectivity state, without trying to connect.
    grpc_connectivity_state state() const;

    /// For the adapter's sources; opaque to everyone else.
    Internals& internals() const noexcept { return *internals_; }

private:
    std::unique_ptr<Internals> internals_;
};

/// "IDLE", "CONNECTING", "READY", "TRANSIENT_FAILURE" or "SHUTDOWN".
RESPOOL_GRPC_API std::string_view state_name(grpc_connectivity_state state) noexcept;

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
