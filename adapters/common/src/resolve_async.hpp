// resolve_async.hpp (internal to the adapters) — host names to numeric
// addresses on a helper thread, waited for only until a deadline.
//
// getaddrinfo cannot be interrupted, and a custom resolver may hang too, so
// the lookup runs on a detached thread that owns its inputs and shares its
// result through a reference-counted state: the caller stops waiting at the
// deadline and the thread finishes on its own later. Used by the pg and tcp
// adapters; built as a static library, never installed.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <respool/deadline.hpp>

namespace respool::detail::net {

/// A host name to numeric address texts ("10.0.0.7", "::1"), in preference order.
using NameResolver = std::function<std::vector<std::string>(const std::string& host)>;

/// The outcome of one name: its addresses, or what the resolver threw.
struct NameResult {
    std::vector<std::string> addresses;
    std::exception_ptr error;  ///< null when the resolver returned (possibly no address)
};

/// getaddrinfo (any family, stream sockets): the distinct numeric addresses
/// in its order. Throws std::runtime_error with the resolver's reason.
std::vector<std::string> system_resolve(const std::string& host);

/// True for IPv4 or IPv6 literals ("127.0.0.1", "::1"; no brackets).
bool is_ip_literal(const std::string& host) noexcept;

/// Resolves every name in `names`, in order, with `resolver` (empty:
/// `system_resolve`) on one helper thread, and waits until `deadline`.
/// The results, one per name; nullopt when the deadline came first, or this
/// thread's creation was asked to stop (StopScope; the thread is then abandoned). Throws std::system_error when no thread can start.
std::optional<std::vector<NameResult>> resolve_on_helper(std::vector<std::string> names,
                                                         NameResolver resolver, Deadline deadline);

} // namespace respool::detail::net
