// Prometheus text exposition (format 0.0.4) of PoolStats.
//
// Made from RESPOOL_POOL_METRICS (stats.hpp), the one list of the pool's
// figures, plus the per-site families below. Families are the outer loop and
// pools the inner one, so HELP/TYPE appear once however many pools there are.
#include <respool/prometheus.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <functional>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>

#include "printable.hpp"

namespace respool {

std::string prometheus_escape_label(std::string_view value)
{
    // Prometheus reads label values as UTF-8 and rejects a whole scrape for
    // one invalid byte; control characters would reach whoever reads the text.
    const std::string text = detail::utf8_label_text(value);
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '"': out += "\\\""; break;
        case '\n': out += "\\n"; break;
        default: out += c;
        }
    }
    return out;
}

namespace {

double seconds(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e9; }

std::string format_value(double v)
{
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", v);  // shortest text that reads back as the same double
}

// Writes the samples of one family for one pool; `labels` is the pool label,
// ready to be followed by more.
class Writer {
public:
    /// `pool_label` names the label that holds the pool's name.
    Writer(std::string& out, std::string_view name, const PoolStats& stats, std::string_view pool_label)
        : out_(out), name_(name), stats_(stats),
          labels_(fmt::format("{}=\"{}\"", pool_label, prometheus_escape_label(stats.name)))
    {
    }
    const PoolStats& stats() const noexcept { return stats_; }

    /// `<name><suffix>{pool="…"<extra>} <value>`; `extra` starts with a comma.
    void sample(std::string_view suffix, std::string_view extra, std::string_view value)
    {
        fmt::format_to(std::back_inserter(out_), "{}{}{{{}{}}} {}\n", name_, suffix, labels_, extra, value);
    }
    void sample(std::uint64_t value, std::string_view extra = {}) { sample("", extra, fmt::format("{}", value)); }
    void gauge(double value, std::string_view extra = {}) { sample("", extra, format_value(value)); }

    /// _bucket{le=...} for each of `histogram_bounds` and +Inf, then _sum and
    /// _count: cumulative counts that add up across instances.
    void histogram(const Distribution& d)
    {
        for (std::size_t i = 0; i < histogram_bounds.size(); ++i)
            sample("_bucket", fmt::format(",le=\"{}\"", format_value(seconds(histogram_bounds[i]))),
                   fmt::format("{}", d.buckets[i]));
        sample("_bucket", ",le=\"+Inf\"", fmt::format("{}", d.count));
        sample("_sum", {}, format_value(seconds(d.sum)));
        sample("_count", {}, fmt::format("{}", d.count));
    }

    /// quantile 0.5 and 0.99 in seconds, then _sum and _count.
    void summary(const Distribution& d, std::string_view extra = {})
    {
        const double nan = std::numeric_limits<double>::quiet_NaN();
        sample("", fmt::format("{},quantile=\"0.5\"", extra), format_value(d.count ? seconds(d.p50) : nan));
        sample("", fmt::format("{},quantile=\"0.99\"", extra), format_value(d.count ? seconds(d.p99) : nan));
        sample("_sum", extra, format_value(seconds(d.sum)));
        sample("_count", extra, fmt::format("{}", d.count));
    }

private:
    std::string& out_;
    std::string_view name_;
    const PoolStats& stats_;
    std::string labels_;
};

std::string site_label(const SiteStats& s) { return ",site=\"" + prometheus_escape_label(s.site) + "\""; }

// Sites whose text repeats (one file:line reached through distinct string
// literals) would repeat a series, which scrapers reject; merge them. Merged
// quantiles take the larger value: an upper bound, like the histogram's own.
std::vector<SiteStats> unique_sites(const std::vector<SiteStats>& sites)
{
    std::vector<SiteStats> out;
    for (const SiteStats& s : sites) {
        auto same = std::find_if(out.begin(), out.end(), [&](const SiteStats& o) { return o.site == s.site; });
        if (same == out.end()) {
            out.push_back(s);
            continue;
        }
        same->acquired += s.acquired;
        same->holding += s.holding;
        for (auto [into, from] : {std::pair{&same->wait, &s.wait}, std::pair{&same->hold, &s.hold}}) {
            into->count += from->count;
            into->sum += from->sum;
            into->p50 = std::max(into->p50, from->p50);
            into->p99 = std::max(into->p99, from->p99);
            into->max = std::max(into->max, from->max);
            for (std::size_t i = 0; i < into->buckets.size(); ++i) into->buckets[i] += from->buckets[i];
        }
    }
    return out;
}

void each_site(Writer& w, void (*f)(Writer&, const SiteStats&))
{
    for (const SiteStats& s : unique_sites(w.stats().sites)) f(w, s);
}

// Writes the samples of the figure `m` (a row of RESPOOL_POOL_METRICS) for
// one pool, or, with `max_only`, its `_max` gauge (timings only).
void write_figure(Writer& w, const MetricInfo& m, bool max_only)
{
    for_each_metric(w.stats(), [&](const MetricInfo& row, const auto& value) {
        if (row.field != m.field) return;
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, Distribution>) {
            if (max_only) w.gauge(seconds(value.max));
            else w.histogram(value);
        } else if constexpr (std::is_same_v<T, DestroyCounts>) {
            for (std::size_t r = 0; r < destroy_reason_count; ++r) {
                const auto reason = static_cast<DestroyReason>(r);
                w.sample(value[reason], fmt::format(",reason=\"{}\"", to_string(reason)));
            }
        } else if constexpr (std::is_same_v<T, CircuitState>) {
            for (auto state : {CircuitState::closed, CircuitState::open, CircuitState::half_open})
                w.sample(value == state ? 1 : 0, fmt::format(",state=\"{}\"", to_string(state)));
        } else {
            w.sample(static_cast<std::uint64_t>(value));
        }
    });
}

std::string_view prometheus_type(MetricKind kind)
{
    switch (kind) {
    case MetricKind::gauge:
    case MetricKind::state: return "gauge";
    case MetricKind::counter:
    case MetricKind::derived:
    case MetricKind::by_reason: return "counter";
    case MetricKind::timing:
    case MetricKind::site_timing: return "histogram";
    }
    return "untyped";
}

bool is_timing(const MetricInfo& m) { return m.kind == MetricKind::timing || m.kind == MetricKind::site_timing; }

// The families beyond RESPOOL_POOL_METRICS: per acquire site. Pool-wide
// durations are histograms, which a fleet dashboard can add up across
// instances (summaries' quantiles cannot be). Per-site durations stay
// summaries: a histogram there would multiply the site label's series by 22
// buckets, and per-site figures answer "which code path holds the pool" on
// one instance, where quantiles are what a reader wants.
struct SiteFamily {
    std::string_view name;  // after "<prefix>_"
    std::string_view type;
    std::string_view help;
    void (*write)(Writer&);
};

// clang-format off
constexpr SiteFamily site_families[] = {
    {"site_acquired_total", "counter", "Leases handed out, by acquire site.",
     [](Writer& w) { each_site(w, [](Writer& sw, const SiteStats& s) { sw.sample(s.acquired, site_label(s)); }); }},
    {"site_holding", "gauge", "Outstanding leases, by acquire site.",
     [](Writer& w) { each_site(w, [](Writer& sw, const SiteStats& s) { sw.sample(s.holding, site_label(s)); }); }},
    {"site_acquire_wait_seconds", "summary", "Time from acquire to lease, by acquire site.",
     [](Writer& w) { each_site(w, [](Writer& sw, const SiteStats& s) { sw.summary(s.wait, site_label(s)); }); }},
    {"site_hold_seconds", "summary", "Time leases were held, by acquire site.",
     [](Writer& w) { each_site(w, [](Writer& sw, const SiteStats& s) { sw.summary(s.hold, site_label(s)); }); }},
};
// clang-format on

void check_prefix(std::string_view prefix)
{
    auto ok = [](char c, bool first) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
               (!first && c >= '0' && c <= '9');
    };
    bool valid = !prefix.empty();
    for (std::size_t i = 0; valid && i < prefix.size(); ++i) valid = ok(prefix[i], i == 0);
    if (!valid)
        throw std::invalid_argument(fmt::format("respool::to_prometheus: prefix \"{}\" is not a valid metric name "
                                                "([a-zA-Z_:][a-zA-Z0-9_:]*)",
                                                prefix));
}

} // namespace

namespace {

constexpr std::string_view otel_pool_label = "db_client_connection_pool_name";
constexpr std::string_view otel_state_label = "db_client_connection_state";

// One family: HELP and TYPE, then every pool's samples; left out altogether
// when no pool has a sample (no sites yet).
void write_family(std::string& out, std::span<const PoolStats> pools, std::string_view pool_label,
                  const std::string& name, std::string_view type, std::string_view help,
                  const std::function<void(Writer&)>& write)
{
    const std::size_t before = out.size();
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    const std::size_t header_end = out.size();
    for (const PoolStats& stats : pools) {
        Writer w(out, name, stats, pool_label);
        write(w);
    }
    if (out.size() == header_end) out.resize(before);
}

// respool's families; with `only_unnamed`, only those OpenTelemetry has no name for.
void write_respool(std::string& out, std::span<const PoolStats> pools, std::string_view prefix,
                   std::string_view pool_label, bool only_unnamed)
{
    for (const MetricInfo& m : pool_metrics) {
        const std::string name = fmt::format("{}_{}", prefix, m.prometheus_name);
        if (!only_unnamed || opentelemetry_metric_of(m.field) == nullptr)
            write_family(out, pools, pool_label, name, prometheus_type(m.kind), m.help,
                         [&](Writer& w) { write_figure(w, m, false); });
        if (is_timing(m))
            write_family(out, pools, pool_label, name + "_max", "gauge", fmt::format("The longest of: {}", m.help),
                         [&](Writer& w) { write_figure(w, m, true); });
    }
    for (const SiteFamily& f : site_families)
        write_family(out, pools, pool_label, fmt::format("{}_{}", prefix, f.name), f.type, f.help, f.write);
}

std::string_view otel_prometheus_type(std::string_view instrument)
{
    // An UpDownCounter is a non-monotonic sum: a gauge in Prometheus.
    if (instrument == "counter") return "counter";
    if (instrument == "histogram") return "histogram";
    return "gauge";
}

// The OpenTelemetry families: rows of one metric (count's two states) share a family.
void write_opentelemetry(std::string& out, std::span<const PoolStats> pools)
{
    const std::span<const OtelMetric> rows(opentelemetry_metrics);
    for (std::size_t i = 0; i < rows.size();) {
        std::size_t end = i + 1;
        while (end < rows.size() && rows[end].name == rows[i].name) ++end;
        const auto group = rows.subspan(i, end - i);
        write_family(out, pools, otel_pool_label, std::string(rows[i].prometheus_name),
                     otel_prometheus_type(rows[i].instrument), rows[i].description, [&](Writer& w) {
                         for (const OtelMetric& row : group) {
                             const std::string extra =
                                 row.state.empty() ? std::string()
                                                   : fmt::format(",{}=\"{}\"", otel_state_label, row.state);
                             for_each_metric(w.stats(), [&](const MetricInfo& m, const auto& value) {
                                 using T = std::decay_t<decltype(value)>;
                                 if (m.field != row.field) return;
                                 if constexpr (std::is_same_v<T, Distribution>) w.histogram(value);
                                 else if constexpr (std::is_arithmetic_v<T>) w.sample(static_cast<std::uint64_t>(value), extra);
                             });
                         }
                     });
        i = end;
    }
}

} // namespace

std::string to_prometheus(std::span<const PoolStats> pools, const PrometheusOptions& options)
{
    check_prefix(options.prefix);
    std::string out;
    if (options.names == MetricNames::opentelemetry) {
        write_opentelemetry(out, pools);
        if (options.respool_extras) write_respool(out, pools, options.prefix, otel_pool_label, true);
    } else {
        write_respool(out, pools, options.prefix, "pool", false);
    }
    return out;
}

std::string to_prometheus(const PoolStats& stats, const PrometheusOptions& options)
{
    return to_prometheus(std::span<const PoolStats>(&stats, 1), options);
}

std::string to_prometheus(std::span<const PoolStats> pools, std::string_view prefix)
{
    return to_prometheus(pools, PrometheusOptions{.prefix = prefix});
}

std::string to_prometheus(const PoolStats& stats, std::string_view prefix)
{
    return to_prometheus(std::span<const PoolStats>(&stats, 1), PrometheusOptions{.prefix = prefix});
}

} // namespace respool
