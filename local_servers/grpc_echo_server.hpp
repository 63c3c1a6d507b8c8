// grpc_echo_server.hpp — an in-process gRPC server for tests, examples and benchmarks.
//
// Serves the `respool.test.Echo` service (echo.proto) and the standard
// grpc.health.v1.Health service on 127.0.0.1, plaintext or TLS. Tests can
// switch health to NOT_SERVING, cap concurrent streams per connection, shut
// the server down and start it again on the same port, and count the distinct
// client connections (peers) that called Say — the proof that pooled channels
// are separate connections.
//
// Thread-safety: every member may be called from any thread.
// Lifetime: the constructor starts the server; the destructor shuts it down
// (in-flight calls are cancelled; a sleeping Say returns at once).
//
//   respool::test::GrpcEchoServer server;                       // plaintext, free port
//   respool::test::GrpcEchoServer tls{{.cert_file = pki.server_cert, .key_file = pki.server_key}};
//   server.set_serving(false);                                  // Health/Check: NOT_SERVING
//   server.shutdown();  /* outage */  server.start();           // same port again
//   CHECK(server.stats().distinct_peers == 4);
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace respool::test {

struct GrpcEchoServerOptions {
    /// The port to listen on; 0: a free one, kept for later restarts.
    std::uint16_t port = 0;
    /// TLS: PEM files of the server certificate and key (set both), else plaintext.
    std::string cert_file{};
    std::string key_file{};
    /// Non-empty: require client certificates signed by this CA (PEM file).
    std::string client_ca_file{};
    /// GRPC_ARG_MAX_CONCURRENT_STREAMS per connection; 0: grpc's default (no limit).
    int max_concurrent_streams = 0;
    /// Accept client keepalive pings as often as every 100 ms, even without calls
    /// (grpc servers answer pings more often than every 5 min with GOAWAY).
    bool permit_keepalive = true;
};

/// Counters of what the server saw since construction or `reset_counters()`.
struct GrpcEchoStats {
    std::uint64_t calls = 0;       ///< Say calls started
    int in_flight = 0;             ///< Say calls running now
    int max_in_flight = 0;         ///< the most at once
    std::size_t distinct_peers = 0; ///< distinct client connections that called Say
};

class GrpcEchoServer {
public:
    /// Starts at once; throws std::runtime_error when the port cannot be bound.
    explicit GrpcEchoServer(GrpcEchoServerOptions options = {});
    ~GrpcEchoServer();
    GrpcEchoServer(const GrpcEchoServer&) = delete;
    GrpcEchoServer& operator=(const GrpcEchoServer&) = delete;

    /// Starts again on the same port (after `shutdown`); does nothing if running.
    void start();
    /// Stops listening, cancels calls in flight and closes every connection.
    /// Returns when the server is down; clients then see connections refused.
    void shutdown();
    /// shutdown() then start().
    void restart();
    bool running() const;

    std::uint16_t port() const noexcept;
    /// "127.0.0.1:<port>", a grpc target.
    std::string address() const;

    /// What Health/Check answers for the whole server ("") and for the Echo
    /// service; kept across restarts.
    void set_serving(bool serving);

    GrpcEchoStats stats() const;
    /// The distinct peers ("ipv4:127.0.0.1:54321") seen, sorted.
    std::vector<std::string> peers() const;
    void reset_counters();

    /// The Echo service's full name, for health checks of that service.
    static const char* service_name() noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace respool::test
