// respool/grpc/channel_options.hpp — how the gRPC adapter builds each channel.
//
// `ChannelOptions` is a plain struct: credentials (TLS or an explicit
// `insecure` plaintext choice), the lease cap (concurrent calls per channel),
// keepalive, reconnect back-off, message size limits, load balancing, extra
// channel arguments, the health check used by `validate`, and how long a
// channel may sit in TRANSIENT_FAILURE before it is replaced. Defaults are
// chosen so that a channel reconnects within about a second of its server
// coming back; grpc's own defaults back off for up to 120 s.
//
// Thread-safety: a plain value; `ChannelAdapter` copies it at construction
// and never changes it. Lifetime: none beyond the value.
//
//   respool::grpc::ChannelOptions o;
//   o.tls = respool::grpc::TlsOptions{.root_certs_pem = ca_pem};
//   o.max_calls_per_channel = 50;
//   o.keepalive_time = 5min;           // lower only if the server permits it, see docs/adapters/grpc.md
//   respool::grpc::ChannelAdapter adapter{"dns:///api.internal:443", o};
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

/// A value for `ChannelOptions::extra_args`.
using ChannelArgValue = std::variant<int, std::string>;

/// Everything `ChannelAdapter` needs besides the target. Durations are
/// milliseconds and must fit in an int (grpc takes them as int).
struct ChannelOptions {
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

    // --- keepalive (grpc.keepalive_*); 0 ms keeps grpc's default: off ---
    /// Ping the server after this much silence; notices a dead peer.
    std::chrono::milliseconds keepalive_time{0};
    /// Close the connection when a ping is not answered within this time.
    std::chrono::milliseconds keepalive_timeout{20'000};
    /// Also ping while no call is active (the server must allow it).
    bool keepalive_permit_without_calls = false;

    // --- reconnecting (a channel reconnects by itself, with back-off) ---
    /// First back-off after a failed connection attempt (grpc's default: 1 s).
    std::chrono::milliseconds reconnect_initial_backoff{100};
    /// grpc.min_reconnect_backoff_ms (grpc's default: 20 s). grpc 1.51 uses it
    /// twice: as the time one attempt (TCP + TLS + HTTP/2 settings) may take,
    /// and as the least time between attempts. So it bounds how soon a channel
    /// notices its server is back; raise it only for links slower than this.
    std::chrono::milliseconds reconnect_min_backoff{1'000};
    /// Longest back-off between attempts (grpc's default: 120 s). With the
    /// defaults a channel retries about every second, however long the outage.
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

/// Throws `respool::InvalidOptions` naming the field and the rule when `options`
/// (with `target`) cannot work. `ChannelAdapter`'s constructor calls it.
RESPOOL_GRPC_API void check_options(const std::string& target, const ChannelOptions& options);

/// One line describing the options for logs; the private key shows as
/// "<redacted>", never its text.
RESPOOL_GRPC_API std::string describe(const ChannelOptions& options);

} // namespace respool::grpc
