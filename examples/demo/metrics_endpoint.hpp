// demo/metrics_endpoint.hpp — --metrics-port: the demo's pools on /metrics.
//
// Serves every target's pool through the prometheus-cpp bridge
// (<respool/prometheus_cpp.hpp>, `respool::PoolCollector`) on an HTTP
// endpoint on 127.0.0.1: respool's names on /metrics, OpenTelemetry's
// (`db_client_connection_*`) on /metrics/otel. A Prometheus server pointed at
// it sees the outage and the recovery as they happen (README, "Watching the
// demo in Prometheus"). Built only when prometheus-cpp is; otherwise
// `available()` is false and the constructor throws.
//
// Thread-safety: the exposer scrapes on its own threads; `Target::stats` is
// thread-safe. Lifetime: destroy the endpoint before the targets.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace demo {

class Target;

class MetricsEndpoint {
public:
    /// True when the demo was built with the prometheus-cpp bridge.
    static bool available() noexcept;
    /// Listens on 127.0.0.1:`port` (0: a free port); throws std::runtime_error.
    MetricsEndpoint(std::uint16_t port, const std::vector<Target*>& targets);
    ~MetricsEndpoint();
    MetricsEndpoint(const MetricsEndpoint&) = delete;
    MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

    /// "http://127.0.0.1:<port>/metrics".
    std::string url() const;
    /// The port it listens on.
    std::uint16_t port() const noexcept { return port_; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::uint16_t port_ = 0;
};

} // namespace demo
