// respool/adapter_error.hpp — the one base of every adapter's errors.
//
// Each bundled adapter (pg, grpc, tcp) throws its own error type derived from
// `respool::AdapterError`, and so should a user's adapter: code that talks
// to several kinds of resource catches one type and still learns what failed
// (`operation()`: "connect", "tls_handshake", "validate", ...), where
// (`endpoint()`: host:port, a target, a socket path — never a secret) and
// whether retrying can help (`fatal()`). `code()` is in the adapter's own
// error category; an adapter may add accessors of its own (`sqlstate()`).
//
// The pool treats a creation failure whose exception is (or wraps) an
// `AdapterError` with `fatal()` true as fatal, like a `FatalError`, unless
// the adapter's own `is_fatal` says otherwise.
//
//   try { auto conn = pool.acquire(); }
//   catch (const respool::CreateFailed& e) {
//       if (auto* a = e.cause_as<respool::AdapterError>())
//           log("{} {} failed: {}", a->operation(), a->endpoint(), a->what());
//   }
#pragma once

#include <string>
#include <system_error>

#include <respool/detail/export.hpp>

namespace respool {

/// Base of every adapter error. `what()` is the message alone
/// (std::system_error would append ": " and the code's text).
class RESPOOL_API AdapterError : public std::system_error {
public:
    /// `what` must already be free of secrets (passwords, keys).
    AdapterError(std::error_code code, std::string what, std::string operation, std::string endpoint,
                 bool fatal = false)
        : std::system_error(code, what), what_(std::move(what)), operation_(std::move(operation)),
          endpoint_(std::move(endpoint)), fatal_(fatal)
    {
    }
    const char* what() const noexcept override { return what_.c_str(); }
    /// What the adapter was doing: "connect", "resolve", "tls_handshake", "query", ...
    const std::string& operation() const noexcept { return operation_; }
    /// Where: "host:port", a gRPC target, a socket path; empty when there is none.
    const std::string& endpoint() const noexcept { return endpoint_; }
    /// True when retrying cannot help (wrong password, unknown database, a
    /// certificate that does not verify): the pool then fails its waiters at once.
    bool fatal() const noexcept { return fatal_; }

private:
    std::string what_;
    std::string operation_;
    std::string endpoint_;
    bool fatal_;
};

} // namespace respool
