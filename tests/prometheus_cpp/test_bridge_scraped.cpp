// The prometheus-cpp bridge end to end: a live pool served by an Exposer
// through PoolCollector (respool's names on one collector, OpenTelemetry's on
// another), scraped by a real Prometheus server (local_servers/), and read
// back through Prometheus' HTTP API: the idle and used counts and the
// wait-time histogram are what `stats()` says.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <prometheus/exposer.h>

#include <respool/pool.hpp>
#include <respool/prometheus_cpp.hpp>
#include <respool/testing.hpp>

#include "local_servers/prometheus_server.hpp"

using namespace std::chrono_literals;
using respool::test::PrometheusServer;

namespace {

// The value of the query's only sample; fails the test when there is not exactly one.
double one_value(const PrometheusServer& prom, const std::string& promql)
{
    const auto samples = prom.query(promql);
    INFO("query: ", promql, "\nanswer: ", prom.query_json(promql));
    REQUIRE(samples.size() == 1);
    return samples[0].value;
}

// le -> cumulative count, for every bucket of a histogram's series.
std::map<std::string, double> buckets(const PrometheusServer& prom, const std::string& selector)
{
    std::map<std::string, double> out;
    static const std::regex le(R"re("le":"([^"]*)")re");
    for (const auto& s : prom.query(selector)) {
        std::smatch m;
        if (std::regex_search(s.labels, m, le)) out[m[1]] = s.value;
    }
    return out;
}

std::string le_text(std::chrono::nanoseconds bound)
{
    return fmt::format("{}", static_cast<double>(bound.count()) / 1e9);
}

} // namespace

TEST_CASE("a real Prometheus scrapes a live pool through PoolCollector, under respool's and OpenTelemetry's names")
{
    auto fake = std::make_shared<respool::testing::FakeController>();
    respool::PoolOptions o;
    o.name = "orders";
    o.max_size = 3;
    o.min_idle = 1;
    o.logger = [](respool::LogLevel, std::string_view) {};
    respool::Pool pool{respool::testing::FakeAdapter{fake}, o};

    // Two leases held to the end, one resource idle, and waits of both kinds:
    // at once, and a caller that queued until a lease came back.
    auto a = pool.acquire();
    auto b = pool.acquire();
    {
        auto c = pool.acquire();
        std::thread waiter([&] { auto d = pool.acquire({.timeout = 30s}); });
        while (pool.stats().waiting == 0) std::this_thread::sleep_for(1ms);
        std::this_thread::sleep_for(30ms);
        c.release();
        waiter.join();
    }
    for (int i = 0; i < 5; ++i) (void)pool.acquire();
    const respool::PoolStats s = pool.stats();
    REQUIRE(s.idle == 1);
    REQUIRE(s.in_use == 2);
    REQUIRE(s.acquire_wait.count == 9);
    REQUIRE(s.acquire_wait.max >= 30ms);

    prometheus::Exposer exposer{"127.0.0.1:0"};
    auto ours = std::make_shared<respool::PoolCollector>();
    ours->add(pool);
    auto otel = std::make_shared<respool::PoolCollector>(
        respool::PoolCollector::Options{.names = respool::MetricNames::opentelemetry, .respool_extras = false});
    otel->add(pool);
    exposer.RegisterCollectable(ours);
    exposer.RegisterCollectable(otel);
    const int port = exposer.GetListeningPorts().at(0);

    // Started after the pool's activity ended: every scrape sees the final stats.
    PrometheusServer prom({fmt::format("127.0.0.1:{}", port)}, 500ms);
    INFO("prometheus log:\n", prom.log());
    REQUIRE_MESSAGE(prom.wait_for_scrape(60s), "the target was never scraped successfully");

    SUBCASE("respool's names")
    {
        CHECK(one_value(prom, R"(respool_resources_idle{pool="orders"})") == s.idle);
        CHECK(one_value(prom, R"(respool_resources_in_use{pool="orders"})") == s.in_use);
        CHECK(one_value(prom, R"(respool_acquired_total{pool="orders"})") == s.acquired);
        CHECK(one_value(prom, R"(respool_acquire_wait_seconds_count{pool="orders"})") == s.acquire_wait.count);
        CHECK(one_value(prom, R"(respool_acquire_wait_seconds_sum{pool="orders"})") ==
              doctest::Approx(static_cast<double>(s.acquire_wait.sum.count()) / 1e9).epsilon(1e-9));
        const auto got = buckets(prom, R"(respool_acquire_wait_seconds_bucket{pool="orders"})");
        CHECK(got.size() == respool::histogram_bounds.size() + 1);
        for (std::size_t i = 0; i < respool::histogram_bounds.size(); ++i) {
            CAPTURE(i);
            CHECK(got.at(le_text(respool::histogram_bounds[i])) == s.acquire_wait.buckets[i]);
        }
        CHECK(got.at("+Inf") == s.acquire_wait.count);
    }
    SUBCASE("OpenTelemetry's names")
    {
        const std::string pool_label = R"(db_client_connection_pool_name="orders")";
        CHECK(one_value(prom, fmt::format(R"(db_client_connection_count{{{},db_client_connection_state="idle"}})",
                                          pool_label)) == s.idle);
        CHECK(one_value(prom, fmt::format(R"(db_client_connection_count{{{},db_client_connection_state="used"}})",
                                          pool_label)) == s.in_use);
        CHECK(one_value(prom, fmt::format("db_client_connection_max{{{}}}", pool_label)) == s.max_size);
        CHECK(one_value(prom, fmt::format("db_client_connection_pending_requests{{{}}}", pool_label)) == 0);
        CHECK(one_value(prom, fmt::format("db_client_connection_timeouts_total{{{}}}", pool_label)) == 0);
        CHECK(one_value(prom, fmt::format("db_client_connection_wait_time_seconds_count{{{}}}", pool_label)) ==
              s.acquire_wait.count);
        CHECK(one_value(prom, fmt::format("db_client_connection_wait_time_seconds_sum{{{}}}", pool_label)) ==
              doctest::Approx(static_cast<double>(s.acquire_wait.sum.count()) / 1e9).epsilon(1e-9));
        const auto got = buckets(prom, fmt::format("db_client_connection_wait_time_seconds_bucket{{{}}}", pool_label));
        CHECK(got.size() == respool::histogram_bounds.size() + 1);
        for (std::size_t i = 0; i < respool::histogram_bounds.size(); ++i) {
            CAPTURE(i);
            CHECK(got.at(le_text(respool::histogram_bounds[i])) == s.acquire_wait.buckets[i]);
        }
        // Prometheus' own view of the histogram: a quantile no larger than the longest wait's bucket.
        const double p99 = one_value(
            prom, fmt::format("histogram_quantile(0.99, db_client_connection_wait_time_seconds_bucket{{{}}})", pool_label));
        CHECK(p99 > 0);
        CHECK(p99 <= 30);
        // With respool_extras = false nothing else carries the OpenTelemetry label.
        CHECK(prom.query(fmt::format(R"({{__name__=~"respool_.*",{}}})", pool_label)).empty());
    }
}
