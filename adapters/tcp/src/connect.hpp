// connect.hpp — a non-blocking connect over a list of addresses, within a deadline (internal).
#pragma once

#include <string>
#include <vector>

#include <respool/deadline.hpp>
#include <respool/tcp/options.hpp>

#include "resolve.hpp"

namespace respool::tcp::detail {

struct Connected {
    int fd;
    std::string peer;  // the address that answered
};

/// Tries each address in turn (refused or unreachable: the next one) until
/// one connects or `deadline` passes; sets the socket options of `options`.
/// The socket is non-blocking. Throws Error naming every address tried.
Connected connect_any(const std::vector<Address>& addresses, const Options& options,
                      Deadline deadline, const std::string& endpoint);

} // namespace respool::tcp::detail
