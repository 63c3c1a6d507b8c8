// tls.hpp — the OpenSSL side of the adapter: context, handshake, errors (internal).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <openssl/ssl.h>

#include <respool/deadline.hpp>
#include <respool/tcp/options.hpp>

namespace respool::tcp::detail {

/// A client SSL_CTX built from TlsOptions; shared by every connection of an
/// adapter (SSL_CTX is safe to use from several threads once configured).
class TlsContext {
public:
    /// Throws respool::InvalidOptions naming the field (tls.ca_file, ...).
    explicit TlsContext(const TlsOptions& options);
    SSL_CTX* get() const noexcept { return ctx_.get(); }
    bool verify() const noexcept { return verify_; }
    std::chrono::milliseconds hello_timeout() const noexcept { return hello_timeout_; }

private:
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_;
    bool verify_;
    std::chrono::milliseconds hello_timeout_;
};

/// Runs the client handshake on connected non-blocking `fd` by `deadline`
/// and returns the SSL object; throws respool::tcp::Error (tls_verify,
/// tls_handshake, timeout). A server silent for the context's hello_timeout
/// after the ClientHello is a tls_handshake error (a plain-TCP port). `name` is checked and sent as SNI (an IP literal
/// is checked against IP SANs and sends no SNI). `endpoint` names the peer in messages.
SSL* handshake(const TlsContext& ctx, int fd, const std::string& name, Deadline deadline,
               const std::string& endpoint);

/// OpenSSL's queued errors as one line ("reason; reason"), and clears the queue.
std::string drain_openssl_errors();

/// True when the earliest queued error is OpenSSL's "unexpected eof" (a
/// peer that closed without close_notify).
bool is_unexpected_eof() noexcept;

/// True when the earliest queued error is a TLS alert the peer sent.
bool is_peer_alert() noexcept;

} // namespace respool::tcp::detail
