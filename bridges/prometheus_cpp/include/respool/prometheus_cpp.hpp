// respool/prometheus_cpp.hpp — pools in a prometheus-cpp exposition.
//
// `PoolCollector` is a `prometheus::Collectable`: register it once beside
// your own metrics, add each pool with one line, and every scrape reads the
// pools' `stats()` and serves them under respool's names or OpenTelemetry's
// (`MetricNames`, opentelemetry.hpp) — the same families, labels and values
// as `to_prometheus` (prometheus.hpp) writes.
//
//   prometheus::Exposer exposer{"127.0.0.1:9464"};
//   auto registry = std::make_shared<prometheus::Registry>();   // your own metrics
//   exposer.RegisterCollectable(registry);
//   auto pools = std::make_shared<respool::PoolCollector>();
//   pools->add(orders);                                          // one line per pool
//   pools->add(sessions);
//   exposer.RegisterCollectable(pools);
//
// prometheus-cpp 1.0's `Registry` holds only the families it builds itself,
// so the collector is registered with the `Exposer` (or a push `Gateway`)
// next to the registry, not inside it.
//
// Thread-safety: `add`, `remove` and `Collect` may run concurrently (the
// exposer scrapes on its own threads); `Collect` calls each pool's
// `stats()`, which takes that pool's lock briefly.
// Lifetime: the collector refers to each added pool; `remove` a pool before
// it is destroyed or moved (or destroy the exposer first).
// Library: respool-prometheus-cpp (pkg-config `respool-prometheus-cpp`,
// meson feature `prometheus_cpp`), on Debian's prometheus-cpp-dev.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <respool/opentelemetry.hpp>
#include <respool/pool.hpp>
#include <respool/stats.hpp>

namespace respool {

/// A `prometheus::Collectable` serving the stats of the pools added to it.
class PoolCollector final : public prometheus::Collectable {
public:
    /// How the families are named; the same choices as `PrometheusOptions`.
    struct Options {
        MetricNames names = MetricNames::respool;
        /// Starts every respool-named family; a valid metric name.
        std::string prefix = "respool";
        /// With `MetricNames::opentelemetry`: also the figures OpenTelemetry has no name for.
        bool respool_extras = true;
    };

    /// Throws std::invalid_argument if `options.prefix` is not a valid metric name.
    explicit PoolCollector(Options options);
    PoolCollector() : PoolCollector(Options{}) {}

    /// Serves `pool` from now on, under `pool.options().name`.
    template <class A>
    void add(const Pool<A>& pool)
    {
        add(pool.options().name, [&pool] { return pool.stats(); });
    }

    /// Serves whatever `stats` returns, under `name` (for `remove`); `stats`
    /// is called on the scraping thread.
    void add(std::string name, std::function<PoolStats()> stats);

    /// Stops serving the pool(s) added under `name`; returns how many.
    std::size_t remove(std::string_view name);

    /// Every family, each with one metric per pool (the exposer calls this).
    std::vector<prometheus::MetricFamily> Collect() const override;

    /// The families of `pools`, as `Collect` makes them.
    static std::vector<prometheus::MetricFamily> families(const std::vector<PoolStats>& pools, const Options& options);

private:
    struct Source {
        std::string name;
        std::function<PoolStats()> stats;
    };
    Options options_;
    mutable std::mutex mu_;  // guards sources_
    std::vector<Source> sources_;
};

} // namespace respool
