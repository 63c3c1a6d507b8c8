// Private: the sockets of one pooled channel, so that a channel given up is
// shut down for good.
//
// grpc 1.51 keeps a connection attempt that is under way when its channel is
// destroyed (TCP connected, the server's HTTP/2 SETTINGS not yet read): when
// the server answers later, the connection stays established with no channel
// to own it, and a server sees more connections than the pool's max_size,
// even after ~Pool (issue 16, item 1; tests/grpc/channel_connections_test).
// grpc offers no call to end a channel's connections, so each channel gets a
// socket mutator (GRPC_ARG_SOCKET_MUTATOR) that records the client sockets
// grpc opens for it; `shut_down` then shuts each still-open one down (grpc
// sees a closed connection) and refuses any new socket.
#pragma once

#include <memory>

#include <grpcpp/support/channel_arguments.h>

namespace respool::grpc::detail {

class ConnectionGuard {
public:
    ConnectionGuard();
    ~ConnectionGuard();
    ConnectionGuard(const ConnectionGuard&) = delete;
    ConnectionGuard& operator=(const ConnectionGuard&) = delete;

    /// Installs the socket mutator into `args` (a channel's own arguments).
    void install(::grpc::ChannelArguments& args);
    /// Shuts down every socket of the channel that is still open and refuses
    /// new ones. Idempotent; thread-safe; never throws.
    void shut_down() noexcept;

    struct State;

private:
    std::shared_ptr<State> state_;  // shared with the mutator grpc holds
};

} // namespace respool::grpc::detail
