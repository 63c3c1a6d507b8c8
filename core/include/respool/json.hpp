// respool/json.hpp — pool stats as JSON, for a debug endpoint or a log shipper.
//
// `to_json(stats)` writes one JSON object per pool: "pool" (the name),
// "closed", then every figure of `PoolStats` under its member's name, in the
// order of RESPOOL_POOL_METRICS (stats.hpp): numbers for gauges and counters,
// "destroyed" as {"total":n,"idle":n,...} by reason, "circuit" as
// "closed"/"open"/"half_open", durations as
// {"count":n,"sum_s":s,"p50_s":s,"p99_s":s,"max_s":s} in seconds; then
// "last_create_error" and "sites" (an array of {"site","function","acquired",
// "holding","wait","hold"}). Strings are escaped and made valid UTF-8 as the
// JSON-lines listener does (listeners.hpp).
//
//   std::string body = respool::to_json(pool.stats());
//   // {"pool":"orders","closed":false,"total":4,"max_size":10,...}
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <span>
#include <string>

#include <respool/detail/export.hpp>
#include <respool/stats.hpp>

namespace respool {

/// One pool's stats as one JSON object (no newline).
RESPOOL_API std::string to_json(const PoolStats& stats);

/// Several pools as a JSON array of those objects, in `pools`' order.
RESPOOL_API std::string to_json(std::span<const PoolStats> pools);

} // namespace respool
