#include <respool/tcp/socket.hpp>

#include <cerrno>
#include <climits>

#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.hpp"
#include "socket_impl.hpp"
#include "tls.hpp"

namespace respool::tcp {

Socket::Impl::Impl(int fd_, SSL* ssl_, std::string endpoint_, std::string peer_, std::size_t max_line,
                   std::size_t max_frame_) noexcept
    : fd(fd_), ssl(ssl_), endpoint(std::move(endpoint_)), peer(std::move(peer_)), max_frame(max_frame_),
      buffer(max_line, max_frame_)
{
}

Socket::Impl::~Impl()
{
    if (ssl != nullptr) {
        if (!broken) SSL_shutdown(ssl);  // sends close_notify if the buffer has room; never waits
        ERR_clear_error();
        SSL_free(ssl);
    }
    ::close(fd);
}

void Socket::Impl::fail(Errc kind, const char* op, const std::string& what, int err)
{
    broken = true;
    throw Error(kind, "tcp " + endpoint + ": " + what, err, op, endpoint);
}

namespace {

/// "read: Connection reset by peer", with a hint when the kernel gave up on the peer.
std::string describe_errno(const char* op, int err)
{
    std::string text = std::string(op) + ": " + detail::errno_text(err);
    if (err == ETIMEDOUT) text += " (the kernel gave up on the peer: TCP_USER_TIMEOUT or keepalive)";
    return text;
}

} // namespace

short Socket::Impl::tls_retry_event(int rc, int sys_err, const char* op)
{
    switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_READ: return POLLIN;
    case SSL_ERROR_WANT_WRITE: return POLLOUT;
    case SSL_ERROR_ZERO_RETURN: fail(Errc::closed, op, "the peer closed the TLS connection");
    case SSL_ERROR_SYSCALL:
        if (sys_err == 0) fail(Errc::closed, op, "the peer closed the connection");
        fail(detail::classify_errno(sys_err), op, describe_errno(op, sys_err), sys_err);
    default:
        if (detail::is_unexpected_eof()) {
            ERR_clear_error();
            fail(Errc::closed, op, "the peer closed the connection (without TLS close_notify)");
        }
        if (detail::is_peer_alert())  // e.g. TLS 1.3 "certificate required" after the handshake
            fail(Errc::tls_handshake, op, "the peer sent a TLS alert: " + detail::drain_openssl_errors());
        fail(Errc::io, op, std::string("TLS ") + op + ": " + detail::drain_openssl_errors());
    }
}

std::size_t Socket::Impl::receive(char* dest, std::size_t max, Deadline deadline)
{
    if (broken) fail(Errc::io, "read", "the connection is broken by an earlier error");
    for (;;) {
        short wait_for = POLLIN;
        if (ssl == nullptr) {
            ssize_t n = ::recv(fd, dest, max, MSG_DONTWAIT);
            if (n > 0) return static_cast<std::size_t>(n);
            if (n == 0) fail(Errc::closed, "read", "the peer closed the connection");
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fail(detail::classify_errno(errno), "read", describe_errno("read", errno), errno);
        } else {
            ERR_clear_error();
            errno = 0;  // SSL_ERROR_SYSCALL reports errno: a stale value must not pass for a cause
            int n = SSL_read(ssl, dest, static_cast<int>(std::min<std::size_t>(max, INT_MAX)));
            if (n > 0) return static_cast<std::size_t>(n);
            wait_for = tls_retry_event(n, errno, "read");
        }
        if (!detail::wait_ready(fd, wait_for, deadline)) fail(Errc::timeout, "read", "read: deadline passed");
    }
}

void Socket::Impl::send(std::string_view data, Deadline deadline)
{
    if (broken) fail(Errc::io, "write", "the connection is broken by an earlier error");
    while (!data.empty()) {
        short wait_for = POLLOUT;
        if (ssl == nullptr) {
            ssize_t n = ::send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n >= 0) {
                data.remove_prefix(static_cast<std::size_t>(n));
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fail(detail::classify_errno(errno), "write", describe_errno("write", errno), errno);
        } else {
            ERR_clear_error();
            errno = 0;
            int n = SSL_write(ssl, data.data(), static_cast<int>(std::min<std::size_t>(data.size(), INT_MAX)));
            if (n > 0) {
                data.remove_prefix(static_cast<std::size_t>(n));
                continue;
            }
            wait_for = tls_retry_event(n, errno, "write");
        }
        if (!detail::wait_ready(fd, wait_for, deadline)) fail(Errc::timeout, "write", "write: deadline passed");
    }
}

Socket::Socket() noexcept = default;
Socket::Socket(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Socket::Socket(Socket&&) noexcept = default;
Socket& Socket::operator=(Socket&&) noexcept = default;
Socket::~Socket() = default;

Socket::Impl& Socket::checked() const
{
    if (!impl_) throw Error(Errc::io, "tcp: the socket is not connected (moved from or default-constructed)");
    return *impl_;
}

std::size_t Socket::read_some(char* dest, std::size_t max, Deadline deadline)
{
    Impl& s = checked();
    if (max == 0) return 0;
    if (std::size_t n = s.buffer.take(dest, max)) return n;
    return s.receive(dest, max, deadline);
}

void Socket::read_exact(char* dest, std::size_t size, Deadline deadline)
{
    std::size_t got = 0;
    while (got < size) got += read_some(dest + got, size - got, deadline);
}

std::string Socket::read_exact(std::size_t size, Deadline deadline)
{
    std::string out(size, '\0');
    read_exact(out.data(), size, deadline);
    return out;
}

void Socket::write_all(std::string_view data, Deadline deadline)
{
    checked().send(data, deadline);
}

namespace {

/// Reads into `s.buffer` until `next` yields a line or frame; throws on an over-long one.
template <class Next>
std::string read_framed(Socket::Impl& s, Deadline deadline, Next next, const char* what)
{
    std::string out;
    char chunk[16384];
    for (;;) {
        switch (next(s.buffer, out)) {
        case FrameReader::Status::ok: return out;
        case FrameReader::Status::too_long: s.fail(Errc::protocol, "read", std::string(what) + " exceeds the limit");
        case FrameReader::Status::need_more: break;
        }
        std::size_t n = s.receive(chunk, sizeof chunk, deadline);
        s.buffer.append({chunk, n});
    }
}

} // namespace

std::string Socket::read_line(Deadline deadline)
{
    return read_framed(checked(), deadline, [](FrameReader& r, std::string& o) { return r.next_line(o); },
                       "a line");
}

void Socket::write_line(std::string_view line, Deadline deadline)
{
    Impl& s = checked();
    if (line.find('\n') != std::string_view::npos)
        throw Error(Errc::protocol, "tcp " + s.endpoint + ": write_line: the line contains a newline", 0,
                    "write", s.endpoint);
    std::string out;
    out.reserve(line.size() + 1);
    out.append(line).push_back('\n');
    s.send(out, deadline);
}

std::string Socket::read_frame(Deadline deadline)
{
    return read_framed(checked(), deadline, [](FrameReader& r, std::string& o) { return r.next_frame(o); },
                       "a frame's length");
}

void Socket::write_frame(std::string_view payload, Deadline deadline)
{
    Impl& s = checked();
    if (payload.size() > s.max_frame)
        throw Error(Errc::protocol, "tcp " + s.endpoint + ": write_frame: " + std::to_string(payload.size()) +
                                        " bytes exceed max_frame_size " + std::to_string(s.max_frame),
                    0, "write", s.endpoint);
    s.send(FrameReader::encode_frame(payload), deadline);
}

bool Socket::usable() const noexcept { return impl_ && !impl_->broken; }
bool Socket::broken() const noexcept { return impl_ && impl_->broken; }

bool Socket::idle_ok() const noexcept
{
    if (!usable()) return false;
    Impl& s = *impl_;
    if (s.buffer.buffered() > 0) return false;  // a reply nobody read: out of step
    char c;
    ssize_t n = ::recv(s.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    if (n == 0 || s.ssl == nullptr) return false;  // EOF, or plain bytes nobody read
    // TLS: the bytes may be records the server sends after the handshake
    // (TLS 1.3 session tickets). Let OpenSSL process them; only application
    // data or a closure makes the connection unfit.
    ERR_clear_error();
    char probe[256];
    int got = SSL_read(s.ssl, probe, sizeof probe);
    if (got > 0) {
        s.buffer.append({probe, static_cast<std::size_t>(got)});
        return false;
    }
    int err = SSL_get_error(s.ssl, got);
    ERR_clear_error();
    return err == SSL_ERROR_WANT_READ && SSL_pending(s.ssl) == 0;
}

const std::string& Socket::peer() const noexcept
{
    static const std::string none;
    return impl_ ? impl_->peer : none;
}

bool Socket::is_tls() const noexcept { return impl_ && impl_->ssl != nullptr; }

std::string Socket::tls_version() const
{
    return is_tls() ? SSL_get_version(impl_->ssl) : "";
}

int Socket::native_handle() const noexcept { return impl_ ? impl_->fd : -1; }

} // namespace respool::tcp
