// socket_impl.hpp — what a Socket holds, shared by the adapter's sources (internal).
#pragma once

#include <string>

#include <openssl/ssl.h>

#include <respool/tcp/error.hpp>
#include <respool/tcp/frame_reader.hpp>
#include <respool/tcp/socket.hpp>

namespace respool::tcp {

// Private to the library even though Socket is exported.
struct RESPOOL_TCP_LOCAL Socket::Impl {
    Impl(int fd, SSL* ssl, std::string endpoint, std::string peer, std::size_t max_line,
         std::size_t max_frame) noexcept;
    ~Impl();  // TLS close_notify (best effort, never waits), then close
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    /// Reads from the network (not the buffer): at least one byte by `deadline`.
    std::size_t receive(char* dest, std::size_t max, Deadline deadline);
    /// Writes from the network's point of view: all of `data` by `deadline`.
    void send(std::string_view data, Deadline deadline);
    /// Marks the socket broken and throws "tcp <endpoint>: <what>" from operation `op` ("read", "write").
    [[noreturn]] void fail(Errc kind, const char* op, const std::string& what, int err = 0);
    /// After an SSL_read/SSL_write that returned `rc` <= 0: the poll event to
    /// wait for before retrying, or throws the error it stands for.
    short tls_retry_event(int rc, int sys_err, const char* op);

    int fd;
    SSL* ssl;                 // null for plain TCP
    std::string endpoint;     // "host:port" as configured
    std::string peer;         // the address connected to
    std::size_t max_frame;
    FrameReader buffer;       // bytes read ahead by the line and frame helpers
    bool broken = false;
    bool probe_passed = false;  // the adapter's probe succeeded on it at least once
};

} // namespace respool::tcp
