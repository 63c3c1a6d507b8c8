// prometheus_server.hpp — a real Prometheus server for tests (internal).
//
// `PrometheusServer` writes a config into a fresh temporary directory that
// scrapes the given loopback targets every `scrape_interval`, starts the
// `prometheus` binary (Debian's package) on a free loopback port with its
// storage in that directory, waits until it answers /-/ready, and stops it
// (SIGTERM, then SIGKILL) and removes the directory when destroyed. The
// server dies with the test process (PR_SET_PDEATHSIG) if that ends first.
// `query` runs an instant PromQL query through the HTTP API.
//
// Thread-safety: one object, used from one thread. Usage:
//
//   respool::test::PrometheusServer prom({"127.0.0.1:9464"});   // ~1-3 s
//   prom.wait_for_scrape(30s);                                // target up
//   auto r = prom.query("db_client_connection_count");        // JSON text
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace respool::test {

class TempDir;

/// One sample of an instant query's result vector.
struct PromSample {
    std::string labels;  ///< the "metric" object as JSON text, e.g. {"__name__":"up",...}
    double value = 0;
};

/// A Prometheus server scraping loopback targets, for the length of a test.
class PrometheusServer {
public:
    /// Starts the server; throws std::runtime_error with its log if it does
    /// not become ready within `start_timeout`.
    explicit PrometheusServer(std::vector<std::string> targets,
                              std::chrono::milliseconds scrape_interval = std::chrono::milliseconds(500),
                              std::chrono::milliseconds start_timeout = std::chrono::seconds(60));
    /// Stops the server and removes its directory; never throws.
    ~PrometheusServer();
    PrometheusServer(const PrometheusServer&) = delete;
    PrometheusServer& operator=(const PrometheusServer&) = delete;

    std::uint16_t port() const noexcept { return port_; }

    /// The raw JSON answer of /api/v1/query for `promql`; throws std::runtime_error on HTTP errors.
    std::string query_json(const std::string& promql) const;
    /// The samples of an instant query (a vector result); empty when none.
    std::vector<PromSample> query(const std::string& promql) const;
    /// Waits until every target has been scraped successfully (`up == 1`)
    /// at least once; false on timeout.
    bool wait_for_scrape(std::chrono::milliseconds timeout) const;
    /// The server's log so far (stdout and stderr), for failure messages.
    std::string log() const;

private:
    std::unique_ptr<TempDir> dir_;
    std::vector<std::string> targets_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

/// GET http://127.0.0.1:<port><path> (HTTP/1.0); returns the status code and
/// fills `body`. Throws std::system_error when no connection can be made.
int http_get(std::uint16_t port, const std::string& path, std::string& body,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// `text` percent-encoded for a URL query string.
std::string url_encode(const std::string& text);

} // namespace respool::test
