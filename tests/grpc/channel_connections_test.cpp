// TESTPLAN G5, counted on the server's side: while creations fail (the
// server is down, channels are not READY by their deadline) and the server
// comes back, the server never sees more established connections from one
// pool than its max_size, and none survives close() and ~Pool.
//
// The count is the kernel's: ESTABLISHED sockets whose local port is the
// server's, read from /proc/net/tcp and /proc/net/tcp6. Only this pool
// talks to that port, so every such socket is one of its connections.
#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <respool/grpc.hpp>
#include <respool/pool.hpp>

#include "grpc_test_util.hpp"
#include "support/fault_proxy.hpp"
#include "local_servers/grpc_echo_server.hpp"

using namespace std::chrono_literals;
using respool::grpc::ChannelAdapter;
using respool::test::GrpcEchoServer;
using respool::test::insecure_options;
using respool::test::say;
using respool::test::wait_for;
using ChannelPool = respool::Pool<ChannelAdapter>;

namespace {

// Server-side ESTABLISHED sockets on `port` (state 01; the port is the
// local address's hex suffix, e.g. "0100007F:C350").
int established_on(std::uint16_t port)
{
    int count = 0;
    for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(file);
        std::string line;
        std::getline(in, line);  // header
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local, remote, state;
            fields >> slot >> local >> remote >> state;
            const auto colon = local.rfind(':');
            if (colon == std::string::npos || state != "01") continue;
            if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) ++count;
        }
    }
    return count;
}

// Samples the count every few ms on its own thread and keeps the maximum.
class ConnectionSampler {
public:
    explicit ConnectionSampler(std::uint16_t port)
        : thread_([this, port](std::stop_token st) {
              while (!st.stop_requested()) {
                  const int n = established_on(port);
                  int seen = max_.load();
                  while (n > seen && !max_.compare_exchange_weak(seen, n)) {
                  }
                  std::this_thread::sleep_for(5ms);
              }
          })
    {
    }
    int max_seen() const { return max_.load(); }

private:
    std::atomic<int> max_{0};
    std::jthread thread_;  // last: stopped first
};

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

TEST_CASE("G5: never more connections than max_size, none after close and ~Pool, while creations fail")
{
    REQUIRE(std::ifstream("/proc/net/tcp").good());
    GrpcEchoServer server;
    const std::uint16_t port = server.port();
    ConnectionSampler sampler(port);

    auto o = insecure_options();
    o.max_calls_per_channel = 4;
    respool::PoolOptions po;
    po.max_size = 2;
    po.create_timeout = 300ms;           // shorter than the outage: creations fail (not READY)
    po.create_backoff_initial = 10ms;
    po.create_backoff_max = 50ms;
    po.circuit_breaker_threshold = 1000; // keep creating: the failures are what we test
    {
        ChannelPool pool{ChannelAdapter{server.address(), o}, po};
        Load load(pool, 8);
        CHECK(wait_for([&] { return load.ok() > 20; }, 5s));

        server.shutdown();
        const int failed_before = load.failed();
        // Several creations time out while the server is down.
        CHECK(wait_for([&] { return load.failed() > failed_before + 10 && pool.stats().create_failures >= 3; },
                       10s));
        server.start();
        const int ok_before = load.ok();
        CHECK(wait_for([&] { return load.ok() > ok_before + 20; }, 10s));
        std::this_thread::sleep_for(1500ms);  // channels given up during the outage would connect by now
        load.stop();
        INFO("create failures: " << pool.stats().create_failures);
        CHECK(pool.stats().create_failures >= 3);
        CHECK(sampler.max_seen() <= 2);
        pool.close();
        CHECK(wait_for([&] { return established_on(port) == 0; }, 2s));
    }
    // ~Pool, and later: nothing comes back (a given-up channel reconnecting).
    std::this_thread::sleep_for(1500ms);
    CHECK(established_on(port) == 0);
    CHECK(sampler.max_seen() <= 2);
}

TEST_CASE("G5: creations that stall mid-connection (TCP up, HTTP/2 never) leave no connection behind")
{
    // The server accepts TCP but never answers (a blackhole in front of it):
    // each channel is CONNECTING, with an established socket, when its
    // create gives up. That socket must close with the channel.
    GrpcEchoServer server;
    respool::test::FaultProxy proxy("127.0.0.1", server.port());
    const std::uint16_t port = proxy.port();
    ConnectionSampler sampler(port);
    auto o = insecure_options();
    o.max_calls_per_channel = 4;
    respool::PoolOptions po;
    po.max_size = 2;
    po.create_timeout = 300ms;
    po.create_backoff_initial = 10ms;
    po.create_backoff_max = 50ms;
    po.circuit_breaker_threshold = 1000;
    {
        ChannelPool pool{ChannelAdapter{"127.0.0.1:" + std::to_string(port), o}, po};
        Load load(pool, 8);
        CHECK(wait_for([&] { return load.ok() > 20; }, 5s));
        proxy.blackhole();
        proxy.reset_all();  // the pool's channels fail; new ones stall in CONNECTING
        CHECK(wait_for([&] { return pool.stats().create_failures >= 4; }, 10s));
        INFO("proxy accepted " << proxy.accepted() << ", open " << proxy.open());
        CHECK(sampler.max_seen() <= 2);
        proxy.pass();
        const int ok_before = load.ok();
        CHECK(wait_for([&] { return load.ok() > ok_before + 20; }, 10s));
        std::this_thread::sleep_for(1s);
        load.stop();
        CHECK(sampler.max_seen() <= 2);
        pool.close();
        CHECK(wait_for([&] { return established_on(port) == 0; }, 2s));
    }
    std::this_thread::sleep_for(1s);
    CHECK(established_on(port) == 0);
    CHECK(sampler.max_seen() <= 2);
}
