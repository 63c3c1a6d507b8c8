// respool/tcp/error.hpp — what went wrong on a TCP/TLS connection, as one typed exception.
//
// Every failure of the TCP adapter — resolving, connecting, the TLS handshake,
// reading, writing, framing — throws `respool::tcp::Error`, which derives from
// `respool::AdapterError` like every adapter's errors (a std::system_error):
// code() lies in `respool::tcp::error_category()` (so `e.code() ==
// respool::tcp::Errc::refused` works), what() names the endpoint, the step
// and the reason (errno text, OpenSSL's reason or the certificate check that
// failed), operation() and endpoint() say what it did where, and fatal()
// whether a new connection can get past it. Messages contain host names,
// addresses and file paths, never key material.
//
// Why not `respool::Error`: that type means "the pool said no". An adapter
// error reaches pool users wrapped in `respool::CreateFailed` (its cause() is
// this exception) or directly from a Socket method on a leased connection.
//
//   try { lease->write_all("PING\n", respool::deadline_after(1s)); }
//   catch (const respool::tcp::Error& e) {
//       if (e.kind() == respool::tcp::Errc::timeout) ...;   // e.operation() == "write"
//       lease.mark_broken();
//   }
#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include <respool/adapter_error.hpp>
#include <respool/tcp/export.hpp>

namespace respool::tcp {

/// The kinds of failure; the error codes of `error_category()`.
enum class Errc {
    resolve = 1,    ///< the host name did not resolve
    refused,        ///< every address refused the connection
    unreachable,    ///< no route to the host or network
    timeout,        ///< the deadline passed (resolve, connect, handshake, read, write)
    tls_verify,     ///< the peer's certificate or host name did not verify
    tls_handshake,  ///< the TLS handshake failed for another reason (protocol, alert, not TLS at all)
    closed,         ///< the peer closed (FIN) or reset (RST) the connection
    protocol,       ///< bad framing: an over-long line or frame, or a bad argument to a frame helper
    io,             ///< any other socket or TLS error
    hook,           ///< a user hook (`on_connect`, `probe`, `resolver`) threw something not a tcp::Error
};

/// "resolve", "refused", "unreachable", "timeout", "tls_verify",
/// "tls_handshake", "closed", "protocol", "io", "hook".
RESPOOL_TCP_API std::string_view to_string(Errc kind) noexcept;

/// The category of `Errc`; its name is "respool.tcp".
RESPOOL_TCP_API const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

/// A failure of the TCP adapter or of a Socket operation.
class RESPOOL_TCP_API Error : public respool::AdapterError {
public:
    /// `message` is the whole what() text; `sys_errno` the errno behind it (0:
    /// none); `operation` and `endpoint` as AdapterError's accessors say:
    /// the step that failed ("resolve", "connect", "tls_handshake", "read",
    /// "write", or a user hook: "on_connect", "probe", "resolver"; "" if
    /// unknown) and the configured "host:port" ("[::1]:port" for IPv6; "" if
    /// unknown).
    Error(Errc kind, std::string message, int sys_errno = 0, std::string operation = {},
          std::string endpoint = {});

    Errc kind() const noexcept { return static_cast<Errc>(code().value()); }
    /// The errno that caused it (e.g. ECONNRESET), or 0.
    int sys_errno() const noexcept { return sys_errno_; }
    // fatal() (AdapterError): a certificate or host name that did not verify,
    // or a TLS handshake the peer or OpenSSL refused (protocol version, an
    // alert, a port that does not speak TLS); not one cut short by the peer
    // closing or staying silent past tls.hello_timeout, which may be a server
    // restarting, nor refused, unreachable, timeout or resolve.

private:
    int sys_errno_;
};

} // namespace respool::tcp

template <>
struct std::is_error_code_enum<respool::tcp::Errc> : std::true_type {};
