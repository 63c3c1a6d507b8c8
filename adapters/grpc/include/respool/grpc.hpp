// respool/grpc.hpp — pools of gRPC channels: N real connections, calls spread
// over them, and the load of each visible in the pool's stats.
//
// Why: one `::grpc::Channel` is one HTTP/2 connection; once the server's
// MAX_CONCURRENT_STREAMS calls are in flight on it, further calls queue
// silently inside grpc. And channels built with equal arguments share one
// connection, so a vector of channels is often one connection in disguise.
// `respool::grpc::Adapter` gives every channel its own connection and lets
// `respool::Pool` lease each to at most `max_calls_per_channel` calls.
//
// Contents (this header also brings in <respool/pool.hpp>):
//   Options, TlsOptions          <respool/grpc/options.hpp>
//   Error, error_category        <respool/grpc/error.hpp>
//   Channel, make_stub,
//   state_name                   <respool/grpc/channel.hpp>
//   Adapter                      <respool/grpc/adapter.hpp>
// The names before 0.2 (ChannelAdapter, ChannelOptions, ChannelError) are
// deprecated aliases, removed in the next release.
//
// Thread-safety and lifetime: see each header. In short: the adapter and its
// channels are thread-safe; a lease is one call slot, held while the call runs.
//
//   #include <respool/grpc.hpp>
//
//   respool::grpc::Options o;
//   o.target = "api.internal:443";
//   o.tls = respool::grpc::TlsOptions{.root_certs_pem = ca_pem};
//   respool::PoolOptions popts;
//   popts.max_size = 4;                                  // connections
//   respool::Pool<respool::grpc::Adapter> pool{respool::grpc::Adapter{o}, popts};
//
//   auto lease = pool.acquire(respool::AcquireOptions{.timeout = 200ms});
//   auto stub = respool::grpc::make_stub<api::Greeter>(lease);
//   ::grpc::ClientContext ctx;
//   auto status = stub->Hello(&ctx, request, &reply);   // lease released at scope end
#pragma once

#include <respool/pool.hpp>

#include <respool/grpc/adapter.hpp>
#include <respool/grpc/channel.hpp>
#include <respool/grpc/error.hpp>
#include <respool/grpc/options.hpp>
