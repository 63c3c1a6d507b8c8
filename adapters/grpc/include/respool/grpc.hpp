// respool/grpc.hpp — pools of gRPC channels: N real connections, calls spread
// over them, and the load of each visible in the pool's stats.
//
// Why: one `::grpc::Channel` is one HTTP/2 connection; once the server's
// MAX_CONCURRENT_STREAMS calls are in flight on it, further calls queue
// silently inside grpc. And channels built with equal arguments share one
// connection, so a vector of channels is often one connection in disguise.
// `respool::grpc::ChannelAdapter` gives every channel its own connection and
// lets `respool::Pool` lease each to at most `max_calls_per_channel` calls.
//
// Contents:
//   ChannelOptions, TlsOptions   <respool/grpc/channel_options.hpp>
//   Channel, ChannelError,
//   make_stub, state_name        <respool/grpc/channel.hpp>
//   ChannelAdapter               <respool/grpc/channel_adapter.hpp>
//
// Thread-safety and lifetime: see each header. In short: the adapter and its
// channels are thread-safe; a lease is one call slot, held while the call runs.
//
//   #include <respool/pool.hpp>
//   #include <respool/grpc.hpp>
//
//   respool::grpc::ChannelOptions copts;
//   copts.tls = respool::grpc::TlsOptions{.root_certs_pem = ca_pem};
//   respool::PoolOptions popts;
//   popts.max_size = 4;                                  // connections
//   respool::Pool<respool::grpc::ChannelAdapter> pool{
//       respool::grpc::ChannelAdapter{"api.internal:443", copts}, popts};
//
//   auto lease = pool.acquire(respool::AcquireOptions{.timeout = 200ms});
//   auto stub = respool::grpc::make_stub<api::Greeter>(lease);
//   ::grpc::ClientContext ctx;
//   auto status = stub->Hello(&ctx, request, &reply);   // lease released at scope end
#pragma once

#include <respool/grpc/channel.hpp>
#include <respool/grpc/channel_adapter.hpp>
#include <respool/grpc/channel_options.hpp>
