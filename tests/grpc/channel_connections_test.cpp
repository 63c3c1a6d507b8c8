// TESTPLAN G5, counted on the server's side: while creations fail (the
// server is down, or connections stall with TCP up and HTTP/2 never, so
// channels are not READY by their deadline) and the server comes back, the
// server never holds more connections from one pool than its max_size, and
// none survives close() and ~Pool.
//
// The count is exact, not a sample: every connection goes through a
// CountingProxy, which counts the connections still open at each accept
// (counting_proxy.hpp says why reading /proc/net/tcp is not enough).
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <respool/grpc.hpp>
#include <respool/pool.hpp>

#include "counting_proxy.hpp"
#include "grpc_test_util.hpp"
#include "local_servers/grpc_echo_server.hpp"

using namespace std::chrono_literals;
using GrpcAdapter = respool::grpc::Adapter;
using respool::test::CountingProxy;
using respool::test::GrpcEchoServer;
using respool::test::insecure_options;
using respool::test::say;
using respool::test::wait_for;
using ChannelPool = respool::Pool<GrpcAdapter>;

namespace {
// Threads that acquire, call and give back in a loop; failures are expected.
class Load {
public:
    Load(ChannelPool& pool, int threads)
    {
        for (int i = 0; i < threads; ++i) {
            threads_.emplace_back([&pool, this](std::stop_token st) {
                while (!st.stop_requested()) {
                    try {
                        auto lease = pool.acquire(respool::AcquireOptions{.timeout = 400ms});
                        if (say(lease->channel(), "g5", 300ms).status.ok()) ++ok_;
                    } catch (const respool::Error&) {
                        ++failed_;
                    }
                    std::this_thread::sleep_for(2ms);
                }
            });
        }
    }
    void stop() { threads_.clear(); }
    int ok() const { return ok_.load(); }
    int failed() const { return failed_.load(); }

private:
    std::atomic<int> ok_{0}, failed_{0};
    std::vector<std::jthread> threads_;
};

} // namespace

namespace {

respool::PoolOptions failing_pool_options()
{
    respool::PoolOptions po;
    po.max_size = 2;
    po.create_timeout = 300ms;           // shorter than the outage: creations fail (not READY)
    po.create_backoff_initial = 10ms;
    po.create_backoff_max = 50ms;
    po.circuit_breaker_threshold = 1000; // keep creating: the failures are what we test
    return po;
}

} // namespace

TEST_CASE("G5: never more connections than max_size, none after close and ~Pool, while creations fail")
{
    GrpcEchoServer server;
    CountingProxy proxy(server.port());
    auto o = insecure_options();
    o.max_calls_per_channel = 4;
    {
        ChannelPool pool{respool::test::adapter_for(std::string(proxy.address()), o), failing_pool_options()};
        Load load(pool, 8);
        CHECK(wait_for([&] { return load.ok() > 20; }, 5s));

        // The server is down: connections are reset, new ones closed at once.
        proxy.set_mode(CountingProxy::Mode::refuse);
        proxy.reset_all();
        const int failed_before = load.failed();
        // Several creations time out while the server is down.
        CHECK(wait_for([&] { return load.failed() > failed_before + 10 && pool.stats().create_failures >= 3; },
                       10s));
        proxy.set_mode(CountingProxy::Mode::forward);
        const int ok_before = load.ok();
        CHECK(wait_for([&] { return load.ok() > ok_before + 20; }, 10s));
        std::this_thread::sleep_for(1500ms);  // channels given up during the outage would connect by now
        load.stop();
        INFO("create failures: " << pool.stats().create_failures << ", proxy accepted " << proxy.accepted());
        CHECK(pool.stats().create_failures >= 3);
        CHECK(proxy.max_open() <= 2);
        pool.close();
        CHECK(wait_for([&] { return proxy.open() == 0; }, 2s));
    }
    // ~Pool, and later: nothing comes back (a given-up channel reconnecting).
    const auto accepted = proxy.accepted();
    std::this_thread::sleep_for(1500ms);
    CHECK(proxy.open() == 0);
    CHECK(proxy.accepted() == accepted);
    CHECK(proxy.max_open() <= 2);
}

TEST_CASE("G5: creations that stall mid-connection (TCP up, HTTP/2 never) leave no connection behind")
{
    // Every connection made while the proxy stalls is accepted and never
    // answered: each channel is CONNECTING, with an established socket,
    // when its create gives up at create_timeout. That socket must be
    // closed before the pool reuses the place.
    GrpcEchoServer server;
    CountingProxy proxy(server.port());
    auto o = insecure_options();
    o.max_calls_per_channel = 4;
    const respool::PoolOptions po = failing_pool_options();
    {
        ChannelPool pool{respool::test::adapter_for(std::string(proxy.address()), o), po};
        Load load(pool, 8);
        CHECK(wait_for([&] { return load.ok() > 20; }, 5s));
        proxy.set_mode(CountingProxy::Mode::stall);
        proxy.reset_all();  // the pool's channels lose their connections; new ones stall
        const auto accepted_before = proxy.accepted();
        // Certain: at least 12 stalled connections (six for each place) and
        // as many failed creations.
        CHECK(wait_for([&] { return pool.stats().create_failures >= 12 && proxy.accepted() >= accepted_before + 12; },
                       20s));
        INFO("proxy accepted " << proxy.accepted() - accepted_before << " while stalling, open " << proxy.open()
                               << ", create failures " << pool.stats().create_failures);
        CHECK(proxy.accepted() >= accepted_before + 12);
        CHECK(proxy.max_open() <= 2);
        proxy.set_mode(CountingProxy::Mode::forward);
        const int ok_before = load.ok();
        CHECK(wait_for([&] { return load.ok() > ok_before + 20; }, 10s));
        std::this_thread::sleep_for(1s);
        load.stop();
        CHECK(proxy.max_open() <= 2);
        pool.close();
        CHECK(wait_for([&] { return proxy.open() == 0; }, 2s));
    }
    const auto accepted = proxy.accepted();
    std::this_thread::sleep_for(1s);
    CHECK(proxy.open() == 0);
    CHECK(proxy.accepted() == accepted);
    CHECK(proxy.max_open() <= 2);
}
