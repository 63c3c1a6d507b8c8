// A pool of gRPC channels shared by many threads: each call takes a lease (a
// call slot), makes a stub from it and calls Echo/Say; the pool opens another
// channel (another connection) only when every channel carries its cap.
//
//   build/examples/grpc_echo_client                        # starts its own server
//   build/examples/grpc_echo_client 127.0.0.1:50051        # yours (plaintext)
//   build/examples/grpc_echo_client 127.0.0.1:50051 32 8   # 32 threads, cap 8 calls per channel
//
// It prints how the calls spread over the channels while they run, and the
// pool's stats at the end. Stop the server meanwhile to see typed errors.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <respool/grpc.hpp>
#include <respool/pool.hpp>

#include "echo.grpc.pb.h"
#include "echo/echo_server.hpp"

using namespace std::chrono_literals;
using ChannelPool = respool::Pool<respool::grpc::Adapter>;

namespace {

std::atomic<int> ok{0}, call_errors{0}, pool_errors{0};

void one_call(ChannelPool& pool, int i)
{
    try {
        auto lease = pool.acquire(respool::AcquireOptions{.timeout = 500ms});
        auto stub = respool::grpc::make_stub<example::Echo>(lease);
        ::grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + 1s);
        example::EchoRequest request;
        request.set_message(fmt::format("call {}", i));
        request.set_sleep_ms(20);  // the server holds each call a little
        example::EchoReply reply;
        const ::grpc::Status status = stub->Say(&ctx, request, &reply);
        // No mark_broken() on UNAVAILABLE: a server may answer so while its
        // connection is fine; the pool checks the channel's state on return.
        if (status.ok()) ++ok;
        else ++call_errors;
    } catch (const respool::Error& e) {  // AcquireTimeout, CreateFailed, CircuitOpen, ...
        if (pool_errors++ == 0) std::fprintf(stderr, "pool: %s\n", e.what());
    }
}

void print_spread(const respool::PoolStats& s)
{
    std::string line = fmt::format("{} channels, {} calls in flight:", s.total, s.leases);
    for (const auto& r : s.resources) line += fmt::format(" [#{}: {}]", r.id, r.leases);
    std::puts(line.c_str());
}

} // namespace

int main(int argc, char** argv)
{
    std::unique_ptr<example::EchoServer> own_server;
    std::string target;
    if (argc > 1) {
        target = argv[1];
    } else {
        own_server = std::make_unique<example::EchoServer>();
        target = own_server->address();
    }
    const int threads = argc > 2 ? std::atoi(argv[2]) : 32;

    respool::grpc::Options copts;
    copts.target = target;
    copts.insecure = true;  // loopback; use copts.tls for anything else
    copts.max_calls_per_channel = argc > 3 ? std::atoi(argv[3]) : 8;
    // Ping after 5 min of silence: servers you do not control (grpc-go's
    // default policy) answer more frequent pings with GOAWAY; see docs/adapters/grpc.md.
    copts.keepalive_time = std::chrono::minutes(5);
    respool::PoolOptions popts;
    popts.name = "echo";
    popts.max_size = 8;  // at most 8 connections
    ChannelPool pool{respool::grpc::Adapter{copts}, popts};
    std::printf("calling %s from %d threads, %zu calls per channel at most\n", target.c_str(),
                threads, copts.max_calls_per_channel);

    std::atomic<int> running{threads};
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&pool, &running, t] {
            for (int i = 0; i < 50; ++i) one_call(pool, t * 1000 + i);
            --running;
        });
    }
    while (running > 0) {
        print_spread(pool.stats());
        std::this_thread::sleep_for(250ms);
    }
    workers.clear();

    std::printf("%d calls ok, %d failed calls, %d failed acquires\n", ok.load(), call_errors.load(),
                pool_errors.load());
    std::puts(respool::to_string(pool.stats()).c_str());
    return call_errors + pool_errors == 0 ? 0 : 1;
}
