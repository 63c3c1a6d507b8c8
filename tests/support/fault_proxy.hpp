// fault_proxy.hpp — a loopback TCP proxy that injects network faults on demand.
//
// The kernel here has no netem, so tests put this proxy between a client and
// a real server and break the path in the ways networks break: stall it
// (blackhole), slow it (delay), cut it (RST or FIN), or corrupt it (garbage).
// It listens on 127.0.0.1:port() and forwards every accepted connection to
// upstream_host:upstream_port. One background thread runs a poll loop.
//
// Thread-safety: every member may be called from any thread. The fault
// methods are synchronous: when they return, the proxy acts accordingly (e.g.
// after reset_all() every connection open before has been reset).
// Lifetime: the destructor stops the thread and closes every socket.
//
//   respool::test::FaultProxy proxy{"127.0.0.1", server.port()};
//   connect_to(proxy.port());
//   proxy.blackhole();    // the connection stalls: nothing arrives either way
//   proxy.pass();         // traffic flows again, held bytes are delivered
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace respool::test {

class FaultProxy {
public:
    /// Starts listening; throws std::system_error or std::runtime_error.
    FaultProxy(std::string upstream_host, std::uint16_t upstream_port);
    ~FaultProxy();
    FaultProxy(const FaultProxy&) = delete;
    FaultProxy& operator=(const FaultProxy&) = delete;

    /// The port clients connect to (on 127.0.0.1).
    std::uint16_t port() const noexcept;

    /// Forward traffic both ways as it comes (the default).
    void pass();
    /// Forward each chunk `d` after it was read, both ways.
    void delay(std::chrono::milliseconds d);
    /// A stall: keep accepting and reading, forward nothing, close nothing.
    /// New connections are not connected upstream. Bytes read are held and
    /// delivered when forwarding resumes, like TCP after a partition heals.
    void blackhole();
    /// RST every open connection, on both sides.
    void reset_all();
    /// FIN every open connection, on both sides.
    void close_all();
    /// Sends `bytes` to the client side of every open connection now.
    void inject_garbage(std::string bytes);
    /// New connections go to this upstream port (a server restarted elsewhere).
    void set_upstream_port(std::uint16_t port);

    /// Connections accepted so far.
    std::size_t accepted() const noexcept;
    /// Connections open now.
    std::size_t open() const noexcept;
    /// Waits (no polling) until `n` connections have been accepted in all;
    /// false if `timeout` passed first. A client's connect completes in the
    /// kernel before the server accepts: wait before acting on "every open connection".
    bool wait_accepted(std::size_t n, std::chrono::milliseconds timeout) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace respool::test
