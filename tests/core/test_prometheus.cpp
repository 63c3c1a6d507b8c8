// <respool/prometheus.hpp>: the exposition is parsed back line by line with a
// strict parser of format 0.0.4, and every sample is checked against the
// PoolStats it came from — no sample missing, none extra, none different.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <respool/prometheus.hpp>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {

// ---------------------------------------------------------------- the parser

using Labels = std::map<std::string, std::string>;

struct Sample {
    std::string name;
    Labels labels;
    double value = 0;
};

struct Exposition {
    std::vector<Sample> samples;
    std::map<std::string, std::string> types;  // family -> type
    std::map<std::string, std::string> helps;  // family -> help text
    std::vector<std::string> errors;           // empty when the text is valid
};

bool valid_name(std::string_view s, bool metric)
{
    if (s.empty()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':') ||
                        (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

std::string series_key(const std::string& name, const Labels& labels)
{
    std::string key = name + "{";
    for (const auto& [k, v] : labels) key += k + "=" + v + ";";
    return key + "}";
}

// Parses `{a="x",b="y"}` starting at line[pos] == '{'; returns the position after '}' or npos.
std::size_t parse_labels(const std::string& line, std::size_t pos, Labels& out, std::string& error)
{
    ++pos;
    while (pos < line.size() && line[pos] != '}') {
        const std::size_t eq = line.find('=', pos);
        if (eq == std::string::npos) return error = "label without '='", std::string::npos;
        const std::string name = line.substr(pos, eq - pos);
        if (!valid_name(name, false)) return error = "bad label name '" + name + "'", std::string::npos;
        if (eq + 1 >= line.size() || line[eq + 1] != '"') return error = "label value not quoted", std::string::npos;
        std::string value;
        std::size_t i = eq + 2;
        for (;; ++i) {
            if (i >= line.size()) return error = "unterminated label value", std::string::npos;
            if (line[i] == '"') break;
            if (line[i] == '\\') {
                if (++i >= line.size()) return error = "dangling backslash", std::string::npos;
                if (line[i] == 'n') value += '\n';
                else if (line[i] == '\\' || line[i] == '"') value += line[i];
                else return error = std::string("bad escape \\") + line[i], std::string::npos;
            } else {
                value += line[i];
            }
        }
        if (!out.emplace(name, value).second) return error = "repeated label " + name, std::string::npos;
        pos = i + 1;
        if (pos < line.size() && line[pos] == ',') ++pos;
        else if (pos >= line.size() || line[pos] != '}') return error = "expected ',' or '}'", std::string::npos;
    }
    if (pos >= line.size()) return error = "unterminated label set", std::string::npos;
    return pos + 1;
}

bool parse_value(const std::string& text, double& out)
{
    if (text == "NaN") return out = std::nan(""), true;
    if (text == "+Inf") return out = HUGE_VAL, true;
    if (text == "-Inf") return out = -HUGE_VAL, true;
    char* end = nullptr;
    out = std::strtod(text.c_str(), &end);
    return !text.empty() && end == text.c_str() + text.size() && text.find_first_of("iInN") == std::string::npos;
}

// The family a sample belongs to: summaries own <name>_sum and <name>_count,
// histograms those and <name>_bucket.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types)
{
    for (std::string_view suffix : {"_sum", "_count", "_bucket"}) {
        if (name.size() > suffix.size() && name.ends_with(suffix)) {
            const std::string base = name.substr(0, name.size() - suffix.size());
            auto t = types.find(base);
            if (t != types.end() && (t->second == "histogram" || (t->second == "summary" && suffix != "_bucket")))
                return base;
        }
    }
    return name;
}

Exposition parse(const std::string& text)
{
    Exposition ex;
    if (!text.empty() && text.back() != '\n') ex.errors.push_back("text does not end with a newline");
    std::set<std::string> series, finished_families;
    std::string current;
    std::istringstream in(text);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        auto fail = [&](const std::string& why) { ex.errors.push_back(fmt::format("line {}: {}: {}", n, why, line)); };
        if (line.empty()) {
            fail("empty line");
            continue;
        }
        if (line[0] == '#') {
            std::istringstream words(line.substr(1));
            std::string keyword, name;
            words >> keyword >> name;
            std::string rest;
            std::getline(words, rest);
            if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
            if (keyword != "HELP" && keyword != "TYPE") continue;  // other comments are allowed
            if (!valid_name(name, true)) fail("bad metric name in comment");
            if (keyword == "TYPE") {
                static const std::set<std::string> types{"counter", "gauge", "summary", "histogram", "untyped"};
                if (!types.count(rest)) fail("unknown type");
                if (!ex.types.emplace(name, rest).second) fail("second TYPE for " + name);
                if (finished_families.count(name) || name == current) fail("TYPE after samples of " + name);
            } else if (!ex.helps.emplace(name, rest).second) {
                fail("second HELP for " + name);
            }
            continue;
        }
        Sample s;
        std::size_t pos = 0;
        while (pos < line.size() && line[pos] != '{' && line[pos] != ' ') ++pos;
        s.name = line.substr(0, pos);
        if (!valid_name(s.name, true)) fail("bad metric name");
        if (pos < line.size() && line[pos] == '{') {
            std::string error;
            pos = parse_labels(line, pos, s.labels, error);
            if (pos == std::string::npos) {
                fail(error);
                continue;
            }
        }
        if (pos >= line.size() || line[pos] != ' ') {
            fail("no space before the value");
            continue;
        }
        if (!parse_value(line.substr(pos + 1), s.value)) fail("bad value (or a timestamp)");
        const std::string family = family_of(s.name, ex.types);
        if (!ex.types.count(family)) fail("sample before its TYPE");
        if (family != current) {
            if (!current.empty()) finished_families.insert(current);
            if (finished_families.count(family)) fail("samples of " + family + " are not contiguous");
            current = family;
        }
        if (!series.insert(series_key(s.name, s.labels)).second) fail("duplicate series");
        ex.samples.push_back(std::move(s));
    }
    return ex;
}

// ------------------------------------------------ what the stats should give

using Expected = std::map<std::string, double>;  // series key -> value

double secs(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e9; }

void expect_summary(Expected& e, const std::string& name, Labels labels, const Distribution& d)
{
    const double nan = std::nan("");
    e[series_key(name + "_sum", labels)] = secs(d.sum);
    e[series_key(name + "_count", labels)] = static_cast<double>(d.count);
    labels["quantile"] = "0.5";
    e[series_key(name, labels)] = d.count ? secs(d.p50) : nan;
    labels["quantile"] = "0.99";
    e[series_key(name, labels)] = d.count ? secs(d.p99) : nan;
}

/// _bucket{le} for each documented bound (seconds, shortest text) and +Inf, _sum, _count.
void expect_histogram(Expected& e, const std::string& name, Labels labels, const Distribution& d)
{
    e[series_key(name + "_sum", labels)] = secs(d.sum);
    e[series_key(name + "_count", labels)] = static_cast<double>(d.count);
    for (std::size_t i = 0; i < histogram_bounds.size(); ++i) {
        labels["le"] = fmt::format("{}", secs(histogram_bounds[i]));
        e[series_key(name + "_bucket", labels)] = static_cast<double>(d.buckets[i]);
    }
    labels["le"] = "+Inf";
    e[series_key(name + "_bucket", labels)] = static_cast<double>(d.count);
}

/// Every sample the exposition of `s` must contain, written from the documented
/// names (prometheus.hpp), not from the implementation's table.
Expected expected_samples(const PoolStats& s, const std::string& p = "respool")
{
    Expected e;
    const Labels pool{{"pool", s.name}};
    auto put = [&](const std::string& name, double v, Labels labels) { e[series_key(p + "_" + name, labels)] = v; };
    auto with = [&](const char* k, const std::string& v) {
        Labels l = pool;
        l[k] = v;
        return l;
    };
    put("resources", s.total, pool);
    put("resources_idle", s.idle, pool);
    put("resources_in_use", s.in_use, pool);
    put("resources_creating", s.creating, pool);
    put("leases", s.leases, pool);
    put("waiters", s.waiting, pool);
    put("max_size", s.max_size, pool);
    put("min_idle", s.min_idle, pool);
    put("max_idle", s.max_idle, pool);
    put("acquired_total", s.acquired, pool);
    put("acquired_direct_total", s.acquired_direct, pool);
    put("acquired_waited_total", s.acquired_waited, pool);
    put("detached_total", s.detached, pool);
    put("created_total", s.created, pool);
    for (auto r : {DestroyReason::idle, DestroyReason::lifetime, DestroyReason::broken, DestroyReason::validation,
                   DestroyReason::closed, DestroyReason::retired})
        put("destroyed_total", s.destroyed[r], with("reason", std::string(to_string(r))));
    put("create_failures_total", s.create_failures, pool);
    put("acquire_timeouts_total", s.timeouts, pool);
    put("acquire_cancellations_total", s.cancellations, pool);
    put("acquire_rejections_total", s.rejections, pool);
    put("validations_total", s.validations, pool);
    put("validation_failures_total", s.validation_failures, pool);
    put("leaks_suspected_total", s.leaks_suspected, pool);
    put("leases_overdue_total", s.leases_overdue, pool);
    put("keepalives_total", s.keepalives, pool);
    put("keepalive_failures_total", s.keepalive_failures, pool);
    put("circuit_opened_total", s.circuit_opened, pool);
    put("acquire_fast_failures_total", s.fast_failures, pool);
    for (auto c : {CircuitState::closed, CircuitState::open, CircuitState::half_open})
        put("circuit_state", s.circuit == c ? 1 : 0, with("state", std::string(to_string(c))));
    expect_histogram(e, p + "_acquire_wait_seconds", pool, s.acquire_wait);
    expect_histogram(e, p + "_hold_seconds", pool, s.hold_time);
    expect_histogram(e, p + "_create_seconds", pool, s.create_time);
    put("acquire_wait_seconds_max", secs(s.acquire_wait.max), pool);
    put("hold_seconds_max", secs(s.hold_time.max), pool);
    put("create_seconds_max", secs(s.create_time.max), pool);
    for (const SiteStats& site : s.sites) {
        const Labels l = with("site", site.site);
        put("site_acquired_total", site.acquired, l);
        put("site_holding", site.holding, l);
        expect_summary(e, p + "_site_acquire_wait_seconds", l, site.wait);
        expect_summary(e, p + "_site_hold_seconds", l, site.hold);
    }
    return e;
}

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

/// Checks `ex` holds exactly the samples `expected` lists, with their values.
void check_samples(const Exposition& ex, const Expected& expected)
{
    std::set<std::string> seen;
    for (const Sample& s : ex.samples) {
        const std::string key = series_key(s.name, s.labels);
        CAPTURE(key);
        auto it = expected.find(key);
        CHECK_MESSAGE(it != expected.end(), "unexpected sample");
        if (it != expected.end()) CHECK_MESSAGE(same(it->second, s.value), it->second << " != " << s.value);
        seen.insert(key);
    }
    // Not a structured binding: doctest's message lambda captures it, which clang 14 cannot.
    for (const auto& sample : expected) CHECK_MESSAGE(seen.count(sample.first), "missing sample " << sample.first);
}

// Distinct acquire sites, one per line.
FakeLease at_site_a(FakePool& pool) { return pool.acquire(); }
FakeLease at_site_b(FakePool& pool) { return pool.acquire(); }
FakeLease at_site_c(FakePool& pool) { return pool.acquire(); }

/// A pool with a history touching most counters; returns its stats.
PoolStats eventful_stats(Fixture& f, const std::string& name)
{
    PoolOptions o = f.options(3);
    o.name = name;
    o.max_tracked_sites = 2;  // sites a and b tracked, c pooled as "other"
    o.validate_after_idle = 1s;
    o.leak_threshold = 10s;
    o.logger = [](LogLevel, std::string_view) {};
    FakePool pool{f.adapter(), o};
    {
        auto a = at_site_a(pool);
        f.clock->advance(2ms);
        auto b = at_site_b(pool);
        f.clock->advance(5ms);
        {
            auto c = at_site_c(pool);
            c.mark_broken();
            CHECK_THROWS_AS((void)pool.acquire({.timeout = 1ms}), AcquireTimeout);  // three out: a timeout
        }
        f.clock->advance(11s);
        pool.run_maintenance();  // a and b are suspected leaks
    }
    f.clock->advance(2s);
    f.fake->fail_next_validations(1);
    { auto a = at_site_a(pool); }  // one of the two idle ones fails validation, the other passes
    auto held = pool.acquire();
    f.fake->fail_next_creates_fatally(1, "refused");  // fatal: fails the acquire at once
    CHECK_THROWS_AS((void)pool.acquire({.timeout = 1s}), CreateFailed);
    return pool.stats();
}

} // namespace

TEST_CASE("the parser itself rejects what scrapers reject")
{
    CHECK(parse("# TYPE x gauge\nx 1\n").errors.empty());
    CHECK_FALSE(parse("x 1\n").errors.empty());                                  // no TYPE
    CHECK_FALSE(parse("# TYPE x gauge\nx 1").errors.empty());                   // no final newline
    CHECK_FALSE(parse("# TYPE x gauge\nx{a=\"b} 1\n").errors.empty());         // unterminated
    CHECK_FALSE(parse("# TYPE x gauge\nx{a=\"\\t\"} 1\n").errors.empty());     // bad escape
    CHECK_FALSE(parse("# TYPE x gauge\nx 1\nx 2\n").errors.empty());            // duplicate series
    CHECK_FALSE(parse("# TYPE x gauge\n# TYPE x gauge\nx 1\n").errors.empty()); // second TYPE
    CHECK_FALSE(parse("# TYPE x gauge\n# TYPE y gauge\nx{a=\"1\"} 1\ny 1\nx{a=\"2\"} 1\n").errors.empty());
    CHECK_FALSE(parse("# TYPE x gauge\nx one\n").errors.empty());
    const Exposition ex = parse("# TYPE s summary\ns{quantile=\"0.5\",p=\"a\\\"\\\\\\n\"} NaN\ns_sum 1.5\ns_count 2\n");
    CHECK(ex.errors.empty());
    REQUIRE(ex.samples.size() == 3);
    CHECK(ex.samples[0].labels.at("p") == "a\"\\\n");
}

TEST_CASE("every sample of a real pool's exposition matches its stats")
{
    Fixture f;
    const PoolStats s = eventful_stats(f, "orders");
    // The scenario reached what it meant to.
    REQUIRE(s.timeouts == 1);
    REQUIRE(s.create_failures >= 1);
    REQUIRE(s.leaks_suspected == 2);
    REQUIRE(s.validation_failures == 1);
    REQUIRE(s.destroyed[DestroyReason::broken] == 1);
    REQUIRE(s.destroyed[DestroyReason::validation] == 1);
    REQUIRE(s.hold_time.count > 0);
    REQUIRE(s.sites.size() == 3);

    const std::string text = to_prometheus(s);
    const Exposition ex = parse(text);
    for (const auto& e : ex.errors) FAIL_CHECK(e);
    check_samples(ex, expected_samples(s));

    std::set<std::string> sites;
    for (const Sample& sample : ex.samples)
        if (sample.labels.count("site")) sites.insert(sample.labels.at("site"));
    CHECK(sites.size() == 3);  // two tracked sites and "other": bounded by max_tracked_sites
    CHECK(sites.count("other") == 1);
    for (const Sample& sample : ex.samples) CHECK(sample.labels.at("pool") == "orders");

    // Types and help as documented.
    CHECK(ex.types.at("respool_resources") == "gauge");
    CHECK(ex.types.at("respool_destroyed_total") == "counter");
    CHECK(ex.types.at("respool_hold_seconds") == "histogram");
    CHECK(ex.types.at("respool_acquire_wait_seconds") == "histogram");
    CHECK(ex.types.at("respool_create_seconds") == "histogram");
    CHECK(ex.types.at("respool_site_hold_seconds") == "summary");
    for (const auto& entry : ex.types) {
        const std::string& family = entry.first;  // not a structured binding: CAPTURE's lambda takes it
        const std::string& type = entry.second;
        CAPTURE(family);
        CHECK(ex.helps.count(family));
        CHECK(family.ends_with("_total") == (type == "counter"));
    }
}

TEST_CASE("exact values: seconds, NaN quantiles of an empty distribution, a custom prefix")
{
    PoolStats s;
    s.name = "db";
    s.max_size = 8;
    s.total = 5;
    s.acquired = 42;
    s.hold_time = Distribution{.count = 4, .p50 = 1500us, .p99 = 2ms, .max = 3s, .sum = 3004ms};
    // Three observations of at most 2 ms, one of 3 s.
    for (std::size_t i = 0; i < histogram_bounds.size(); ++i)
        s.hold_time.buckets[i] = histogram_bounds[i] >= 2500us ? (histogram_bounds[i] >= 5s ? 4 : 3) : 0;
    const std::string text = to_prometheus(s, "app_pool");
    CHECK(text.find("# TYPE app_pool_hold_seconds histogram\n") != std::string::npos);
    CHECK(text.find("app_pool_hold_seconds_bucket{pool=\"db\",le=\"1e-05\"} 0\n") != std::string::npos);
    CHECK(text.find("app_pool_hold_seconds_bucket{pool=\"db\",le=\"0.001\"} 0\n") != std::string::npos);
    CHECK(text.find("app_pool_hold_seconds_bucket{pool=\"db\",le=\"0.0025\"} 3\n") != std::string::npos);
    CHECK(text.find("app_pool_hold_seconds_bucket{pool=\"db\",le=\"2.5\"} 3\n") != std::string::npos);
    CHECK(text.find("app_pool_hold_seconds_bucket{pool=\"db\",le=\"5\"} 4\n") != std::string::npos);
    CHECK(text.find("app_pool_hold_seconds_bucket{pool=\"db\",le=\"30\"} 4\n") != std::string::npos);
    CHECK(text.find("app_pool_hold_seconds_bucket{pool=\"db\",le=\"+Inf\"} 4\n") != std::string::npos);
    CHECK(text.find("app_pool_hold_seconds_sum{pool=\"db\"} 3.004\n") != std::string::npos);
    CHECK(text.find("app_pool_hold_seconds_count{pool=\"db\"} 4\n") != std::string::npos);
    CHECK(text.find("app_pool_hold_seconds_max{pool=\"db\"} 3\n") != std::string::npos);
    CHECK(text.find("app_pool_acquire_wait_seconds_bucket{pool=\"db\",le=\"+Inf\"} 0\n") != std::string::npos);
    CHECK(text.find("quantile") == std::string::npos);  // no sites: no summaries at all
    CHECK(text.find("app_pool_acquired_total{pool=\"db\"} 42\n") != std::string::npos);
    CHECK(text.find("# TYPE app_pool_acquired_total counter\n") != std::string::npos);
    CHECK(text.find("respool_") == std::string::npos);
    CHECK(text.find("site") == std::string::npos);  // no sites, no site families
    const Exposition ex = parse(text);
    for (const auto& e : ex.errors) FAIL_CHECK(e);
    check_samples(ex, expected_samples(s, "app_pool"));

    CHECK_THROWS_AS((void)to_prometheus(s, ""), std::invalid_argument);
    CHECK_THROWS_AS((void)to_prometheus(s, "9lives"), std::invalid_argument);
    CHECK_THROWS_AS((void)to_prometheus(s, "my-app"), std::invalid_argument);
}

TEST_CASE("label values are escaped: backslash, double quote, newline")
{
    CHECK(prometheus_escape_label("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
    CHECK(prometheus_escape_label("plain:42") == "plain:42");

    PoolStats s;
    s.name = "we\"ird\\pool\nname";
    SiteStats site;
    site.site = "C:\\src\\\"q\".cpp:7";
    site.acquired = 1;
    s.sites.push_back(site);
    const std::string text = to_prometheus(s);
    CHECK(text.find("pool=\"we\\\"ird\\\\pool\\nname\"") != std::string::npos);
    CHECK(text.find("site=\"C:\\\\src\\\\\\\"q\\\".cpp:7\"") != std::string::npos);
    const Exposition ex = parse(text);
    for (const auto& e : ex.errors) FAIL_CHECK(e);
    REQUIRE(!ex.samples.empty());
    for (const Sample& sample : ex.samples) CHECK(sample.labels.at("pool") == s.name);
    check_samples(ex, expected_samples(s));
}

TEST_CASE("label values are valid UTF-8 without control characters")
{
    const std::string fffd = "\xEF\xBF\xBD";
    CHECK(prometheus_escape_label("caf\xC3\xA9") == "caf\xC3\xA9");          // UTF-8 passes
    CHECK(prometheus_escape_label("a\xFF" "b") == "a" + fffd + "b");          // a stray byte
    CHECK(prometheus_escape_label("\xC3") == fffd);                          // truncated sequence
    CHECK(prometheus_escape_label("\xED\xA0\x80") == fffd + fffd + fffd);     // a surrogate is not UTF-8
    CHECK(prometheus_escape_label("x\x1b[31my") == "x" + fffd + "[31my");      // ESC
    CHECK(prometheus_escape_label("t\tu\x7f") == "t" + fffd + "u" + fffd);     // tab, DEL
    CHECK(prometheus_escape_label("\xC2\x9b") == fffd);                       // C1 control (CSI)
    CHECK(prometheus_escape_label("n\nl") == "n\\nl");                      // newline stays an escape

    PoolStats s;
    s.name = "bad\xFF\x1b[2Jname";
    const Exposition ex = parse(to_prometheus(s));
    for (const auto& e : ex.errors) FAIL_CHECK(e);
    REQUIRE(!ex.samples.empty());
    for (const Sample& sample : ex.samples) CHECK(sample.labels.at("pool") == "bad" + fffd + fffd + "[2Jname");
}

TEST_CASE("histogram buckets are cumulative, bounded by +Inf, and follow the documented bounds")
{
    Fixture f;
    const PoolStats s = eventful_stats(f, "orders");
    for (const Distribution* d : {&s.acquire_wait, &s.hold_time, &s.create_time}) {
        for (std::size_t i = 1; i < d->buckets.size(); ++i) CHECK(d->buckets[i - 1] <= d->buckets[i]);
        CHECK(d->buckets.back() <= d->count);
    }
    // Holds: a 18 s and b 16 s (leaks), c and the second a about 0 s.
    REQUIRE(s.hold_time.count == 4);
    const auto at = [&](std::chrono::nanoseconds bound) {
        const auto i = std::find(histogram_bounds.begin(), histogram_bounds.end(), bound) - histogram_bounds.begin();
        REQUIRE(static_cast<std::size_t>(i) < histogram_bounds.size());
        return s.hold_time.buckets[static_cast<std::size_t>(i)];
    };
    CHECK(at(10us) == 2);
    CHECK(at(10s) == 2);
    CHECK(at(30s) == 4);
    CHECK(histogram_bounds.front() == 10us);
    CHECK(histogram_bounds.back() == 30s);
}

TEST_CASE("two pools concatenate into one valid exposition")
{
    Fixture f1, f2;
    const std::vector<PoolStats> pools{eventful_stats(f1, "orders"), eventful_stats(f2, "sessions")};
    const std::string text = to_prometheus(std::span<const PoolStats>(pools));
    const Exposition ex = parse(text);
    for (const auto& e : ex.errors) FAIL_CHECK(e);

    Expected both = expected_samples(pools[0]);
    both.merge(expected_samples(pools[1]));
    check_samples(ex, both);

    // One HELP and one TYPE per family, whatever the number of pools.
    const Exposition one = parse(to_prometheus(pools[0]));
    CHECK(ex.types == one.types);
    CHECK(ex.samples.size() == one.samples.size() * 2);

    // Pasting two single-pool texts together would repeat TYPE lines: the
    // parser (and Prometheus) reject that, which is why the span overload exists.
    CHECK_FALSE(parse(to_prometheus(pools[0]) + to_prometheus(pools[1])).errors.empty());
}

TEST_CASE("two site entries with the same text become one series")
{
    PoolStats s;
    s.name = "p";
    SiteStats a;
    a.site = "x.cpp:1";
    a.acquired = 2;
    a.holding = 1;
    a.hold = Distribution{.count = 1, .p50 = 1ms, .p99 = 1ms, .max = 1ms, .sum = 1ms};
    SiteStats b = a;
    b.acquired = 3;
    b.hold = Distribution{.count = 2, .p50 = 4ms, .p99 = 4ms, .max = 4ms, .sum = 8ms};
    s.sites = {a, b};
    const Exposition ex = parse(to_prometheus(s));
    for (const auto& e : ex.errors) FAIL_CHECK(e);
    PoolStats merged = s;
    SiteStats m = a;
    m.acquired = 5;
    m.holding = 2;
    m.hold = Distribution{.count = 3, .p50 = 4ms, .p99 = 4ms, .max = 4ms, .sum = 9ms};
    merged.sites = {m};
    check_samples(ex, expected_samples(merged));
}
