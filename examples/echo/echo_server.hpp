// echo_server.hpp — the examples' in-process gRPC server: the Echo service
// (echo.proto) plus grpc's standard health service, plaintext on 127.0.0.1.
//
// Only grpc++ and the code generated from echo.proto; copy it along with an
// example. It can stop and start again on the same port (an outage to watch a
// pool ride out) and answer health checks with NOT_SERVING.
//
// Thread-safety: every member may be called from any thread.
// Lifetime: the constructor starts the server, the destructor stops it
// (calls in flight are cancelled; a sleeping Say returns at once).
//
//   example::EchoServer server;               // a free port
//   auto target = server.address();           // "127.0.0.1:<port>"
//   server.shutdown(); /* outage */ server.start();
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace example {

struct EchoServerOptions {
    std::uint16_t port = 0;          ///< 0: a free one, kept for later restarts
    int max_concurrent_streams = 0;  ///< per connection; 0: grpc's default (no limit)
};

class EchoServer {
public:
    /// Starts at once; throws std::runtime_error when the port cannot be bound.
    explicit EchoServer(EchoServerOptions options = {});
    ~EchoServer();
    EchoServer(const EchoServer&) = delete;
    EchoServer& operator=(const EchoServer&) = delete;

    /// Starts again on the same port after `shutdown`; does nothing if running.
    void start();
    /// Stops listening, cancels calls in flight and closes every connection.
    void shutdown();
    void restart() { shutdown(); start(); }

    std::uint16_t port() const;
    std::string address() const;  ///< "127.0.0.1:<port>", a grpc target

    /// What Health/Check answers (for "" and for example.Echo); kept across restarts.
    void set_serving(bool serving);
    /// Say calls answered so far.
    std::uint64_t calls() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace example
