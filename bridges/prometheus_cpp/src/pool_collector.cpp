// PoolCollector of <respool/prometheus_cpp.hpp>: the families of
// to_prometheus (core/src/prometheus.cpp), built as prometheus-cpp's
// structures from the same lists (RESPOOL_POOL_METRICS, opentelemetry_metrics).
#include <respool/prometheus_cpp.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include <respool/prometheus.hpp>

namespace respool {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

double seconds(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e9; }

constexpr std::string_view otel_pool_label = "db_client_connection_pool_name";

// One family being built: a metric per pool (and per extra label).
struct Builder {
    MetricFamily family;
    std::string pool_label;

    ClientMetric& metric(const PoolStats& s, std::string_view label = {}, std::string_view value = {})
    {
        ClientMetric& m = family.metric.emplace_back();
        m.label.push_back({pool_label, s.name});
        if (!label.empty()) m.label.push_back({std::string(label), std::string(value)});
        return m;
    }
    void number(const PoolStats& s, double v, std::string_view label = {}, std::string_view value = {})
    {
        ClientMetric& m = metric(s, label, value);
        if (family.type == MetricType::Counter) m.counter.value = v;
        else m.gauge.value = v;
    }
    void histogram(const PoolStats& s, const Distribution& d)
    {
        ClientMetric& m = metric(s);
        m.histogram.sample_count = d.count;
        m.histogram.sample_sum = seconds(d.sum);
        for (std::size_t i = 0; i < histogram_bounds.size(); ++i)
            m.histogram.bucket.push_back({d.buckets[i], seconds(histogram_bounds[i])});
        m.histogram.bucket.push_back({d.count, std::numeric_limits<double>::infinity()});
    }
    void summary(const PoolStats& s, const Distribution& d, std::string_view site)
    {
        ClientMetric& m = metric(s, "site", site);
        m.summary.sample_count = d.count;
        m.summary.sample_sum = seconds(d.sum);
        const double nan = std::numeric_limits<double>::quiet_NaN();
        m.summary.quantile.push_back({0.5, d.count ? seconds(d.p50) : nan});
        m.summary.quantile.push_back({0.99, d.count ? seconds(d.p99) : nan});
    }
};

MetricType type_of(MetricKind kind)
{
    switch (kind) {
    case MetricKind::counter:
    case MetricKind::derived:
    case MetricKind::by_reason: return MetricType::Counter;
    case MetricKind::timing:
    case MetricKind::site_timing: return MetricType::Histogram;
    default: return MetricType::Gauge;
    }
}

// One row of RESPOOL_POOL_METRICS for one pool (`max_only`: a timing's _max gauge).
void add_figure(Builder& b, const PoolStats& s, std::string_view field, bool max_only)
{
    for_each_metric(s, [&](const MetricInfo& m, const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if (m.field != field) return;
        if constexpr (std::is_same_v<T, Distribution>) {
            if (max_only) b.number(s, seconds(value.max));
            else b.histogram(s, value);
        } else if constexpr (std::is_same_v<T, DestroyCounts>) {
            for (std::size_t r = 0; r < destroy_reason_count; ++r)
                b.number(s, static_cast<double>(value.by_reason[r]), "reason", to_string(static_cast<DestroyReason>(r)));
        } else if constexpr (std::is_same_v<T, CircuitState>) {
            for (auto state : {CircuitState::closed, CircuitState::open, CircuitState::half_open})
                b.number(s, value == state ? 1 : 0, "state", to_string(state));
        } else {
            b.number(s, static_cast<double>(value));
        }
    });
}

// Sites whose text repeats would repeat a series; the text exporter merges
// them, here the first one is kept (the text exporter is the reference).
std::vector<const SiteStats*> unique_sites(const PoolStats& s)
{
    std::vector<const SiteStats*> out;
    for (const SiteStats& site : s.sites)
        if (std::none_of(out.begin(), out.end(), [&](const SiteStats* o) { return o->site == site.site; }))
            out.push_back(&site);
    return out;
}

void add_respool(std::vector<MetricFamily>& out, const std::vector<PoolStats>& pools,
                 const PoolCollector::Options& o, const std::string& pool_label, bool only_unnamed)
{
    auto family = [&](std::string name, std::string_view help, MetricType type) {
        return Builder{MetricFamily{std::move(name), std::string(help), type, {}}, pool_label};
    };
    auto keep = [&](Builder& b) {
        if (!b.family.metric.empty()) out.push_back(std::move(b.family));
    };
    for (const MetricInfo& m : pool_metrics) {
        const std::string name = o.prefix + "_" + std::string(m.prometheus_name);
        const bool timing = m.kind == MetricKind::timing || m.kind == MetricKind::site_timing;
        if (!only_unnamed || opentelemetry_metric_of(m.field) == nullptr) {
            Builder b = family(name, m.help, type_of(m.kind));
            for (const PoolStats& s : pools) add_figure(b, s, m.field, false);
            keep(b);
        }
        if (timing) {
            Builder b = family(name + "_max", "The longest of: " + std::string(m.help), MetricType::Gauge);
            for (const PoolStats& s : pools) add_figure(b, s, m.field, true);
            keep(b);
        }
    }
    Builder acquired = family(o.prefix + "_site_acquired_total", "Leases handed out, by acquire site.", MetricType::Counter);
    Builder holding = family(o.prefix + "_site_holding", "Outstanding leases, by acquire site.", MetricType::Gauge);
    Builder wait = family(o.prefix + "_site_acquire_wait_seconds", "Time from acquire to lease, by acquire site.",
                          MetricType::Summary);
    Builder hold = family(o.prefix + "_site_hold_seconds", "Time leases were held, by acquire site.", MetricType::Summary);
    for (const PoolStats& s : pools)
        for (const SiteStats* site : unique_sites(s)) {
            acquired.number(s, static_cast<double>(site->acquired), "site", site->site);
            holding.number(s, static_cast<double>(site->holding), "site", site->site);
            wait.summary(s, site->wait, site->site);
            hold.summary(s, site->hold, site->site);
        }
    for (Builder* b : {&acquired, &holding, &wait, &hold}) keep(*b);
}

MetricType otel_type(std::string_view instrument)
{
    if (instrument == "counter") return MetricType::Counter;
    if (instrument == "histogram") return MetricType::Histogram;
    return MetricType::Gauge;  // an UpDownCounter is a non-monotonic sum: a gauge
}

void add_opentelemetry(std::vector<MetricFamily>& out, const std::vector<PoolStats>& pools)
{
    for (const OtelMetric& row : opentelemetry_metrics) {
        if (out.empty() || out.back().name != row.prometheus_name)
            out.push_back(MetricFamily{std::string(row.prometheus_name), std::string(row.description),
                                       otel_type(row.instrument), {}});
        Builder b{std::move(out.back()), std::string(otel_pool_label)};
        for (const PoolStats& s : pools) {
            for_each_metric(s, [&](const MetricInfo& m, const auto& value) {
                using T = std::decay_t<decltype(value)>;
                if (m.field != row.field) return;
                if constexpr (std::is_same_v<T, Distribution>) b.histogram(s, value);
                else if constexpr (std::is_arithmetic_v<T>)
                    b.number(s, static_cast<double>(value), row.state.empty() ? "" : "db_client_connection_state",
                             row.state);
            });
        }
        out.back() = std::move(b.family);
    }
}

} // namespace

PoolCollector::PoolCollector(Options options) : options_(std::move(options))
{
    (void)to_prometheus(PoolStats{}, options_.prefix);  // the same check of the prefix as the text exporter's
}

void PoolCollector::add(std::string name, std::function<PoolStats()> stats)
{
    std::lock_guard lk(mu_);
    sources_.push_back(Source{std::move(name), std::move(stats)});
}

std::size_t PoolCollector::remove(std::string_view name)
{
    std::lock_guard lk(mu_);
    return std::erase_if(sources_, [&](const Source& s) { return s.name == name; });
}

std::vector<MetricFamily> PoolCollector::Collect() const
{
    std::vector<PoolStats> pools;
    {
        // Held while the pools are read, so a pool `remove`d is not read after `remove` returns.
        std::lock_guard lk(mu_);
        pools.reserve(sources_.size());
        for (const Source& s : sources_) pools.push_back(s.stats());
    }
    return families(pools, options_);
}

std::vector<MetricFamily> PoolCollector::families(const std::vector<PoolStats>& pools, const Options& options)
{
    std::vector<MetricFamily> out;
    if (options.names == MetricNames::opentelemetry) {
        add_opentelemetry(out, pools);
        if (options.respool_extras) add_respool(out, pools, options, std::string(otel_pool_label), true);
    } else {
        add_respool(out, pools, options, "pool", false);
    }
    return out;
}

} // namespace respool
