// RESPOOL_POOL_METRICS (stats.hpp) is the one list of the pool's figures:
// every row reaches the report, the Prometheus text, the JSON, the pool's
// own counting (Counters::fill) and the table of docs/observability.md.
// A figure forgotten by any of them fails here.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>

#include <fmt/format.h>

#include <respool/detail/counters.hpp>
#include <respool/format.hpp>
#include <respool/json.hpp>
#include <respool/prometheus.hpp>

using namespace respool;

namespace {

// A PoolStats in which every figure holds a value of its own: 1000 + row,
// distributions counting 2000 + row.
PoolStats distinct_stats()
{
    PoolStats s;
    s.name = "p";
    std::uint64_t row = 0;
    for_each_metric(s, [&](const MetricInfo&, auto& value) {
        using T = std::decay_t<decltype(value)>;
        ++row;
        if constexpr (std::is_same_v<T, Distribution>) {
            value.count = 2000 + row;
            value.buckets.fill(value.count);
        } else if constexpr (std::is_same_v<T, DestroyCounts>) {
            for (std::size_t r = 0; r < destroy_reason_count; ++r) value.by_reason[r] = 1000 + row + r;
        } else if constexpr (std::is_same_v<T, CircuitState>) {
            value = CircuitState::half_open;
        } else {
            value = static_cast<T>(1000 + row);
        }
    });
    return s;
}

// The figure's value as to_string and the exporters print a plain number.
std::string number(const PoolStats& s, const MetricInfo& m)
{
    std::string out;
    for_each_metric(s, [&](const MetricInfo& row, const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_arithmetic_v<T>)
            if (row.field == m.field) out = fmt::format("{}", value);
    });
    return out;
}

bool plain_number(const MetricInfo& m)
{
    return m.kind == MetricKind::gauge || m.kind == MetricKind::counter || m.kind == MetricKind::derived;
}

} // namespace

TEST_CASE("the table's columns are well formed")
{
    std::set<std::string_view> fields, names;
    for (const MetricInfo& m : pool_metrics) {
        CAPTURE(m.field);
        CHECK(fields.insert(m.field).second);
        CHECK(names.insert(m.prometheus_name).second);
        CHECK((m.report.empty() || m.report.find("{}") != std::string_view::npos));
        CHECK(!m.help.empty());
        CHECK(m.help.back() == '.');
        CHECK(m.prometheus_name.ends_with("_total") == m.monotonic());
        if (m.kind == MetricKind::timing || m.kind == MetricKind::site_timing) {
            CHECK(m.prometheus_name.ends_with("_seconds"));
            CHECK(m.unit == "s");
        }
    }
}

TEST_CASE("every figure reaches the report, the Prometheus text and the JSON")
{
    const PoolStats s = distinct_stats();
    const std::string report = to_string(s);
    const std::string prom = to_prometheus(s);
    const std::string json = to_json(s);
    for (const MetricInfo& m : pool_metrics) {
        CAPTURE(m.field);
        CHECK(prom.find(fmt::format("# TYPE respool_{} ", m.prometheus_name)) != std::string::npos);
        CHECK(json.find(fmt::format("\"{}\":", m.field)) != std::string::npos);
        if (plain_number(m)) {
            const std::string v = number(s, m);
            if (!m.report.empty()) CHECK(report.find(fmt::format(fmt::runtime(m.report), v)) != std::string::npos);
            CHECK(prom.find(fmt::format("respool_{}{{pool=\"p\"}} {}\n", m.prometheus_name, v)) != std::string::npos);
            CHECK(json.find(fmt::format("\"{}\":{}", m.field, v)) != std::string::npos);
        }
    }
    CHECK(report.find("circuit half_open") != std::string::npos);
    CHECK(json.find("\"circuit\":\"half_open\"") != std::string::npos);
}

TEST_CASE("the pool's counters fill every counted figure")
{
    detail::Counters c;
    // The members Counters has are exactly the counted rows: set each through
    // its name, as the core does, then see each arrive.
    c.acquired = 10;
    c.acquired_waited = 4;
    c.created = 3;
    ++c.keepalive_failures;
    c.destroyed.by_reason[static_cast<int>(DestroyReason::broken)] = 2;
    c.create_time.record(1000);
    PoolStats s;
    c.fill(s);
    CHECK(s.acquired == 10);
    CHECK(s.acquired_direct == 6);
    CHECK(s.acquired_waited == 4);
    CHECK(s.created == 3);
    CHECK(s.keepalive_failures == 1);
    CHECK(s.destroyed[DestroyReason::broken] == 2);
    CHECK(s.create_time.count == 1);
}

TEST_CASE("docs/observability.md lists every figure in its metric table")
{
    const char* docs = std::getenv("RESPOOL_DOCS_DIR");
    REQUIRE_MESSAGE(docs != nullptr, "RESPOOL_DOCS_DIR is set by the test setup");
    std::ifstream in(std::string(docs) + "/observability.md");
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    const std::string page = text.str();
    for (const MetricInfo& m : pool_metrics) {
        CAPTURE(m.field);
        // | `respool_<name>...` | <type> | `<field>...` |
        const std::string head = fmt::format("| `respool_{}", m.prometheus_name);
        const std::size_t at = page.find(head);
        REQUIRE_MESSAGE(at != std::string::npos, "no row for respool_", m.prometheus_name);
        const std::string row = page.substr(at, page.find('\n', at) - at);
        const std::string_view type = m.kind == MetricKind::gauge || m.kind == MetricKind::state ? "gauge"
                                      : plain_number(m) || m.kind == MetricKind::by_reason   ? "counter"
                                                                                              : "histogram";
        CHECK_MESSAGE(row.find(fmt::format("| {} |", type)) != std::string::npos, row);
        CHECK_MESSAGE(row.find(fmt::format("`{}", m.field)) != std::string::npos, row);
    }
}

TEST_CASE("OpenTelemetry names: each row is a figure, spelled as OpenTelemetry's Prometheus translation says")
{
    std::set<std::string_view> fields;
    for (const OtelMetric& o : opentelemetry_metrics) {
        CAPTURE(o.name);
        CHECK(fields.insert(o.field).second);
        bool found = false;
        for (const MetricInfo& m : pool_metrics) found = found || m.field == o.field;
        CHECK_MESSAGE(found, "no figure ", o.field);
        // dots to underscores, "{...}" units dropped, "s" as _seconds, counters end in _total
        std::string expected(o.name);
        std::replace(expected.begin(), expected.end(), '.', '_');
        if (o.unit == "s") expected += "_seconds";
        if (o.instrument == "counter") expected += "_total";
        CHECK(o.prometheus_name == expected);
        CHECK(o.name.starts_with("db.client.connection."));
    }
    CHECK(opentelemetry_metric_of("acquire_wait")->name == "db.client.connection.wait_time");
    CHECK(opentelemetry_metric_of("created") == nullptr);
}

TEST_CASE("OpenTelemetry names in the Prometheus text and the JSON")
{
    const PoolStats s = distinct_stats();
    const std::string prom = to_prometheus(s, PrometheusOptions{.names = MetricNames::opentelemetry});
    const std::string json = to_json(s, MetricNames::opentelemetry);
    const std::string pool = "db_client_connection_pool_name=\"p\"";
    for (const OtelMetric& o : opentelemetry_metrics) {
        CAPTURE(o.name);
        CHECK(prom.find(fmt::format("# HELP {} {}\n", o.prometheus_name, o.description)) != std::string::npos);
        CHECK(json.find(fmt::format("\"{}\":", o.name)) != std::string::npos);
        for (const MetricInfo& m : pool_metrics) {
            if (m.field != o.field) continue;
            if (!plain_number(m)) {
                CHECK(prom.find(fmt::format("# TYPE {} histogram\n", o.prometheus_name)) != std::string::npos);
                CHECK(prom.find(fmt::format("{}_count{{{}}} ", o.prometheus_name, pool)) != std::string::npos);
                continue;
            }
            const std::string labels =
                o.state.empty() ? pool : fmt::format("{},db_client_connection_state=\"{}\"", pool, o.state);
            CHECK(prom.find(fmt::format("{}{{{}}} {}\n", o.prometheus_name, labels, number(s, m))) != std::string::npos);
            CHECK(json.find(fmt::format("\"{}\":{}", o.state.empty() ? o.name : o.state, number(s, m))) !=
                  std::string::npos);
        }
    }
    CHECK(prom.find("# TYPE db_client_connection_count gauge\n") != std::string::npos);
    CHECK(prom.find("# TYPE db_client_connection_timeouts_total counter\n") != std::string::npos);
    // The figures without an OpenTelemetry name follow, with the same pool label; the named ones do not repeat.
    CHECK(prom.find(fmt::format("respool_created_total{{{}}} ", pool)) != std::string::npos);
    CHECK(prom.find("respool_resources_idle") == std::string::npos);
    CHECK(prom.find("pool=\"p\"") == std::string::npos);
    CHECK(json.find("\"respool\":{\"pool\":\"p\"") != std::string::npos);
    CHECK(json.find("\"acquire_wait\":") == std::string::npos);
    const std::string bare =
        to_prometheus(s, PrometheusOptions{.names = MetricNames::opentelemetry, .respool_extras = false});
    CHECK(bare.find("respool_") == std::string::npos);
}
