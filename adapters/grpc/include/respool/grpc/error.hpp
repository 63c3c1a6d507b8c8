// respool/grpc/error.hpp — why the gRPC adapter could not make a channel.
//
// `Error` is what `Adapter::create` throws; the pool wraps it in
// `respool::CreateFailed`, whose `cause()` still holds it. It is a
// `respool::AdapterError`: code that handles several adapters catches that
// and reads `operation()`, `endpoint()` (the target) and `fatal()` (a TLS
// failure: retrying cannot help). `code()` is in `grpc::error_category()`
// ("respool.grpc"), its value the `Error::Kind`.
//
// Thread-safety: an immutable value.
//
//   catch (const respool::CreateFailed& e) {
//       if (auto* g = e.cause_as<respool::grpc::Error>())
//           log("{}: {} ({})", g->endpoint(), g->reason(), respool::grpc::state_name(g->last_state()));
//   }
#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include <grpc/impl/codegen/connectivity_state.h>

#include <respool/adapter_error.hpp>
#include <respool/grpc/export.hpp>

namespace respool::grpc {

/// The category of `Error::code()`: name "respool.grpc", values `Error::Kind`.
RESPOOL_GRPC_API const std::error_category& error_category() noexcept;

/// Why `Adapter::create` gave up on a channel. The message names the target,
/// the time waited, the last connectivity state and grpc's reason (e.g.
/// "Connection refused", a certificate error); never a secret.
class RESPOOL_GRPC_API Error : public respool::AdapterError {
public:
    enum class Kind {
        not_ready = 1,  ///< not READY before the deadline: refused, unreachable, stalled,
                        ///< or the name did not resolve in time (operation "resolve")
        unhealthy,      ///< READY, but the health check did not answer SERVING
        tls,            ///< the TLS handshake or the server certificate failed (grpc
                        ///< said so, or the certificate has no subjectAltName):
                        ///< reported at once, not at the deadline; fatal
    };

    /// `operation`: "connect" (waiting for READY, the TLS handshake included),
    /// "resolve" (no address yet), "health_check" or "peer_certificate".
    Error(Kind kind, const std::string& what, std::string target, grpc_connectivity_state last_state,
          std::string reason, std::string operation = "connect");

    Kind kind() const noexcept { return kind_; }
    /// The target string the adapter was given (the same as `endpoint()`).
    const std::string& target() const noexcept { return endpoint(); }
    /// The connectivity state when the adapter gave up.
    grpc_connectivity_state last_state() const noexcept { return last_state_; }
    /// grpc's own words for the failure (may be empty), or the health answer.
    const std::string& reason() const noexcept { return reason_; }

private:
    Kind kind_;
    grpc_connectivity_state last_state_;
    std::string reason_;
};

/// `kind` as an error code in `error_category()`.
RESPOOL_GRPC_API std::error_code make_error_code(Error::Kind kind) noexcept;

/// "not_ready", "unhealthy", "tls".
RESPOOL_GRPC_API std::string_view to_string(Error::Kind kind) noexcept;

/// The old name of `Error` (before 0.2).
using ChannelError [[deprecated("renamed respool::grpc::Error")]] = Error;

} // namespace respool::grpc
