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
// With `MetricNames::opentelemetry` (opentelemetry.hpp) the object holds
// "db.client.connection.pool.name", then each OpenTelemetry metric under its
// name — "db.client.connection.count" as {"idle":n,"used":n}, the times as the
// duration objects above — and, under "respool", the object above without the
// figures OpenTelemetry names:
//   {"db.client.connection.pool.name":"orders","db.client.connection.count":{"idle":3,"used":1},
//    "db.client.connection.idle.max":10,...,"db.client.connection.wait_time":{"count":4,...},
//    "respool":{"pool":"orders","closed":false,"total":4,...}}
//
//   std::string body = respool::to_json(pool.stats());
//   // {"pool":"orders","closed":false,"total":4,"max_size":10,...}
//   std::string otel = respool::to_json(pool.stats(), respool::MetricNames::opentelemetry);
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <span>
#include <string>

#include <respool/detail/export.hpp>
#include <respool/opentelemetry.hpp>
#include <respool/stats.hpp>

namespace respool {

/// One pool's stats as one JSON object (no newline), named as `names` says.
RESPOOL_API std::string to_json(const PoolStats& stats, MetricNames names = MetricNames::respool);

/// Several pools as a JSON array of those objects, in `pools`' order.
RESPOOL_API std::string to_json(std::span<const PoolStats> pools, MetricNames names = MetricNames::respool);

} // namespace respool
