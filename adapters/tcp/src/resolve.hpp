// resolve.hpp — host name to socket addresses, within a deadline (internal).
#pragma once

#include <string>
#include <vector>

#include <sys/socket.h>

#include <respool/deadline.hpp>
#include <respool/tcp/options.hpp>

namespace respool::tcp::detail {

struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;
    std::string text;  // "127.0.0.1:80" or "[::1]:80"
};

/// True for "127.0.0.1" or "::1" style literals.
bool is_ip_literal(const std::string& host) noexcept;

/// The addresses of `host:port` in the resolver's order. IP literals are
/// parsed at once; names go to `resolver` (or getaddrinfo) on a helper thread
/// that is abandoned at the deadline. Throws Error (resolve, timeout).
std::vector<Address> resolve(const std::string& host, int port, const Resolver& resolver,
                             Deadline deadline, const std::string& endpoint);

} // namespace respool::tcp::detail
