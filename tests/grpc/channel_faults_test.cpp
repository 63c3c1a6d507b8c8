// The gRPC adapter under faults the pool must ride out or report well
// (issue 24): closing a pool while creations hang ends them at once; a gRPC
// outage opens the pool's breaker like any other; a DNS server that never
// answers is reported as resolving, not as a dead address.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <respool/grpc.hpp>

#include "counting_proxy.hpp"
#include "grpc_test_util.hpp"
#include "local_servers/grpc_echo_server.hpp"

using namespace std::chrono_literals;
using respool::test::adapter_for;
using respool::test::CountingProxy;
using respool::test::GrpcEchoServer;
using respool::test::insecure_options;
using respool::test::Stopwatch;
using respool::test::wait_for;
using GrpcPool = respool::Pool<respool::grpc::Adapter>;

TEST_CASE("~Pool during an outage ends the creations in flight at once, not at create_timeout")
{
    // Every connection stalls (TCP up, HTTP/2 never): each create waits for
    // READY until its 10 s deadline unless the pool's stop token ends it.
    GrpcEchoServer server;
    CountingProxy proxy(server.port(), CountingProxy::Mode::stall);
    respool::PoolOptions po;
    po.max_size = 4;
    po.max_concurrent_creates = 4;
    po.create_timeout = 10s;
    auto pool = std::make_unique<GrpcPool>(adapter_for(std::string(proxy.address()), insecure_options()), po);

    std::atomic<int> closed{0}, other{0};
    std::vector<std::jthread> callers;
    for (int i = 0; i < 4; ++i) {
        callers.emplace_back([&] {
            try {
                auto lease = pool->acquire(respool::AcquireOptions{.timeout = 20s});
                ++other;
            } catch (const respool::PoolClosed&) {
                ++closed;
            } catch (...) {
                ++other;
            }
        });
    }
    // Certain: creations are in flight and their connections stall.
    REQUIRE(wait_for([&] { return pool->stats().creating >= 1 && proxy.accepted() >= 1; }, 5s));
    std::this_thread::sleep_for(200ms);  // well into the wait for READY

    Stopwatch destroying;
    pool.reset();
    const auto took = destroying.elapsed();
    MESSAGE("~Pool took " << took.count() << " ms (create_timeout 10 s)");
    CHECK(took < 1s);  // generous: it is milliseconds; create_timeout is 10 s
    callers.clear();
    CHECK(closed.load() == 4);
    CHECK(other.load() == 0);
    CHECK(wait_for([&] { return proxy.open() == 0; }, 2s));  // nothing left connected
}

TEST_CASE("a gRPC outage opens the breaker: creations fail at create_timeout and count")
{
    GrpcEchoServer server;
    CountingProxy proxy(server.port(), CountingProxy::Mode::stall);
    respool::PoolOptions po;
    po.max_size = 2;
    po.create_timeout = 200ms;
    po.create_backoff_initial = 10ms;
    po.create_backoff_max = 20ms;
    po.circuit_breaker_threshold = 3;
    GrpcPool pool{adapter_for(std::string(proxy.address()), insecure_options()), po};

    std::optional<respool::CircuitOpen> open;
    Stopwatch outage;
    while (!open && outage.elapsed() < 10s) {
        try {
            auto lease = pool.acquire(respool::AcquireOptions{.timeout = 1s});
        } catch (const respool::CircuitOpen& e) {
            open = e;
        } catch (const respool::Error&) {
        }
    }
    REQUIRE(open.has_value());
    CHECK(pool.stats().create_failures >= 3);
    const auto* cause = open->cause_as<respool::grpc::Error>();
    REQUIRE(cause != nullptr);
    CHECK(cause->kind() == respool::grpc::Error::Kind::not_ready);
    CHECK(cause->operation() == "connect");
    CHECK_FALSE(cause->fatal());

    proxy.set_mode(CountingProxy::Mode::forward);  // the server is back: the breaker's probe succeeds
    CHECK(wait_for([&] {
        try {
            auto lease = pool.acquire(respool::AcquireOptions{.timeout = 500ms});
            return respool::test::say(lease->channel(), "back").status.ok();
        } catch (const respool::Error&) {
            return false;
        }
    }, 10s));
}

TEST_CASE("a DNS server that never answers is reported as resolving, not as a dead address")
{
    // A UDP socket that reads nothing and answers nothing: grpc's c-ares
    // resolver, pointed at it by the target's authority, waits.
    const int dns = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(dns >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(dns, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(dns, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    const std::string target = "dns://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/stalled.respool.test:50051";

    auto adapter = adapter_for(target, insecure_options());
    Stopwatch waited;
    try {
        (void)adapter.create(respool::deadline_after(600ms));
        FAIL("create succeeded");
    } catch (const respool::grpc::Error& e) {
        INFO(e.what());
        CHECK(e.operation() == "resolve");
        CHECK(e.kind() == respool::grpc::Error::Kind::not_ready);
        CHECK(std::string(e.what()).find("resolving") != std::string::npos);
        CHECK(e.endpoint() == target);
    }
    CHECK(waited.elapsed() < 600ms + respool::test::timing_tolerance);
    ::close(dns);
}
