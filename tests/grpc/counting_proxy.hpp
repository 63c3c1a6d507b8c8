// counting_proxy.hpp — a loopback TCP forwarder that counts, exactly, the
// connections a server in front of it would hold at once.
//
// Why not read /proc/net/tcp: the kernel lists its socket tables a page at a
// time, so one read is no snapshot. A socket closed and another opened while
// the read is under way are both listed, and a table that changes between
// two pages can list one socket twice; on a machine with thousands of
// TIME_WAIT sockets a read spans milliseconds. G5 read 3 connections for a
// pool of 2 that way (issue 25).
//
// Here the count is taken at each accept, the only moment it can grow: the
// accepted connections whose client has not closed (our side still
// ESTABLISHED, by TCP_INFO on our own sockets) plus the new one. A client
// that closed sent its FIN before its next connect, so on loopback the FIN
// is in our socket's state before that connect is accepted.
//
// Modes, for connections accepted from then on: `forward` connects each to
// the upstream port and copies bytes both ways (an upstream that refuses
// closes the client's connection); `stall` answers nothing (TCP up, HTTP/2
// never); `refuse` closes at once (a server that is down, without the
// HTTP/2 GOAWAY a stopping grpc server sends: after a GOAWAY the client
// opens its next connection while the old one drains, see docs/adapters/grpc.md).
//
// Thread-safety: every member may be called from any thread. Lifetime: the
// destructor stops the loop and closes every socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace respool::test {

class CountingProxy {
public:
    enum class Mode { forward, stall, refuse };

    /// Listens on 127.0.0.1 (a free port) in `mode`; throws std::system_error.
    explicit CountingProxy(std::uint16_t upstream_port, Mode mode = Mode::forward);
    ~CountingProxy();
    CountingProxy(const CountingProxy&) = delete;
    CountingProxy& operator=(const CountingProxy&) = delete;

    std::uint16_t port() const noexcept;
    /// "127.0.0.1:<port>", a grpc target.
    std::string_view address() const noexcept;
    /// How connections accepted from now on are treated.
    void set_mode(Mode mode) noexcept;

    /// Resets (RST) every open connection, both sides; returns when done.
    void reset_all();

    /// Connections accepted so far.
    std::size_t accepted() const;
    /// The most connections open at once, counted at each accept (see above).
    std::size_t max_open() const;
    /// Connections whose client has not closed, now.
    std::size_t open() const;
    /// Forgets the maximum (e.g. after a phase allowed to exceed it).
    void reset_max();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace respool::test
