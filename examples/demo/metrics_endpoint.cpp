#include "metrics_endpoint.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "target.hpp"

#if RESPOOL_DEMO_METRICS
#include <prometheus/exposer.h>
#include <respool/prometheus_cpp.hpp>
#endif

namespace demo {

#if RESPOOL_DEMO_METRICS

struct MetricsEndpoint::Impl {
    prometheus::Exposer exposer;
    std::shared_ptr<respool::PoolCollector> ours = std::make_shared<respool::PoolCollector>();
    std::shared_ptr<respool::PoolCollector> otel = std::make_shared<respool::PoolCollector>(
        respool::PoolCollector::Options{.names = respool::MetricNames::opentelemetry});

    explicit Impl(std::uint16_t port) : exposer(fmt::format("127.0.0.1:{}", port)) {}
};

bool MetricsEndpoint::available() noexcept { return true; }

MetricsEndpoint::MetricsEndpoint(std::uint16_t port, const std::vector<Target*>& targets)
{
    try {
        impl_ = std::make_unique<Impl>(port);
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("cannot serve metrics on 127.0.0.1:{}: {}", port, e.what()));
    }
    for (Target* t : targets) {
        const std::string name(t->name());
        impl_->ours->add(name, [t] { return t->stats(); });
        impl_->otel->add(name, [t] { return t->stats(); });
    }
    impl_->exposer.RegisterCollectable(impl_->ours, "/metrics");
    impl_->exposer.RegisterCollectable(impl_->otel, "/metrics/otel");
    port_ = static_cast<std::uint16_t>(impl_->exposer.GetListeningPorts().at(0));
}

#else

struct MetricsEndpoint::Impl {};

bool MetricsEndpoint::available() noexcept { return false; }

MetricsEndpoint::MetricsEndpoint(std::uint16_t, const std::vector<Target*>&)
{
    throw std::runtime_error("this respool-demo was built without prometheus-cpp (install prometheus-cpp-dev "
                             "with scripts/install-deps and build again)");
}

#endif

MetricsEndpoint::~MetricsEndpoint() = default;

std::string MetricsEndpoint::url() const { return fmt::format("http://127.0.0.1:{}/metrics", port_); }

} // namespace demo
