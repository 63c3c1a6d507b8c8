// respool/prometheus.hpp — pool stats as Prometheus text exposition (format 0.0.4).
//
// `to_prometheus` renders one or several pools' `PoolStats` as the text a
// `/metrics` endpoint serves (Content-Type `text/plain; version=0.0.4`):
// HELP and TYPE lines once per metric family, then one sample per pool, each
// with a `pool` label holding `PoolOptions::name`.
//
//   gauges     <prefix>_resources, _resources_idle, _resources_in_use,
//              _resources_creating, _leases, _waiters, _max_size
//   counters   <prefix>_acquired_total, _created_total,
//              _destroyed_total{reason="idle|lifetime|broken|validation|closed"},
//              _create_failures_total, _acquire_timeouts_total,
//              _acquire_cancellations_total, _acquire_rejections_total,
//              _validations_total, _validation_failures_total, _leaks_suspected_total,
//              _leases_overdue_total, _keepalives_total, _keepalive_failures_total,
//              _circuit_opened_total, _acquire_fast_failures_total
//   state      <prefix>_circuit_state{state="closed|open|half_open"}: 1 for the current state
//   summaries  <prefix>_acquire_wait_seconds, _hold_seconds, _create_seconds
//              (quantile="0.5" and "0.99", _sum, _count) and a `_max` gauge each
//   per site   <prefix>_site_acquire_wait_seconds, _site_hold_seconds (summaries),
//              _site_acquired_total, _site_holding, with a `site="file.cpp:42"` label
//
// Cardinality is bounded: the `site` label takes at most
// `PoolOptions::max_tracked_sites` values per pool, plus "other". Labels hold
// only pool names, reasons, states and acquire sites — never a connection target.
// Quantiles of a distribution with no observations are NaN, as in the
// official client libraries. Pool names must differ, or samples repeat.
//
//   std::vector<respool::PoolStats> all{orders.stats(), sessions.stats()};
//   std::string body = respool::to_prometheus(all);          // one scrape
//   std::string one = respool::to_prometheus(orders.stats(), "myapp_db");
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <respool/stats.hpp>

namespace respool {

/// The stats of one pool in Prometheus text format 0.0.4. `prefix` starts
/// every metric name; throws std::invalid_argument unless it is a valid
/// metric name itself ([a-zA-Z_:][a-zA-Z0-9_:]*).
std::string to_prometheus(const PoolStats& stats, std::string_view prefix = "respool");

/// Several pools in one exposition: each family's HELP/TYPE appears once,
/// followed by the samples of every pool in `pools`' order.
std::string to_prometheus(std::span<const PoolStats> pools, std::string_view prefix = "respool");

/// `value` escaped for a label value: backslash, double quote and newline.
std::string prometheus_escape_label(std::string_view value);

} // namespace respool
