// respool/tcp/options.hpp — how to reach the peer: endpoint, socket options, TLS, health probe.
//
// A plain struct with production defaults; `respool::tcp::Adapter`'s
// constructor validates it and throws `respool::InvalidOptions` naming the
// field (empty host, port outside 1..65535, keepalive values the kernel
// rejects, a client certificate without its key, ...), before any connection.
//
//   respool::tcp::Options o;
//   o.host = "cache.internal";
//   o.port = 6380;
//   o.tls = respool::tcp::TlsOptions{.ca_file = "/etc/ssl/internal-ca.pem"};
//   o.probe = [](respool::tcp::Socket& s, respool::Deadline d) {
//       s.write_all("PING\r\n", d);
//       return s.read_line(d) == "+PONG";   // Redis answers a simple string: "+PONG\r\n"
//   };
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <respool/deadline.hpp>
#include <respool/options.hpp>

namespace respool::tcp {

class Socket;

/// TLS settings. Verification of the peer's chain and host name is on unless
/// `insecure_skip_verify` says otherwise.
struct TlsOptions {
    /// Name sent as SNI and checked against the certificate; empty: `Options::host`.
    /// An IP literal is checked against the certificate's IP SANs and sends no SNI.
    std::string server_name{};
    /// PEM bundle of trusted CAs; with `ca_dir` empty too, the system store is used.
    std::string ca_file{};
    /// Directory of hashed CA certificates (c_rehash layout).
    std::string ca_dir{};
    /// Client certificate chain (PEM) and its private key, for mutual TLS.
    std::string client_cert_file{};
    std::string client_key_file{};
    /// Passphrase of an encrypted `client_key_file`. A secret: never printed,
    /// logged or put in an error. The adapter never asks on the terminal: an
    /// encrypted key without it (or with a wrong one) is `InvalidOptions`
    /// naming this field.
    std::string client_key_passphrase{};
    /// Oldest protocol accepted: "1.2" (default) or "1.3". Older ones are never offered.
    std::string min_version = "1.2";
    /// How long the server may take to send its first bytes after our
    /// ClientHello. A plain-TCP port whose server waits for a request never
    /// answers: the creation then fails after this (kind tls_handshake,
    /// saying so) instead of at its deadline. 1 ms..1 h.
    std::chrono::milliseconds hello_timeout{3'000};
    /// Turns certificate and host-name verification off. Insecure: anyone on
    /// the path can impersonate the server. Logs a warning once per adapter.
    bool insecure_skip_verify = false;
};

/// TCP keepalive: probes an idle connection so a dead peer is noticed. With
/// the defaults and `Options::user_timeout` (10 s), a peer that stops
/// answering (blackhole) is detected within 10 s: probes after 4 s of
/// silence, then every 2 s, and Linux drops the connection once the user
/// timeout passes with probes unanswered (it ends the probing before `count`).
struct KeepaliveOptions {
    bool enabled = true;
    std::chrono::seconds idle{4};       ///< silence before the first probe (TCP_KEEPIDLE)
    std::chrono::seconds interval{2};   ///< between probes (TCP_KEEPINTVL)
    int count = 3;                      ///< unanswered probes before the kernel gives up (TCP_KEEPCNT)
};

/// Resolves a host name to numeric addresses ("10.0.0.7", "::1"). Runs on a
/// helper thread that is abandoned if it outlives the deadline, so it must
/// not reference objects that may die before it returns.
using Resolver = std::function<std::vector<std::string>(const std::string& host)>;

/// A health check run by the pool's `validate` (e.g. PING/PONG). Returns
/// true when healthy; must finish by the deadline (the Socket's calls take it).
using Probe = std::function<bool(Socket&, Deadline)>;

/// Runs at the end of `create`, by its deadline: read a server's greeting,
/// authenticate, select a database. Throwing fails the creation with a
/// tcp::Error whose operation() is "on_connect" (kind `hook` unless it threw
/// a tcp::Error, whose kind is kept) and whose message says so.
using OnConnect = std::function<void(Socket&, Deadline)>;

struct Options {
    std::string host{};   ///< name or IP literal (IPv6 without brackets: "::1")
    int port = 0;         ///< 1..65535

    bool no_delay = true;                          ///< TCP_NODELAY
    KeepaliveOptions keepalive{};
    /// TCP_USER_TIMEOUT: how long written data may stay unacknowledged before
    /// the kernel drops the connection (a half-open peer); also ends keepalive
    /// probing after this long unanswered. Zero: kernel default (~15 min).
    std::chrono::milliseconds user_timeout{10'000};

    /// TLS on top of TCP when set.
    std::optional<TlsOptions> tls{};

    /// Limits of the frame helpers: a longer line or frame is a protocol error.
    /// Both are 1..4294967295 (bytes held in memory at once; a frame's length
    /// prefix has 4 bytes); other values are `InvalidOptions`.
    std::size_t max_line_length = 64 * 1024;
    std::size_t max_frame_size = 16 * 1024 * 1024;
    /// The largest `max_line_length` accepted.
    static constexpr std::size_t max_line_length_limit = 0xffffffffu;

    /// The pool's `validate`; empty: validation only checks the socket is not broken.
    /// A probe that throws fails the validation; the warning below names what it threw.
    Probe probe{};
    /// After this many probe failures in a row on connections the probe never
    /// passed (a probe that cannot succeed, e.g. a wrong expected reply), a
    /// warning goes to `logger`, once per run of failures. At least 1.
    int probe_failure_warning = 3;
    /// Connection setup after TCP (and TLS); e.g. for protocols where the
    /// server speaks first, whose greeting would otherwise count as unread bytes.
    OnConnect on_connect{};
    /// Name resolution; empty: the system resolver (getaddrinfo). IP literals skip it.
    Resolver resolver{};
    /// Warnings (insecure TLS, a probe that keeps failing); empty: written to
/// stderr. Called outside the pool's lock; what it throws is ignored.
    Logger logger{};
};

} // namespace respool::tcp
