// respool/prometheus.hpp — pool stats as Prometheus text exposition (format 0.0.4).
//
// `to_prometheus` renders one or several pools' `PoolStats` as the text a
// `/metrics` endpoint serves (Content-Type `text/plain; version=0.0.4`):
// HELP and TYPE lines once per metric family, then one sample per pool, each
// with a `pool` label holding `PoolOptions::name`.
//
//   gauges     <prefix>_resources, _resources_idle, _resources_in_use,
//              _resources_creating, _leases, _waiters, _max_size, _min_idle, _max_idle
//   counters   <prefix>_acquired_total, _acquired_direct_total, _acquired_waited_total,
//              _detached_total, _created_total,
//              _destroyed_total{reason="idle|lifetime|broken|validation|closed|retired"},
//              _create_failures_total, _acquire_timeouts_total,
//              _acquire_cancellations_total, _acquire_rejections_total,
//              _validations_total, _validation_failures_total, _leaks_suspected_total,
//              _leases_overdue_total, _keepalives_total, _keepalive_failures_total,
//              _circuit_opened_total, _acquire_fast_failures_total
//   state      <prefix>_circuit_state{state="closed|open|half_open"}: 1 for the current state
//   histograms <prefix>_acquire_wait_seconds, _hold_seconds, _create_seconds:
//              _bucket{le="1e-05"|"2.5e-05"|...|"30"|"+Inf"} (the bounds of
//              `histogram_bounds`, stats.hpp: 10 µs to 30 s in 1-2.5-5 steps),
//              _sum, _count; and a `_max` gauge each
//   per site   <prefix>_site_acquire_wait_seconds, _site_hold_seconds (summaries:
//              quantile="0.5" and "0.99", _sum, _count — per-site histograms would
//              multiply the series by 22), _site_acquired_total, _site_holding,
//              with a `site="src/file.cpp:42"` label (see format_site, lease_info.hpp)
//
// Cardinality is bounded: the `site` label takes at most
// `PoolOptions::max_tracked_sites` values per pool, plus "other". Labels hold
// only pool names, reasons, states and acquire sites — never a connection target.
// Quantiles of a distribution with no observations are NaN, as in the
// official client libraries. Pool names must differ, or samples repeat.
//
// With `PrometheusOptions{.names = respool::MetricNames::opentelemetry}` the
// families are OpenTelemetry's instead (opentelemetry.hpp), e.g.
//   db_client_connection_count{db_client_connection_pool_name="orders",db_client_connection_state="idle"} 3
//   db_client_connection_wait_time_seconds_bucket{db_client_connection_pool_name="orders",le="0.001"} 41
//
//   std::vector<respool::PoolStats> all{orders.stats(), sessions.stats()};
//   std::string body = respool::to_prometheus(all);          // one scrape
//   std::string one = respool::to_prometheus(orders.stats(), "myapp_db");
//   std::string otel = respool::to_prometheus(all, {.names = respool::MetricNames::opentelemetry});
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <respool/opentelemetry.hpp>
#include <respool/stats.hpp>

namespace respool {

/// How `to_prometheus` names what it writes.
struct PrometheusOptions {
    /// `MetricNames::respool` (the default): the families listed above.
    /// `MetricNames::opentelemetry`: the `db_client_connection_*` families of
    /// opentelemetry.hpp, with the pool in a `db_client_connection_pool_name`
    /// label, then (unless `respool_extras` is false) every figure without
    /// an OpenTelemetry name under its `<prefix>_` name, with the same label.
    MetricNames names = MetricNames::respool;
    /// Starts every respool-named family; a valid metric name.
    std::string_view prefix = "respool";
    /// With `MetricNames::opentelemetry`: also the figures OpenTelemetry has no name for.
    bool respool_extras = true;
};

/// The stats of one or several pools, named as `options` says.
RESPOOL_API std::string to_prometheus(std::span<const PoolStats> pools, const PrometheusOptions& options);
/// One pool's stats, named as `options` says.
RESPOOL_API std::string to_prometheus(const PoolStats& stats, const PrometheusOptions& options);

/// The stats of one pool in Prometheus text format 0.0.4. `prefix` starts
/// every metric name; throws std::invalid_argument unless it is a valid
/// metric name itself ([a-zA-Z_:][a-zA-Z0-9_:]*).
RESPOOL_API std::string to_prometheus(const PoolStats& stats, std::string_view prefix = "respool");

/// Several pools in one exposition: each family's HELP/TYPE appears once,
/// followed by the samples of every pool in `pools`' order.
RESPOOL_API std::string to_prometheus(std::span<const PoolStats> pools, std::string_view prefix = "respool");

/// `value` as a label value: valid UTF-8 (other bytes and control characters
/// become U+FFFD, so one bad pool name cannot make a scraper reject the
/// whole exposition), backslash, double quote and newline escaped.
RESPOOL_API std::string prometheus_escape_label(std::string_view value);

} // namespace respool
