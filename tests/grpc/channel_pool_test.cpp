// respool::Pool<respool::grpc::Adapter> against a real gRPC server: calls spread over
// real connections up to the cap, the pool growing when a server caps its
// streams per connection, per-channel load in the stats, and a NOT_SERVING
// server never getting a channel handed out.
#include <doctest/doctest.h>

#include <latch>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <respool/grpc.hpp>
#include <respool/pool.hpp>

#include "grpc_test_util.hpp"
#include "local_servers/grpc_echo_server.hpp"

using namespace std::chrono_literals;
using GrpcAdapter = respool::grpc::Adapter;
using GrpcOptions = respool::grpc::Options;
using respool::test::GrpcEchoServer;
using respool::test::insecure_options;
using ChannelPool = respool::Pool<GrpcAdapter>;

namespace {

struct CallOutcome {
    bool ok = false;
    std::string peer;
    std::string error;
};

// `n` threads each take a lease; once all hold one, `while_held` runs (for
// stats), then each makes one call sleeping `sleep_ms` on the server (long
// enough for every call to start before the first ends, even under ASan).
std::vector<CallOutcome> concurrent_calls(ChannelPool& pool, int n, int sleep_ms,
                                          const std::function<void()>& while_held)
{
    std::vector<CallOutcome> outcomes(n);
    std::latch leased{n};
    std::latch go{1};
    std::vector<std::jthread> threads;
    for (int i = 0; i < n; ++i) {
        threads.emplace_back([&, i] {
            try {
                auto lease = pool.acquire(respool::AcquireOptions{.timeout = 5s});
                leased.count_down();
                go.wait();
                auto stub = respool::grpc::make_stub<respool::test::Echo>(lease);
                ::grpc::ClientContext ctx;
                ctx.set_deadline(std::chrono::system_clock::now() + 10s);
                respool::test::EchoRequest request;
                request.set_sleep_ms(sleep_ms);
                respool::test::EchoReply reply;
                const auto status = stub->Say(&ctx, request, &reply);
                outcomes[i] = {status.ok(), reply.peer(), status.error_message()};
            } catch (const std::exception& e) {
                outcomes[i].error = e.what();
                leased.count_down();
            }
        });
    }
    leased.wait();
    while_held();
    go.count_down();
    threads.clear();
    return outcomes;
}

std::set<std::string> peers_of(const std::vector<CallOutcome>& outcomes)
{
    std::set<std::string> peers;
    for (const auto& o : outcomes) {
        CHECK_MESSAGE(o.ok, o.error);
        peers.insert(o.peer);
    }
    return peers;
}

void warm_up_one_channel(ChannelPool& pool)
{
    auto lease = pool.acquire(respool::AcquireOptions{.timeout = 5s});
    REQUIRE(respool::test::say(lease->channel(), "warm").status.ok());
}

} // namespace

TEST_CASE("pool: 64 concurrent calls over 4 channels with a cap of 16 calls each")
{
    GrpcEchoServer server;
    GrpcOptions co = insecure_options();
    co.max_calls_per_channel = 16;
    respool::PoolOptions po;
    po.max_size = 4;
    po.max_concurrent_creates = 4;
    ChannelPool pool{respool::test::adapter_for(server.address(), co), po};

    const auto outcomes = concurrent_calls(pool, 64, 500, [&] {
        // Every channel carries exactly its cap: the stats show calls per channel.
        const respool::PoolStats s = pool.stats();
        CHECK(s.total == 4);
        CHECK(s.leases == 64);
        REQUIRE(s.resources.size() == 4);
        for (const auto& r : s.resources) CHECK(r.leases == 16);
    });
    CHECK(peers_of(outcomes).size() == 4);
    CHECK(server.stats().distinct_peers == 4);
    CHECK(server.stats().max_in_flight == 64);

    const respool::PoolStats after = pool.stats();
    CHECK(after.leases == 0);
    CHECK(after.created == 4);
    CHECK(after.acquired == 64);
}

TEST_CASE("pool: a server capping concurrent streams at 4 gets more connections")
{
    GrpcEchoServer server{{.max_concurrent_streams = 4}};

    SUBCASE("one channel queues the calls beyond the server's limit")
    {
        // The failure the pool exists for, shown so that the check below means something.
        auto channel = ::grpc::CreateChannel(server.address(), ::grpc::InsecureChannelCredentials());
        std::vector<std::jthread> threads;
        for (int i = 0; i < 12; ++i) {
            threads.emplace_back([&] { respool::test::say(channel, "q", 10s, 200); });
        }
        threads.clear();
        CHECK(server.stats().max_in_flight == 4);
    }
    SUBCASE("the pool opens channels as calls saturate each")
    {
        GrpcOptions co = insecure_options();
        co.max_calls_per_channel = 4;
        respool::PoolOptions po;
        po.max_size = 4;
        po.max_concurrent_creates = 4;
        ChannelPool pool{respool::test::adapter_for(server.address(), co), po};
        warm_up_one_channel(pool);

        auto four = concurrent_calls(pool, 4, 50, [] {});
        CHECK(peers_of(four).size() == 1);
        CHECK(pool.stats().created == 1);

        server.reset_counters();
        auto sixteen = concurrent_calls(pool, 16, 500, [&] { CHECK(pool.stats().total == 4); });
        CHECK(peers_of(sixteen).size() == 4);
        CHECK(pool.stats().created == 4);
        CHECK(server.stats().max_in_flight == 16);
    }
}

TEST_CASE("pool: a NOT_SERVING server gets no channel handed out")
{
    GrpcEchoServer server;
    respool::PoolOptions po;
    po.max_size = 2;
    po.validate_after_idle = 0ms;  // validate on every borrow
    ChannelPool pool{respool::test::adapter_for(server.address(), insecure_options()), po};
    warm_up_one_channel(pool);

    server.set_serving(false);
    respool::test::Stopwatch watch;
    try {
        auto lease = pool.acquire(respool::AcquireOptions{.timeout = 2s});
        FAIL("a channel was handed out although the server is NOT_SERVING");
    } catch (const respool::CreateFailed& e) {
        // The idle channel failed validation; its replacement failed the health check.
        CHECK_MESSAGE(std::string(e.what()).find("NOT_SERVING") != std::string::npos, e.what());
        // Unhealthy is transient: retried until the breaker opens or the deadline passes.
        CHECK(watch.elapsed() < 2s + 500ms);
    } catch (const respool::AcquireTimeout& e) {
        CHECK_MESSAGE(std::string(e.what()).find("NOT_SERVING") != std::string::npos, e.what());
    }
    const respool::PoolStats s = pool.stats();
    CHECK(s.validation_failures >= 1);
    CHECK(s.destroyed[respool::DestroyReason::validation] >= 1);
    CHECK(s.leases == 0);

    server.set_serving(true);
    // Retried all along, the failures may have opened the breaker: it fails
    // acquires fast until its open time (1 s) has passed, then probes.
    for (int i = 0; i < 40 && pool.stats().circuit == respool::CircuitState::open; ++i)
        std::this_thread::sleep_for(50ms);
    auto lease = pool.acquire(respool::AcquireOptions{.timeout = 5s});
    CHECK(respool::test::say(lease->channel(), "back").status.ok());
}

TEST_CASE("pool: a refused port is transient: retried until the caller's deadline, then CreateFailed with the cause")
{
    GrpcEchoServer server;
    const std::string address = server.address();
    server.shutdown();
    respool::PoolOptions po;
    po.max_size = 2;
    po.create_timeout = 300ms;         // each attempt waits for READY this long
    po.circuit_breaker_threshold = 0;  // only the deadline ends the wait
    po.logger = [](respool::LogLevel, std::string_view) {};
    ChannelPool pool{respool::test::adapter_for(address, insecure_options()), po};
    respool::test::Stopwatch watch;
    try {
        auto lease = pool.acquire(respool::AcquireOptions{.timeout = 1s});
        FAIL("a channel to a refused port");
    } catch (const respool::CreateFailed& e) {
        CHECK(watch.elapsed() >= 1s);
        CHECK(watch.elapsed() < 1s + 700ms);
        const auto* cause = e.cause_as<respool::grpc::Error>();
        REQUIRE(cause != nullptr);
        CHECK(cause->kind() == respool::grpc::Error::Kind::not_ready);
    }
    CHECK(pool.stats().create_failures >= 2);
}
