// respool/opentelemetry.hpp — the pool's figures under OpenTelemetry's names.
//
// OpenTelemetry's semantic conventions for database client connection pools
// name nine metrics, `db.client.connection.*`; `opentelemetry_metrics` says
// which `PoolStats` figure each one is (docs/observability.md has the table,
// and what has no OpenTelemetry name). The Prometheus and JSON exporters
// (prometheus.hpp, json.hpp) and the prometheus-cpp bridge
// (<respool/prometheus_cpp.hpp>) emit these names when asked with
// `MetricNames::opentelemetry`.
//
// Every metric carries the attribute `db.client.connection.pool.name`
// (`PoolOptions::name`); `db.client.connection.count` also carries
// `db.client.connection.state`, "idle" or "used". The three times are
// histograms in seconds. In Prometheus text the names follow OpenTelemetry's
// translation: dots become underscores, a unit in braces is dropped, "s"
// becomes the suffix `_seconds`, and a counter ends in `_total`:
// `db_client_connection_wait_time_seconds`, `db_client_connection_timeouts_total`.
//
// The conventions are still marked "development" upstream; these are the
// names as of semantic conventions 1.26 and later.
#pragma once

#include <string_view>

namespace respool {

/// Which names an exporter writes.
enum class MetricNames {
    respool,        ///< respool's own: `respool_*` with a `pool` label (the default)
    opentelemetry,  ///< `db.client.connection.*` where OpenTelemetry has a name (see opentelemetry.hpp)
};

/// The OpenTelemetry attribute naming the pool, on every metric.
inline constexpr std::string_view otel_pool_name_attribute = "db.client.connection.pool.name";
/// The OpenTelemetry attribute of `db.client.connection.count`: "idle" or "used".
inline constexpr std::string_view otel_state_attribute = "db.client.connection.state";

/// One OpenTelemetry metric (or, for `db.client.connection.count`, one value
/// of its state attribute) and the `PoolStats` figure it reports.
struct OtelMetric {
    std::string_view name;             ///< e.g. "db.client.connection.wait_time"
    std::string_view instrument;       ///< "updowncounter", "counter" or "histogram"
    std::string_view unit;             ///< UCUM, e.g. "{connection}" or "s"
    std::string_view description;      ///< as the conventions word it
    std::string_view prometheus_name;  ///< e.g. "db_client_connection_wait_time_seconds"
    std::string_view field;            ///< the `PoolStats` member (a row of RESPOOL_POOL_METRICS)
    std::string_view state;            ///< the `db.client.connection.state` value, or empty
};

/// Every OpenTelemetry metric respool reports, rows of one metric together.
inline constexpr OtelMetric opentelemetry_metrics[] = {
    {"db.client.connection.count", "updowncounter", "{connection}",
     "The number of connections that are currently in state described by the state attribute.",
     "db_client_connection_count", "idle", "idle"},
    {"db.client.connection.count", "updowncounter", "{connection}",
     "The number of connections that are currently in state described by the state attribute.",
     "db_client_connection_count", "in_use", "used"},
    {"db.client.connection.idle.max", "updowncounter", "{connection}",
     "The maximum number of idle open connections allowed.", "db_client_connection_idle_max", "max_idle", ""},
    {"db.client.connection.idle.min", "updowncounter", "{connection}",
     "The minimum number of idle open connections allowed.", "db_client_connection_idle_min", "min_idle", ""},
    {"db.client.connection.max", "updowncounter", "{connection}", "The maximum number of open connections allowed.",
     "db_client_connection_max", "max_size", ""},
    {"db.client.connection.pending_requests", "updowncounter", "{request}",
     "The number of current pending requests for an open connection.", "db_client_connection_pending_requests",
     "waiting", ""},
    {"db.client.connection.timeouts", "counter", "{timeout}",
     "The number of connection timeouts that have occurred trying to obtain a connection from the pool.",
     "db_client_connection_timeouts_total", "timeouts", ""},
    {"db.client.connection.create_time", "histogram", "s", "The time it took to create a new connection.",
     "db_client_connection_create_time_seconds", "create_time", ""},
    {"db.client.connection.wait_time", "histogram", "s", "The time it took to obtain an open connection from the pool.",
     "db_client_connection_wait_time_seconds", "acquire_wait", ""},
    {"db.client.connection.use_time", "histogram", "s",
     "The time between borrowing a connection and returning it to the pool.", "db_client_connection_use_time_seconds",
     "hold_time", ""},
};

/// The OpenTelemetry metric that reports `PoolStats` member `field`, or nullptr.
constexpr const OtelMetric* opentelemetry_metric_of(std::string_view field) noexcept
{
    for (const OtelMetric& m : opentelemetry_metrics)
        if (m.field == field) return &m;
    return nullptr;
}

} // namespace respool
