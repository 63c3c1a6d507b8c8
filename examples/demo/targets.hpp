// demo/targets.hpp — making the three targets.
//
// Each factory starts its server on loopback (or, for PostgreSQL with a DSN,
// checks the given one) and a pool in front of it. When the server cannot
// start — its programs are missing, its port is in use — the factory throws
// `StartError` with a message a newcomer can act on, never a bare exception.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "cli.hpp"
#include "target.hpp"

namespace demo {

/// A server could not start; `what()` says why and what to do.
class StartError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A throwaway PostgreSQL cluster (or `config.dsn`) and a pool of libpq connections.
std::unique_ptr<Target> make_pg_target(const DemoConfig& config, std::shared_ptr<respool::EventListener> listener);
/// An in-process gRPC echo server and a pool of channels, two calls per channel.
std::unique_ptr<Target> make_grpc_target(const DemoConfig& config, std::shared_ptr<respool::EventListener> listener);
/// A TLS echo server with a throwaway CA and a pool of verified TLS connections.
std::unique_ptr<Target> make_tcp_target(const DemoConfig& config, std::shared_ptr<respool::EventListener> listener);

/// The target of `kind`.
std::unique_ptr<Target> make_target(PoolKind kind, const DemoConfig& config,
                                    std::shared_ptr<respool::EventListener> listener);

/// True when nothing can bind 127.0.0.1:`port` now because something holds it.
bool port_in_use(std::uint16_t port);

} // namespace demo
