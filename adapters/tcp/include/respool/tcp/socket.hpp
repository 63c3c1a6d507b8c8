// respool/tcp/socket.hpp — a connected TCP or TLS socket whose every call ends by a deadline.
//
// The resource of `respool::tcp::Adapter`. Every read and write takes a
// `respool::Deadline` and returns or throws `respool::tcp::Error` by then
// (kind `timeout` when it passes, `closed` when the peer closed or reset the
// connection, `protocol` for a bad frame). Any failure also marks the socket
// broken: its protocol state is unknown, so the pool destroys it on return
// instead of lending it again (calling `lease.mark_broken()` as well is fine).
//
// Thread-safety: none; one thread uses a socket at a time (a lease is
// exclusive). Lifetime: the destructor closes the connection (TLS: sends
// close_notify without waiting). Move-only; a moved-from socket throws
// `Error` (kind io) from every I/O call.
//
//   auto d = respool::deadline_after(std::chrono::seconds(2));
//   lease->write_line("GET key", d);
//   std::string value = lease->read_line(d);
//   lease->write_frame(payload, d);
//   std::string reply = lease->read_frame(d);
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <respool/deadline.hpp>
#include <respool/tcp/export.hpp>

namespace respool::tcp {

class RESPOOL_TCP_API Socket {
public:
    Socket() noexcept;  ///< not connected
    Socket(Socket&&) noexcept;
    Socket& operator=(Socket&&) noexcept;
    ~Socket();

    /// Reads at least one byte (up to `max`) and returns the count; 0 only when `max` is 0.
    std::size_t read_some(char* dest, std::size_t max, Deadline deadline);
    /// Reads exactly `size` bytes.
    void read_exact(char* dest, std::size_t size, Deadline deadline);
    std::string read_exact(std::size_t size, Deadline deadline);
    /// Writes all of `data`.
    void write_all(std::string_view data, Deadline deadline);

    /// Reads one line and returns it without "\n" or "\r\n". A line longer
    /// than `Options::max_line_length` is a protocol error.
    std::string read_line(Deadline deadline);
    /// Writes `line` and "\n"; a `line` containing "\n" is a protocol error (nothing is sent).
    void write_line(std::string_view line, Deadline deadline);
    /// Reads one frame: a 4-byte big-endian length, then the payload. A length
    /// over `Options::max_frame_size` is a protocol error.
    std::string read_frame(Deadline deadline);
    /// Writes `payload` as one frame; over `max_frame_size` is a protocol error (nothing is sent).
    void write_frame(std::string_view payload, Deadline deadline);

    /// Connected and no operation has failed.
    bool usable() const noexcept;
    /// A failed operation left the connection in an unknown state.
    bool broken() const noexcept;
    /// Fit to be lent: usable, no bytes nobody read, the peer has not closed
    /// or reset it. The adapter's `is_broken` is its negation. Never blocks: a
    /// non-blocking peek (TLS: records the server sends after the handshake,
    /// such as session tickets, are processed, not counted as unread).
    bool idle_ok() const noexcept;

    /// The connected address, "127.0.0.1:5000" or "[::1]:5000".
    const std::string& peer() const noexcept;
    bool is_tls() const noexcept;
    /// The negotiated protocol, e.g. "TLSv1.3"; "" for plain TCP.
    std::string tls_version() const;
    /// The file descriptor, e.g. to read socket options. Do not read or write it.
    int native_handle() const noexcept;

    struct Impl;  ///< the implementation (private to the adapter's sources)
    RESPOOL_TCP_LOCAL explicit Socket(std::unique_ptr<Impl> impl) noexcept;
    /// The implementation, for the adapter's sources (Impl is opaque elsewhere).
    /// Throws `Error` (kind io) on a moved-from or unconnected socket.
    Impl& impl_for_adapter() const { return checked(); }

private:
    RESPOOL_TCP_LOCAL Impl& checked() const;
    std::unique_ptr<Impl> impl_;
};

} // namespace respool::tcp
