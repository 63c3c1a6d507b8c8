// respool/tcp/adapter.hpp — the pool adapter for TCP and TLS connections.
//
// `create` resolves the host (bounded by the deadline even when the resolver
// hangs), connects non-blocking to each address in turn (a refused or
// unreachable one moves on to the next; one that never answers ends at the
// deadline), sets TCP_NODELAY, keepalive and TCP_USER_TIMEOUT, and with TLS
// verifies the peer's certificate and host name (SNI, TLS 1.2 minimum), then
// runs `Options::on_connect` if set. The pool calls the overload with a
// stop token, so `close()` / `~Pool` end a creation in flight at once (a
// blackholed address, a hanging lookup) instead of waiting out its deadline.
// `is_broken` peeks without blocking; `validate` runs `Options::probe`.
//
// Thread-safety: all members may be called concurrently (the pool does).
// Copies share the immutable configuration (and the TLS context).
//
//   respool::tcp::Options o{.host = "localhost", .port = 7000};
//   respool::Pool pool{respool::tcp::Adapter{o}, respool::PoolOptions{}};
//   auto sock = pool.acquire();
//   sock->write_line("PING", respool::deadline_after(std::chrono::seconds(1)));
#pragma once

#include <memory>
#include <stop_token>
#include <string>

#include <respool/adapter.hpp>
#include <respool/tcp/options.hpp>
#include <respool/tcp/socket.hpp>
#include <respool/tcp/export.hpp>

namespace respool::tcp {

class RESPOOL_TCP_API Adapter {
public:
    using Resource = Socket;

    /// Validates `options` (throws respool::InvalidOptions naming the field)
    /// and loads the TLS configuration (CA, client certificate).
    explicit Adapter(Options options);

    /// A connected (and, with TLS, verified) socket by `deadline`; throws
    /// respool::tcp::Error otherwise. Called by the pool on its creator threads.
    Socket create(Deadline deadline);
    /// The same, also ending early (throwing) once `stop` is requested: the
    /// pool requests it when it closes. Every wait - lookup, connect, TLS
    /// handshake, on_connect's socket I/O - watches it.
    Socket create(Deadline deadline, std::stop_token stop);
    /// True when the socket must not be lent again; never blocks.
    bool is_broken(const Socket& socket) const noexcept;
    /// Runs `Options::probe` (false if it throws); without a probe, `!is_broken`.
    bool validate(Socket& socket, Deadline deadline);
    /// Classifies a failed `create` for the pool: fatal (every waiter fails at
    /// once) for `Errc::tls_verify` (certificate or host name) and for a TLS
    /// handshake the peer or OpenSSL refused (protocol version, an alert, a
    /// port that does not speak TLS); transient (retried while callers wait)
    /// for refused, unreachable, timeout, resolve, a connection reset or
    /// closed during the handshake, and everything else.
    bool is_fatal(const std::exception& error) const noexcept;

    const Options& options() const noexcept;
    /// "host:port", as used in messages.
    const std::string& endpoint() const noexcept;

    struct Config;

private:
    Socket create_within(Deadline deadline);  // create's steps; a StopScope may be active

    std::shared_ptr<const Config> config_;
};

static_assert(respool::Adapter<Adapter>);
static_assert(respool::detail::HasIsBroken<Adapter> && respool::detail::HasValidate<Adapter> &&
              respool::detail::HasIsFatal<Adapter> &&
              respool::detail::HasStoppableCreate<Adapter>);

} // namespace respool::tcp
