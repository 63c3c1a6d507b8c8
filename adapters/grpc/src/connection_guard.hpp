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
//
// Issue 25: the pool reuses a place once `shut_down` returns, so it returns
// only when no socket of the channel can still be an established connection
// at the server: each is closed, or its FIN has gone out, or its connect
// failed. One case needs a wait: grpc made the socket (the mutator ran) but
// has not called connect() yet; a shutdown() then fails (ENOTCONN) and the
// connect() after it would still succeed, so `shut_down` waits (polling
// every 0.2 ms, at most 1 s) until grpc connects it (then FINs it) or closes
// it. And within one live channel, a connection attempt grpc abandoned at its
// connect deadline (the server never sent HTTP/2 SETTINGS) is shut down when
// grpc opens the next one: grpc 1.51 closes it only later, on another thread.
//
// The mutator also sets each socket's TCP keepalive and TCP_USER_TIMEOUT
// (Options::tcp_keepalive_time, tcp_user_timeout), after grpc's own settings.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include <grpcpp/support/channel_arguments.h>

namespace respool::grpc::detail {

class ConnectionGuard {
public:
    struct Settings {
        /// The least time grpc gives one connection attempt (GRPC_ARG_MIN_RECONNECT_BACKOFF_MS).
        std::chrono::milliseconds connect_timeout;
        /// SO_KEEPALIVE idle time (probes every second after it); 0: off.
        std::chrono::milliseconds tcp_keepalive_time;
        /// TCP_USER_TIMEOUT; 0: the kernel's default.
        std::chrono::milliseconds tcp_user_timeout;
    };
    explicit ConnectionGuard(const Settings& settings);
    ~ConnectionGuard();
    ConnectionGuard(const ConnectionGuard&) = delete;
    ConnectionGuard& operator=(const ConnectionGuard&) = delete;

    /// Installs the socket mutator into `args` (a channel's own arguments).
    void install(::grpc::ChannelArguments& args);
    /// Shuts down every socket of the channel that is still open and refuses
    /// new ones. Idempotent; thread-safe; never throws.
    void shut_down() noexcept;
    /// Sockets grpc has made for the channel so far (0: it never got an
    /// address to connect to, e.g. the name is still resolving).
    std::size_t sockets_made() const noexcept;

    struct State;

private:
    std::shared_ptr<State> state_;  // shared with the mutator grpc holds
};

} // namespace respool::grpc::detail
