// JsonLinesListener, LoggingListener and FanOutListener of <respool/listeners.hpp>.
#include <respool/listeners.hpp>

#include <ctime>
#include <type_traits>
#include <sstream>

#include <fmt/format.h>

#include <respool/format.hpp>
#include <respool/json.hpp>
#include <respool/lease_info.hpp>

#include "printable.hpp"

namespace respool {

namespace {

// Appends `s` as a JSON string. Bytes that are not UTF-8 become U+FFFD, so a
// message in another encoding still yields a line every JSON parser accepts.
void append_json_string(std::string& out, std::string_view s)
{
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const std::size_t n = detail::utf8_sequence(s, i);
            if (n == 0) {
                out += "\\ufffd";
                ++i;
            } else {
                out.append(s, i, n);
                i += n;
            }
            continue;
        }
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20 || c == 0x7F) out += fmt::format("\\u{:04x}", c);
            else out += static_cast<char>(c);
        }
        ++i;
    }
    out += '"';
}

std::string iso8601_utc(std::chrono::system_clock::time_point ts)
{
    using namespace std::chrono;
    const auto ms = duration_cast<milliseconds>(ts.time_since_epoch());
    const auto secs = floor<seconds>(ms);
    const std::time_t t = static_cast<std::time_t>(secs.count());
    std::tm tm{};
    gmtime_r(&t, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, (ms - secs).count());
}

bool has_duration(const Event& e) noexcept
{
    switch (e.kind) {
    case EventKind::created:
    case EventKind::create_failed:
    case EventKind::acquire_timeout:
    case EventKind::leak_suspected:
    case EventKind::leak_returned:
    case EventKind::leak_at_close:
    case EventKind::lease_overdue:
    case EventKind::lease_reclaimed: return true;
    default: return e.duration.count() != 0;
    }
}

void add_key(std::string& out, std::string_view key)
{
    out += ',';
    append_json_string(out, key);
    out += ':';
}

} // namespace

std::string json_string(std::string_view text)
{
    std::string out;
    append_json_string(out, text);
    return out;
}

JsonLinesListener::JsonLinesListener(std::FILE* out) : out_(out) {}
JsonLinesListener::JsonLinesListener(Sink sink) : sink_(std::move(sink)) {}

std::string JsonLinesListener::to_json(const Event& e, std::chrono::system_clock::time_point ts)
{
    std::string out = "{\"ts\":\"" + iso8601_utc(ts) + "\"";
    add_key(out, "pool");
    append_json_string(out, e.pool);
    add_key(out, "event");
    append_json_string(out, to_string(e.kind));
    if (e.resource_id != 0) {
        add_key(out, "resource_id");
        out += fmt::format("{}", e.resource_id);
    }
    if (e.kind == EventKind::destroyed) {
        add_key(out, "reason");
        append_json_string(out, to_string(e.reason));
    }
    if (has_duration(e)) {
        add_key(out, "duration_ms");
        out += fmt::format("{:.3f}", static_cast<double>(e.duration.count()) / 1e6);
    }
    if (!e.message.empty()) {
        add_key(out, "message");
        append_json_string(out, e.message);
    }
    if (e.site.line() != 0) {
        add_key(out, "site");
        append_json_string(out, format_site(e.site));
    }
    if (e.thread != std::thread::id{}) {
        std::ostringstream thread;
        thread << e.thread;
        add_key(out, "thread");
        append_json_string(out, thread.str());
    }
    out += '}';
    return out;
}

void JsonLinesListener::on_event(const Event& event) noexcept
{
    try {
        std::string line = to_json(event, std::chrono::system_clock::now());
        std::lock_guard lk(mu_);
        if (sink_) {
            sink_(line);
        } else if (out_) {
            line += '\n';
            std::fwrite(line.data(), 1, line.size(), out_);
            std::fflush(out_);  // a crash soon after must not lose the events that led to it
        }
    } catch (...) {
        // Dropped: a listener must never throw into the pool.
    }
}

LoggingListener::LoggingListener(Logger logger, LogLevel min_level)
    : logger_(std::move(logger)), min_level_(min_level)
{
}

LogLevel LoggingListener::level_of(const Event& e) noexcept
{
    switch (e.kind) {
    case EventKind::created: return LogLevel::debug;
    case EventKind::destroyed:
        // Broken or failing resources say something about the server; the rest is routine churn.
        return e.reason == DestroyReason::broken || e.reason == DestroyReason::validation ? LogLevel::info
                                                                                           : LogLevel::debug;
    case EventKind::validation_failed: return LogLevel::info;
    case EventKind::create_failed: return LogLevel::warning;
    case EventKind::acquire_timeout: return LogLevel::warning;
    case EventKind::leak_suspected: return LogLevel::warning;
    case EventKind::leak_returned: return LogLevel::info;
    case EventKind::leak_at_close: return LogLevel::error;
    case EventKind::lease_overdue: return LogLevel::warning;
    case EventKind::lease_reclaimed: return LogLevel::warning;
    // An open circuit means the server is unreachable and acquires are failing.
    case EventKind::circuit_opened: return LogLevel::error;
    case EventKind::circuit_closed: return LogLevel::info;
    case EventKind::keepalive_failed: return LogLevel::info;
    case EventKind::pool_closed: return LogLevel::info;
    }
    return LogLevel::info;
}

void LoggingListener::on_event(const Event& event) noexcept
{
    const LogLevel level = level_of(event);
    if (level < min_level_ || !logger_) return;
    try {
        logger_(level, to_string(event));
    } catch (...) {
        // A logger that throws loses its line; the pool carries on.
    }
}

FanOutListener::FanOutListener(std::vector<std::shared_ptr<EventListener>> listeners)
{
    for (auto& l : listeners)
        if (l) listeners_.push_back(std::move(l));
}

void FanOutListener::on_event(const Event& event) noexcept
{
    for (const auto& l : listeners_) l->on_event(event);
}


// ------------------------------------------------------------ stats as JSON

namespace {

std::string json_seconds(std::chrono::nanoseconds d)
{
    return fmt::format("{}", static_cast<double>(d.count()) / 1e9);
}

void append_distribution(std::string& out, const Distribution& d)
{
    out += fmt::format("{{\"count\":{},\"sum_s\":{},\"p50_s\":{},\"p99_s\":{},\"max_s\":{}}}", d.count,
                       json_seconds(d.sum), json_seconds(d.p50), json_seconds(d.p99), json_seconds(d.max));
}

// One pool's object: its name, then every figure of RESPOOL_POOL_METRICS
// (stats.hpp) under its `PoolStats` member's name, then the sites.
// With `only_unnamed`, the figures OpenTelemetry has a name for are left out.
void append_stats(std::string& out, const PoolStats& s, bool only_unnamed = false)
{
    out += "{\"pool\":";
    append_json_string(out, s.name);
    out += fmt::format(",\"closed\":{}", s.closed);
    for_each_metric(s, [&](const MetricInfo& m, const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if (only_unnamed && opentelemetry_metric_of(m.field) != nullptr) return;
        add_key(out, m.field);
        if constexpr (std::is_same_v<T, Distribution>) {
            append_distribution(out, value);
        } else if constexpr (std::is_same_v<T, DestroyCounts>) {
            out += fmt::format("{{\"total\":{}", value.total());
            for (std::size_t r = 0; r < destroy_reason_count; ++r)
                out += fmt::format(",\"{}\":{}", to_string(static_cast<DestroyReason>(r)), value.by_reason[r]);
            out += '}';
        } else if constexpr (std::is_same_v<T, CircuitState>) {
            append_json_string(out, to_string(value));
        } else {
            out += fmt::format("{}", value);
        }
    });
    add_key(out, "last_create_error");
    append_json_string(out, s.last_create_error);
    out += ",\"sites\":[";
    for (std::size_t i = 0; i < s.sites.size(); ++i) {
        const SiteStats& site = s.sites[i];
        out += i ? ",{\"site\":" : "{\"site\":";
        append_json_string(out, site.site);
        add_key(out, "function");
        append_json_string(out, site.function);
        out += fmt::format(",\"acquired\":{},\"holding\":{},\"wait\":", site.acquired, site.holding);
        append_distribution(out, site.wait);
        out += ",\"hold\":";
        append_distribution(out, site.hold);
        out += '}';
    }
    out += "]}";
}

// One pool's object under OpenTelemetry's names (opentelemetry.hpp): the
// pool attribute, then each metric (count by state), then, under "respool",
// the figures OpenTelemetry has no name for.
void append_stats_otel(std::string& out, const PoolStats& s)
{
    out += '{';
    append_json_string(out, otel_pool_name_attribute);
    out += ':';
    append_json_string(out, s.name);
    std::string_view open_group;  // the metric whose {"state":n} object is open
    for (const OtelMetric& row : opentelemetry_metrics) {
        if (!open_group.empty() && open_group != row.name) {
            out += '}';
            open_group = {};
        }
        if (open_group.empty()) add_key(out, row.name);
        if (!row.state.empty()) {
            out += open_group.empty() ? "{" : ",";
            append_json_string(out, row.state);
            out += ':';
            open_group = row.name;
        }
        for_each_metric(s, [&](const MetricInfo& m, const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if (m.field != row.field) return;
            if constexpr (std::is_same_v<T, Distribution>) append_distribution(out, value);
            else if constexpr (std::is_arithmetic_v<T>) out += fmt::format("{}", value);
        });
    }
    if (!open_group.empty()) out += '}';
    out += ",\"respool\":";
    append_stats(out, s, true);
    out += '}';
}

} // namespace

std::string to_json(const PoolStats& stats, MetricNames names)
{
    std::string out;
    if (names == MetricNames::opentelemetry) append_stats_otel(out, stats);
    else append_stats(out, stats);
    return out;
}

std::string to_json(std::span<const PoolStats> pools, MetricNames names)
{
    std::string out = "[";
    for (std::size_t i = 0; i < pools.size(); ++i) {
        if (i) out += ',';
        out += to_json(pools[i], names);
    }
    return out + "]";
}

} // namespace respool
