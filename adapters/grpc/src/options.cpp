// Checking and describing Options. No grpc headers here on purpose:
// this is plain validation, and it keeps a grpc-free translation unit cheap.
#include <respool/grpc/options.hpp>

#include <climits>
#include <string_view>

#include <fmt/format.h>

#include <respool/error.hpp>

namespace respool::grpc {
namespace {

[[noreturn]] void reject(std::string_view field, std::string_view rule)
{
    throw respool::InvalidOptions(
        fmt::format("respool::grpc::Options::{}: {}", field, rule), std::string(field));
}

void check_ms(std::string_view field, std::chrono::milliseconds value, bool zero_ok)
{
    if (value.count() < 0 || (!zero_ok && value.count() == 0)) {
        reject(field, fmt::format("must be {} (got {} ms)", zero_ok ? ">= 0" : "> 0", value.count()));
    }
    if (value.count() > INT_MAX) {
        reject(field, fmt::format("must fit grpc's int milliseconds, at most {} (got {} ms)",
                                  INT_MAX, value.count()));
    }
}

void check_message_size(std::string_view field, const std::optional<int>& size)
{
    if (size && *size < -1) {
        reject(field, fmt::format("must be -1 (unlimited) or a byte count >= 0 (got {})", *size));
    }
}

void check_pem(std::string_view field, const std::string& pem)
{
    if (!pem.empty() && pem.find("-----BEGIN ") == std::string::npos) {
        reject(field, "must be PEM text (\"-----BEGIN ...\"), not a file name; read the file first");
    }
}

void check_credentials(const Options& o)
{
    const int chosen = int(o.tls.has_value()) + int(o.credentials != nullptr) + int(o.insecure);
    if (chosen == 0) {
        reject("tls", "no credentials chosen: set tls, or credentials, or insecure = true "
                      "for plaintext without encryption");
    }
    if (chosen > 1) {
        reject("tls", "choose exactly one of tls, credentials and insecure");
    }
    if (o.tls && o.tls->cert_chain_pem.empty() != o.tls->private_key_pem.empty()) {
        reject("tls.cert_chain_pem",
               "a client certificate needs its private key and a key needs its certificate");
    }
    if (o.tls) {
        // The fields take PEM text; a file name here is the usual mistake.
        check_pem("tls.root_certs_pem", o.tls->root_certs_pem);
        check_pem("tls.cert_chain_pem", o.tls->cert_chain_pem);
        check_pem("tls.private_key_pem", o.tls->private_key_pem);
        // grpc reads the key with an empty passphrase: an encrypted one would
        // fail every handshake with a vague error. Say so here, never the key.
        if (o.tls->private_key_pem.find("ENCRYPTED") != std::string::npos) {
            reject("tls.private_key_pem",
                   "is an encrypted key, which grpc cannot use: pass the decrypted PEM text "
                   "(e.g. from `openssl pkey`) and keep it as secret as the passphrase");
        }
    }
}

} // namespace

void check_options(const Options& o)
{
    if (o.target.empty()) reject("target", "must not be empty (e.g. \"host:port\", \"dns:///host:port\")");
    check_credentials(o);
    if (o.max_calls_per_channel == 0) reject("max_calls_per_channel", "must be at least 1");
    if (o.max_calls_per_channel > INT_MAX) {
        reject("max_calls_per_channel", fmt::format("must be at most {}", INT_MAX));
    }
    check_ms("tcp_keepalive_time", o.tcp_keepalive_time, true);
    check_ms("tcp_user_timeout", o.tcp_user_timeout, true);
    if (o.tcp_keepalive_time.count() % 1000 != 0)
        reject("tcp_keepalive_time", fmt::format("must be whole seconds, the kernel's unit (got {} ms)",
                                                 o.tcp_keepalive_time.count()));
    check_ms("keepalive_time", o.keepalive_time, true);
    check_ms("keepalive_timeout", o.keepalive_timeout, o.keepalive_time.count() == 0);
    check_ms("reconnect_initial_backoff", o.reconnect_initial_backoff, false);
    check_ms("reconnect_max_backoff", o.reconnect_max_backoff, false);
    check_ms("reconnect_min_backoff", o.reconnect_min_backoff, false);
    check_ms("transient_failure_grace", o.transient_failure_grace, true);
    if (o.reconnect_max_backoff < o.reconnect_initial_backoff) {
        reject("reconnect_max_backoff",
               fmt::format("must be >= reconnect_initial_backoff ({} ms < {} ms)",
                           o.reconnect_max_backoff.count(), o.reconnect_initial_backoff.count()));
    }
    check_message_size("max_send_message_size", o.max_send_message_size);
    check_message_size("max_receive_message_size", o.max_receive_message_size);
    for (const auto& [key, value] : o.extra_args) {
        if (key.empty()) reject("extra_args", "a channel argument needs a non-empty name");
    }
}

std::string describe(const Options& o)
{
    std::string creds = o.insecure ? "insecure" : o.credentials ? "custom" : "tls";
    if (o.tls) {
        creds += fmt::format("(roots={}, client_cert={}, private_key={}, target_name_override='{}')",
                             o.tls->root_certs_pem.empty() ? "default" : "custom",
                             o.tls->cert_chain_pem.empty() ? "none" : "set",
                             o.tls->private_key_pem.empty() ? "none" : "<redacted>",
                             o.tls->target_name_override);
    }
    std::string extra;
    for (const auto& [key, value] : o.extra_args) {
        extra += extra.empty() ? "" : ", ";
        extra += std::holds_alternative<int>(value)
                     ? fmt::format("{}={}", key, std::get<int>(value))
                     : fmt::format("{}='{}'", key, std::get<std::string>(value));
    }
    return fmt::format(
        "target='{}' credentials={} max_calls_per_channel={} tcp_keepalive_time={}ms tcp_user_timeout={}ms keepalive_time={}ms keepalive_timeout={}ms "
        "keepalive_permit_without_calls={} reconnect_initial_backoff={}ms reconnect_min_backoff={}ms reconnect_max_backoff={}ms "
        "max_send_message_size={} max_receive_message_size={} load_balancing_policy='{}' "
        "health_check={} health_service='{}' transient_failure_grace={}ms extra_args={{{}}}",
        o.target, creds, o.max_calls_per_channel, o.tcp_keepalive_time.count(), o.tcp_user_timeout.count(),
        o.keepalive_time.count(), o.keepalive_timeout.count(),
        o.keepalive_permit_without_calls, o.reconnect_initial_backoff.count(),
        o.reconnect_min_backoff.count(), o.reconnect_max_backoff.count(),
        o.max_send_message_size ? std::to_string(*o.max_send_message_size) : "default",
        o.max_receive_message_size ? std::to_string(*o.max_receive_message_size) : "default",
        o.load_balancing_policy, o.health_check, o.health_service,
        o.transient_failure_grace.count(), extra);
}

} // namespace respool::grpc
