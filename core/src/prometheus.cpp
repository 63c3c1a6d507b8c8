// Prometheus text exposition (format 0.0.4) of PoolStats.
//
// Table-driven: each metric family is a name, a type, a help text and a
// function that writes its samples for one pool. Families are the outer loop
// and pools the inner one, so HELP/TYPE appear once however many pools there are.
#include <respool/prometheus.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

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
    Writer(std::string& out, std::string_view name, const PoolStats& stats)
        : out_(out), name_(name), stats_(stats), labels_("pool=\"" + prometheus_escape_label(stats.name) + "\"")
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

struct Family {
    std::string_view name;  // after "<prefix>_"
    std::string_view type;
    std::string_view help;
    void (*write)(Writer&);
};

void each_site(Writer& w, void (*f)(Writer&, const SiteStats&))
{
    for (const SiteStats& s : unique_sites(w.stats().sites)) f(w, s);
}

// Pool-wide durations are histograms, which a fleet dashboard can add up
// across instances (summaries' quantiles cannot be). Per-site durations stay
// summaries: a histogram there would multiply the site label's series by 22
// buckets, and per-site figures answer "which code path holds the pool" on
// one instance, where quantiles are what a reader wants.
// clang-format off
constexpr Family families[] = {
    {"resources", "gauge", "Resources that exist, counting those being created.",
     [](Writer& w) { w.sample(w.stats().total); }},
    {"resources_idle", "gauge", "Resources ready to lend.",
     [](Writer& w) { w.sample(w.stats().idle); }},
    {"resources_in_use", "gauge", "Resources with at least one lease.",
     [](Writer& w) { w.sample(w.stats().in_use); }},
    {"resources_creating", "gauge", "Creations in flight.",
     [](Writer& w) { w.sample(w.stats().creating); }},
    {"leases", "gauge", "Outstanding leases (more than resources in use in shared mode).",
     [](Writer& w) { w.sample(w.stats().leases); }},
    {"waiters", "gauge", "Callers queued in acquire.",
     [](Writer& w) { w.sample(w.stats().waiting); }},
    {"max_size", "gauge", "Most resources the pool may hold (max_size).",
     [](Writer& w) { w.sample(w.stats().max_size); }},
    {"acquired_total", "counter", "Leases handed out.",
     [](Writer& w) { w.sample(w.stats().acquired); }},
    {"acquired_direct_total", "counter", "Leases handed out without queuing.",
     [](Writer& w) { w.sample(w.stats().acquired_direct); }},
    {"acquired_waited_total", "counter", "Leases handed out after queuing (the pool was short).",
     [](Writer& w) { w.sample(w.stats().acquired_waited); }},
    {"detached_total", "counter", "Resources taken out of the pool by Lease::detach.",
     [](Writer& w) { w.sample(w.stats().detached); }},
    {"created_total", "counter", "Resources created.",
     [](Writer& w) { w.sample(w.stats().created); }},
    {"destroyed_total", "counter", "Resources destroyed, by reason.",
     [](Writer& w) {
         for (std::size_t r = 0; r < destroy_reason_count; ++r) {
             const auto reason = static_cast<DestroyReason>(r);
             w.sample(w.stats().destroyed[reason], fmt::format(",reason=\"{}\"", to_string(reason)));
         }
     }},
    {"create_failures_total", "counter", "Creations that failed.",
     [](Writer& w) { w.sample(w.stats().create_failures); }},
    {"acquire_timeouts_total", "counter", "Acquires that ran out of time.",
     [](Writer& w) { w.sample(w.stats().timeouts); }},
    {"acquire_cancellations_total", "counter", "Acquires cancelled by their stop token.",
     [](Writer& w) { w.sample(w.stats().cancellations); }},
    {"acquire_rejections_total", "counter", "Acquires turned away because max_waiters were queued.",
     [](Writer& w) { w.sample(w.stats().rejections); }},
    {"validations_total", "counter", "Validations run on borrow.",
     [](Writer& w) { w.sample(w.stats().validations); }},
    {"validation_failures_total", "counter", "Validations on borrow that failed.",
     [](Writer& w) { w.sample(w.stats().validation_failures); }},
    {"leaks_suspected_total", "counter", "Leases held past leak_threshold.",
     [](Writer& w) { w.sample(w.stats().leaks_suspected); }},
    {"leases_overdue_total", "counter", "Leases held past max_lease_time without a heartbeat.",
     [](Writer& w) { w.sample(w.stats().leases_overdue); }},
    {"keepalives_total", "counter", "Keepalive validations of idle resources.",
     [](Writer& w) { w.sample(w.stats().keepalives); }},
    {"keepalive_failures_total", "counter", "Keepalive validations that failed.",
     [](Writer& w) { w.sample(w.stats().keepalive_failures); }},
    {"circuit_opened_total", "counter", "Times the creation circuit breaker opened.",
     [](Writer& w) { w.sample(w.stats().circuit_opened); }},
    {"acquire_fast_failures_total", "counter",
     "Acquires failed at once: the circuit was open, or the last creation failure was fatal.",
     [](Writer& w) { w.sample(w.stats().fast_failures); }},
    {"circuit_state", "gauge", "1 for the creation circuit breaker's current state, 0 for the others.",
     [](Writer& w) {
         for (auto state : {CircuitState::closed, CircuitState::open, CircuitState::half_open})
             w.sample(w.stats().circuit == state ? 1 : 0, fmt::format(",state=\"{}\"", to_string(state)));
     }},
    {"acquire_wait_seconds", "histogram", "Time from acquire to lease.",
     [](Writer& w) { w.histogram(w.stats().acquire_wait); }},
    {"acquire_wait_seconds_max", "gauge", "Longest time from acquire to lease.",
     [](Writer& w) { w.gauge(seconds(w.stats().acquire_wait.max)); }},
    {"hold_seconds", "histogram", "Time leases were held.",
     [](Writer& w) { w.histogram(w.stats().hold_time); }},
    {"hold_seconds_max", "gauge", "Longest time a lease was held.",
     [](Writer& w) { w.gauge(seconds(w.stats().hold_time.max)); }},
    {"create_seconds", "histogram", "Time successful creations took.",
     [](Writer& w) { w.histogram(w.stats().create_time); }},
    {"create_seconds_max", "gauge", "Longest time a successful creation took.",
     [](Writer& w) { w.gauge(seconds(w.stats().create_time.max)); }},
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

std::string to_prometheus(std::span<const PoolStats> pools, std::string_view prefix)
{
    check_prefix(prefix);
    std::string out;
    for (const Family& f : families) {
        const std::string name = fmt::format("{}_{}", prefix, f.name);
        const std::size_t before = out.size();
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name, f.type);
        const std::size_t header_end = out.size();
        for (const PoolStats& stats : pools) {
            Writer w(out, name, stats);
            f.write(w);
        }
        // A family without samples (no sites yet) is left out altogether.
        if (out.size() == header_end) out.resize(before);
    }
    return out;
}

std::string to_prometheus(const PoolStats& stats, std::string_view prefix)
{
    return to_prometheus(std::span<const PoolStats>(&stats, 1), prefix);
}

} // namespace respool
