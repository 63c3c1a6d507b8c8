// Faults between the pool and a real gRPC server: the server restarted after
// an outage (TESTPLAN G1 and the restart under load), a stalled
// connection found by keepalive (G2), and channels in TRANSIENT_FAILURE (G3).
//
// The outage is 30 s; here it is 4 s (7 s in G1). Our reconnect
// back-off saturates at its 1 s maximum after about 2.5 s of failures
// (100 ms × 1.6^n), G1 checks the attempt rate once it has, and the second
// restart variant makes the outage outlast create_timeout (as 30 s outlasts
// the default 10 s), so a longer outage would exercise nothing more.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <respool/grpc.hpp>
#include <respool/pool.hpp>

#include "grpc_test_util.hpp"
#include "support/fault_proxy.hpp"
#include "local_servers/grpc_echo_server.hpp"

using namespace std::chrono_literals;
using GrpcAdapter = respool::grpc::Adapter;
using GrpcOptions = respool::grpc::Options;
using respool::test::GrpcEchoServer;
using respool::test::insecure_options;
using respool::test::say;
using respool::test::Stopwatch;
using respool::test::within;
using ChannelPool = respool::Pool<GrpcAdapter>;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

constexpr auto acquire_timeout = 300ms;
constexpr auto call_timeout = 300ms;

// Worker threads that acquire and call in a loop, classifying every outcome
// and checking that none takes longer than its deadline.
class Load {
public:
    Load(ChannelPool& pool, int threads) : pool_(pool)
    {
        for (int i = 0; i < threads; ++i) threads_.emplace_back([this](std::stop_token st) { run(st); });
    }
    void stop() { threads_.clear(); }

    // The first success at or after `t`, if any yet.
    std::optional<SteadyTime> first_success_after(SteadyTime t) const
    {
        std::lock_guard lock{mutex_};
        for (SteadyTime s : successes_) if (s >= t) return s;
        return std::nullopt;
    }
    std::size_t successes() const { std::lock_guard lock{mutex_}; return successes_.size(); }
    std::size_t typed_failures() const { return typed_failures_; }
    std::vector<std::string> problems() const { std::lock_guard lock{mutex_}; return problems_; }

private:
    void run(std::stop_token st)
    {
        while (!st.stop_requested()) {
            one_round();
            std::this_thread::sleep_for(5ms);
        }
    }

    void one_round()
    {
        Stopwatch acquire_watch;
        try {
            auto lease = pool_.acquire(respool::AcquireOptions{.timeout = acquire_timeout});
            check_bound("acquire", acquire_watch.elapsed(), acquire_timeout);
            Stopwatch call_watch;
            const auto result = say(lease->channel(), "load", call_timeout);
            check_bound("call", call_watch.elapsed(), call_timeout);
            if (result.status.ok()) {
                std::lock_guard lock{mutex_};
                successes_.push_back(std::chrono::steady_clock::now());
            } else if (result.status.error_code() == ::grpc::StatusCode::UNAVAILABLE ||
                       result.status.error_code() == ::grpc::StatusCode::DEADLINE_EXCEEDED ||
                       result.status.error_code() == ::grpc::StatusCode::CANCELLED) {
                // CANCELLED: in flight while the server shut down (it cancels its calls).
                ++typed_failures_;
            } else {
                problem("unexpected grpc status: " + result.status.error_message());
            }
        } catch (const respool::Error& e) {
            // AcquireTimeout, CreateFailed, CircuitOpen: typed, and on time.
            check_bound("failed acquire", acquire_watch.elapsed(), acquire_timeout);
            ++typed_failures_;
        } catch (const std::exception& e) {
            problem(std::string("untyped error: ") + e.what());
        }
    }

    void check_bound(const char* what, std::chrono::milliseconds took, std::chrono::milliseconds bound)
    {
        if (!within(took, 0ms, bound)) {
            problem(std::string(what) + " took " + std::to_string(took.count()) + " ms, bound " +
                    std::to_string(bound.count()) + " ms");
        }
    }

    void problem(std::string text)
    {
        std::lock_guard lock{mutex_};
        problems_.push_back(std::move(text));
    }

    ChannelPool& pool_;
    mutable std::mutex mutex_;
    std::vector<SteadyTime> successes_;     // guarded by mutex_
    std::vector<std::string> problems_;     // guarded by mutex_
    std::atomic<std::size_t> typed_failures_{0};
    std::vector<std::jthread> threads_;     // last: stopped first
};

} // namespace

TEST_CASE("G1: a channel is READY within about 1 s of its server's restart, with the defaults")
{
    // Through the proxy, which accepts each connection attempt and closes it
    // while the server is down, so that the attempts can be counted.
    GrpcEchoServer server;
    respool::test::FaultProxy proxy{"127.0.0.1", server.port()};
    GrpcOptions o = insecure_options();
    if (const char* env = std::getenv("RESPOOL_TEST_GRPC_DEFAULT_BACKOFF"); env && *env == '1') {
        // grpc's own back-off, to see this test fail without our defaults.
        o.extra_args[GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS] = 1000;
        o.extra_args[GRPC_ARG_MAX_RECONNECT_BACKOFF_MS] = 120000;
        o.extra_args[GRPC_ARG_MIN_RECONNECT_BACKOFF_MS] = 20000;
    }
    GrpcAdapter adapter = respool::test::adapter_for("127.0.0.1:" + std::to_string(proxy.port()), o);
    auto channel = adapter.create(respool::deadline_after(2s));

    server.shutdown();
    // A call makes the channel reconnect; failing, grpc retries with back-off.
    CHECK_FALSE(say(channel.channel(), "x", 500ms).status.ok());
    // A call that met the connection before the channel noticed it was gone
    // only sends the channel IDLE, and an IDLE channel makes no attempts: ask
    // it to connect until it is in its retry loop (a request while connecting
    // or backing off changes nothing, so this adds no attempts of its own).
    for (const auto until = std::chrono::steady_clock::now() + 3s; std::chrono::steady_clock::now() < until;) {
        channel.channel()->GetState(true);
        std::this_thread::sleep_for(100ms);
    }
    // By now the back-off is at its 1 s maximum: at least 3 attempts in 4 s
    // (with grpc's defaults at most 1: attempts are then 20 s or more apart).
    const std::size_t before = proxy.accepted();
    std::this_thread::sleep_for(4s);
    const std::size_t attempts = proxy.accepted() - before;
    CHECK_MESSAGE(attempts >= 3, attempts, " connection attempts in the 4 s window");

    server.start();
    Stopwatch since_restart;
    REQUIRE(respool::test::wait_for([&] { return channel.state() == GRPC_CHANNEL_READY; }, 5s));
    // 1 s maximum back-off plus its 20 % jitter.
    const auto ready = since_restart.elapsed();
    CHECK_MESSAGE(within(ready, 0ms, 1200ms), "READY ", ready.count(), " ms after the restart");
    MESSAGE(attempts, " reconnect attempts in 4 s of outage; READY ", ready.count(),
            " ms after the restart");
}

TEST_CASE("outage: server down 4 s, restarted on the same port, under load")
{
    GrpcEchoServer server;
    GrpcOptions co = insecure_options();
    co.max_calls_per_channel = 4;
    respool::PoolOptions po;
    po.max_size = 4;
    po.max_concurrent_creates = 2;

    SUBCASE("the outage is shorter than create_timeout") { po.create_timeout = 10s; }
    SUBCASE("the outage outlasts create_timeout: creations fail meanwhile") { po.create_timeout = 1s; }

    ChannelPool pool{respool::test::adapter_for(server.address(), co), po};
    Load load{pool, 8};
    std::this_thread::sleep_for(1s);
    REQUIRE(load.successes() > 0);

    server.shutdown();
    std::this_thread::sleep_for(4s);
    const std::size_t failures_during_outage = load.typed_failures();
    server.start();
    const SteadyTime restart = std::chrono::steady_clock::now();
    REQUIRE(respool::test::wait_for([&] { return load.first_success_after(restart).has_value(); }, 5s));
    const auto recovery = std::chrono::duration_cast<std::chrono::milliseconds>(
        *load.first_success_after(restart) - restart);
    CHECK_MESSAGE(recovery <= 2s, "serving again ", recovery.count(), " ms after the restart");
    std::this_thread::sleep_for(500ms);
    load.stop();

    CHECK(failures_during_outage > 0);
    for (const auto& p : load.problems()) FAIL_CHECK(p);
    const respool::PoolStats s = pool.stats();
    CHECK(s.leases == 0);
    CHECK(s.total <= po.max_size);
    MESSAGE("recovered in ", recovery.count(), " ms; typed failures during the outage: ",
            failures_during_outage, "; channels created: ", s.created);
}

TEST_CASE("G2: a stalled connection: keepalive notices, calls fail by deadline, the pool recovers")
{
    GrpcEchoServer server;
    respool::test::FaultProxy proxy{"127.0.0.1", server.port()};
    GrpcOptions co = insecure_options();
    co.keepalive_time = 1s;
    co.keepalive_timeout = 1s;
    co.keepalive_permit_without_calls = true;
    respool::PoolOptions po;
    po.max_size = 2;
    ChannelPool pool{respool::test::adapter_for("127.0.0.1:" + std::to_string(proxy.port()), co), po};

    std::shared_ptr<::grpc::Channel> stalled;
    {
        auto lease = pool.acquire(respool::AcquireOptions{.timeout = 3s});
        REQUIRE(say(lease->channel(), "before").status.ok());
        stalled = lease->channel();
    }

    proxy.blackhole();
    Stopwatch since_stall;
    {
        auto lease = pool.acquire(respool::AcquireOptions{.timeout = 1s});
        Stopwatch call;
        const auto result = say(lease->channel(), "stalled", 500ms);
        CHECK(result.status.error_code() == ::grpc::StatusCode::DEADLINE_EXCEEDED);
        CHECK(within(call.elapsed(), 500ms, 500ms));
    }
    // Ping after 1 s of silence, give up 1 s later: out of READY by 2 s, plus
    // grpc's timer slack (up to ~100 ms seen) on a loaded machine.
    REQUIRE(respool::test::wait_for([&] { return stalled->GetState(false) != GRPC_CHANNEL_READY; }, 5s));
    const auto noticed = since_stall.elapsed();
    CHECK_MESSAGE(within(noticed, 1s, 2350ms), "left READY ", noticed.count(), " ms into the stall");

    // Meanwhile every acquire or call still ends on time, with a typed error.
    for (int i = 0; i < 3; ++i) {
        Stopwatch watch;
        try {
            auto lease = pool.acquire(respool::AcquireOptions{.timeout = 300ms});
            CHECK_FALSE(say(lease->channel(), "stalled", 300ms).status.ok());
        } catch (const respool::Error&) {
        }
        CHECK(within(watch.elapsed(), 0ms, 600ms));
    }

    proxy.pass();
    Stopwatch since_pass;
    bool served = false;
    while (!served && since_pass.elapsed() < 6s) {
        try {
            auto lease = pool.acquire(respool::AcquireOptions{.timeout = 500ms});
            served = say(lease->channel(), "after", 500ms).status.ok();
        } catch (const respool::Error&) {
        }
    }
    REQUIRE(served);
    // At worst one attempt stalled to its end (1 s) plus one back-off (1.2 s).
    const auto recovered = since_pass.elapsed();
    CHECK_MESSAGE(within(recovered, 0ms, 2200ms), "serving again ", recovered.count(),
                  " ms after the stall ended");
    CHECK(pool.stats().leases == 0);
    MESSAGE("keepalive noticed the stall after ", noticed.count(), " ms; served again ",
            recovered.count(), " ms after it ended");
}

TEST_CASE("G3: a channel in TRANSIENT_FAILURE is not handed out as healthy")
{
    GrpcEchoServer server;
    GrpcOptions co = insecure_options();
    respool::PoolOptions po;
    po.max_size = 1;
    po.validate_after_idle = 60s;  // leave the judgement to is_broken
    std::uint64_t first_id = 0;

    auto fail_the_channel = [&](ChannelPool& pool) {
        auto lease = pool.acquire(respool::AcquireOptions{.timeout = 3s});
        first_id = lease->id();
        server.shutdown();
        CHECK(say(lease->channel(), "x", 500ms).status.error_code() == ::grpc::StatusCode::UNAVAILABLE);
        REQUIRE(respool::test::wait_for(
            [&] { return lease->state() == GRPC_CHANNEL_TRANSIENT_FAILURE; }, 2s));
    };

    SUBCASE("default grace 0: destroyed when given back, never lent again")
    {
        ChannelPool pool{respool::test::adapter_for(server.address(), co), po};
        fail_the_channel(pool);
        CHECK(pool.stats().destroyed[respool::DestroyReason::broken] == 1);
        CHECK_THROWS_AS(pool.acquire(respool::AcquireOptions{.timeout = 300ms}), respool::Error);

        server.start();
        auto lease = pool.acquire(respool::AcquireOptions{.timeout = 3s});
        CHECK(lease->id() != first_id);
        CHECK(lease->state() == GRPC_CHANNEL_READY);
    }
    SUBCASE("grace 800 ms: kept while grpc retries, replaced once the grace is over")
    {
        co.transient_failure_grace = 800ms;
        ChannelPool pool{respool::test::adapter_for(server.address(), co), po};
        fail_the_channel(pool);
        CHECK(pool.stats().destroyed.total() == 0);
        {
            auto lease = pool.try_acquire();
            REQUIRE(lease.has_value());
            CHECK((*lease)->id() == first_id);
        }
        std::this_thread::sleep_for(900ms);
        CHECK_THROWS_AS(pool.acquire(respool::AcquireOptions{.timeout = 300ms}), respool::Error);
        CHECK(pool.stats().destroyed[respool::DestroyReason::broken] == 1);

        server.start();
        auto lease = pool.acquire(respool::AcquireOptions{.timeout = 3s});
        CHECK(lease->id() != first_id);
    }
}
