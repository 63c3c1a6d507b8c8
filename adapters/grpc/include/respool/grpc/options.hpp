// respool/grpc/options.hpp — what the gRPC adapter connects to and how it
// builds each channel.
//
// `Options` is a plain struct: the target, credentials (TLS or an explicit
// `insecure` plaintext choice), the lease cap (concurrent calls per channel),
// dead-connection detection (TCP keepalive and user timeout, on by default;
// HTTP/2 keepalive, off), reconnect back-off, message size limits, load
// balancing, extra channel arguments, the health check used by `validate`,
// and how long a channel may sit in TRANSIENT_FAILURE before it is replaced.
// Defaults are chosen so that a channel reconnects within about a second of
// its server coming back (grpc's own defaults back off for up to 120 s) and a
// connection that stops answering is found within about 10 s, also while
// calls are in flight on it.
//
// Thread-safety: a plain value; `Adapter` copies it at construction and
// never changes it. Lifetime: none beyond the value.
//
//   respool::grpc::Options o;
//   o.target = "dns:///api.internal:443";
//   o.tls = respool::grpc::TlsOptions{.root_certs_pem = ca_pem};
//   o.max_calls_per_channel = 50;
//   respool::grpc::Adapter adapter{o};
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <respool/options.hpp>
#include <respool/grpc/export.hpp>

namespace grpc {
class ChannelCredentials;
} // namespace grpc

namespace respool::grpc {

/// TLS settings; every certificate and key is PEM text, not a file path.
struct TlsOptions {
    /// Trusted CA certificates; empty means grpc's default roots.
    std::string root_certs_pem;
    /// Client certificate chain for mutual TLS; empty means none (then no key either).
    std::string cert_chain_pem;
    /// Client private key, unencrypted (grpc takes no passphrase; an encrypted
    /// one is `InvalidOptions`). A secret: never printed, logged or put in an error.
    std::string private_key_pem;
    /// The host name the server certificate must carry when it differs from the
    /// target's host (an IP target, a test certificate). Empty: the target's host.
    std::string target_name_override;
};

/// A value for `Options::extra_args`.
using ChannelArgValue = std::variant<int, std::string>;

/// Everything `Adapter` needs. Durations are milliseconds and must fit in
/// an int (grpc takes them as int).
struct Options {
    /// Any grpc target string: "host:port", "dns:///host:port",
    /// "ipv4:127.0.0.1:50051", "unix:/path". Required.
    std::string target;

    // --- credentials: choose exactly one of tls, credentials, insecure ---
    /// Use TLS with these settings.
    std::optional<TlsOptions> tls;
    /// Any other grpc credentials (e.g. composite with call credentials).
    std::shared_ptr<::grpc::ChannelCredentials> credentials;
    /// Plaintext HTTP/2, no encryption, no server authentication. Must be
    /// asked for; the adapter logs a warning once (per adapter and its copies).
    bool insecure = false;

    // --- sharing ---
    /// Leases (= concurrent calls) one channel carries before the pool opens
    /// another; keep it at or below the server's MAX_CONCURRENT_STREAMS.
    std::size_t max_calls_per_channel = 100;

    // --- dead connections: TCP level, invisible to the server's ping policy ---
    /// Kernel TCP keepalive (SO_KEEPALIVE) on every connection: after this
    /// much silence the kernel probes the peer every second. The server's
    /// kernel answers the probes, so a grpc server's HTTP/2 ping policy never
    /// sees them. 0: off.
    std::chrono::milliseconds tcp_keepalive_time{4'000};
    /// TCP_USER_TIMEOUT on every connection: the kernel closes a connection
    /// whose sent data or keepalive probes go unacknowledged this long (a
    /// blackholed peer), and grpc then fails its calls with UNAVAILABLE.
    /// Together with `tcp_keepalive_time` it bounds how long a dead connection
    /// keeps calls hanging, including calls without a deadline. 0: the
    /// kernel's default (about 15 minutes of retransmissions).
    std::chrono::milliseconds tcp_user_timeout{8'000};

    // --- HTTP/2 keepalive (grpc.keepalive_*); 0 ms keeps grpc's default: off ---
    /// Ping the server after this much silence; notices a dead peer. A grpc
    /// server with default settings answers pings more often than every
    /// 5 min on a quiet connection with GOAWAY too_many_pings, so lower it
    /// only for servers that permit it (docs/adapters/grpc.md).
    std::chrono::milliseconds keepalive_time{0};
    /// Close the connection when a ping is not answered within this time.
    std::chrono::milliseconds keepalive_timeout{20'000};
    /// Also ping while no call is active (the server must allow it).
    bool keepalive_permit_without_calls = false;

    // --- reconnecting (a channel reconnects by itself, with back-off) ---
    /// First back-off after a failed connection attempt (grpc's default: 1 s).
    /// The default is `PoolOptions::create_backoff_initial`'s, so a channel's
    /// own reconnects pace like the pool's creations.
    std::chrono::milliseconds reconnect_initial_backoff{50};
    /// grpc.min_reconnect_backoff_ms (grpc's default: 20 s). grpc 1.51 uses it
    /// twice: as the time one attempt (TCP + TLS + HTTP/2 settings) may take,
    /// and as the least time between attempts. So it bounds how soon a channel
    /// notices its server is back; raise it only for links slower than this.
    std::chrono::milliseconds reconnect_min_backoff{1'000};
    /// Longest back-off between attempts (grpc's default: 120 s); the default
    /// is `PoolOptions::create_backoff_max`'s. With the defaults a channel
    /// retries about every second, however long the outage.
    std::chrono::milliseconds reconnect_max_backoff{1'000};

    // --- messages, routing ---
    /// Largest message sent / received in bytes; -1 unlimited; unset: grpc's default.
    std::optional<int> max_send_message_size;
    std::optional<int> max_receive_message_size;
    /// e.g. "round_robin" for a target resolving to several addresses; empty: pick_first.
    std::string load_balancing_policy;
    /// More channel arguments, applied last: they override any of the above.
    std::map<std::string, ChannelArgValue> extra_args;

    // --- health ---
    /// Validate with grpc.health.v1.Health/Check (on create and in `validate`);
    /// false: only the connectivity state counts (servers without the service).
    bool health_check = true;
    /// The service name asked about; "" asks about the server as a whole.
    std::string health_service;
    /// How long a channel may stay in TRANSIENT_FAILURE (grpc keeps retrying it)
    /// before `is_broken` reports it; 0: at once, so none is ever handed out.
    std::chrono::milliseconds transient_failure_grace{0};

    // --- logging ---
    /// Warnings (e.g. `insecure`); empty: written to stderr. Called outside
    /// the pool's lock, from the constructor; what it throws is ignored.
    respool::Logger logger;
};

/// Throws `respool::InvalidOptions` naming the field and the rule when
/// `options` cannot work. `Adapter`'s constructor calls it.
RESPOOL_GRPC_API void check_options(const Options& options);

/// One line describing the options for logs; the private key shows as
/// "<redacted>", never its text.
RESPOOL_GRPC_API std::string describe(const Options& options);

/// The old form, with the target apart.
[[deprecated("set Options::target and call check_options(options)")]]
inline void check_options(const std::string& target, const Options& options)
{
    Options o = options;
    o.target = target;
    check_options(o);
}

/// The old name of `Options` (before 0.2); the target was a separate argument.
using ChannelOptions [[deprecated("renamed respool::grpc::Options; the target is now Options::target")]] = Options;

} // namespace respool::grpc
