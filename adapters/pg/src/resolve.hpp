// resolve.hpp (internal) — host name lookup that ends at the deadline.
//
// libpq resolves host names with a blocking getaddrinfo inside
// PQconnectPoll, which no deadline can interrupt. So the adapter resolves
// them first, on a helper thread it can stop waiting for, and hands libpq
// numeric `hostaddr`s (keeping `host` for TLS host-name checks and .pgpass).
// A name with several addresses becomes several host entries, tried in order.
#pragma once

#include <respool/deadline.hpp>

#include "settings.hpp"

namespace respool::pg::detail {

/// Rewrites host/hostaddr/port in `params` with resolved addresses. Does
/// nothing when hostaddr is already given or every host is numeric or a
/// unix socket. Throws pg::Error: kind timeout when the lookup outlives
/// `deadline`, kind connect when no host name resolves.
void resolve_hosts(ParamList& params, const Settings& settings, Deadline deadline, Deadline started);

} // namespace respool::pg::detail
