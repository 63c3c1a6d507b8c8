// Real network faults (TESTPLAN N1, N2, N4-light, N6) for the TCP adapter
// with its DEFAULT options: the echo server and the pool run in a network
// namespace of this test's own (support/netns), where nft blackholes or
// resets the server's port. SKIPPED (exit 77) where the machine does not
// allow a namespace. Bounds are generous; the figures are printed.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <respool/pool.hpp>
#include <respool/tcp.hpp>

#include "local_servers/echo_server.hpp"
#include "support/netns.hpp"

using namespace std::chrono_literals;
using respool::test::EchoServer;
using respool::test::NetFault;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

respool::tcp::Options defaults_for(const EchoServer& server)
{
    respool::tcp::Options o;  // every network option at its default
    o.host = "127.0.0.1";
    o.port = server.port();
    return o;
}

respool::PoolOptions quiet(respool::PoolOptions o)
{
    o.logger = [](respool::LogLevel, std::string_view) {};
    return o;
}

/// The adapter, counting connection attempts (N4: no connect storm).
struct CountingAdapter : respool::tcp::Adapter {
    std::shared_ptr<std::atomic<int>> attempts;
    CountingAdapter(respool::tcp::Options o, std::shared_ptr<std::atomic<int>> a)
        : Adapter(std::move(o)), attempts(std::move(a))
    {
    }
    using Adapter::create;
    respool::tcp::Socket create(respool::Deadline d, std::stop_token s)
    {
        ++*attempts;
        return Adapter::create(d, std::move(s));
    }
};

/// The documented detection bound of the defaults (keepalive 4 s + 2 s
/// probes, TCP_USER_TIMEOUT 10 s), plus room for a loaded machine.
constexpr double detection_bound_s = 10.0;
constexpr double slack_s = 4.0;

} // namespace

TEST_CASE("N1: blackhole with calls in flight and no deadline: each ends with a typed error within the bound")
{
    EchoServer server;
    respool::Pool pool{respool::tcp::Adapter{defaults_for(server)}, quiet({})};
    // Two calls waiting for a reply whose request is lost (unacknowledged
    // data: TCP_USER_TIMEOUT), two reading on a silent connection (keepalive).
    constexpr int calls = 4;
    std::vector<respool::Lease<respool::tcp::Adapter>> leases;
    for (int i = 0; i < calls; ++i) {
        leases.push_back(pool.acquire({.timeout = 5s}));
        leases.back()->write_line("warm", respool::deadline_after(2s));
        REQUIRE(leases.back()->read_line(respool::deadline_after(2s)) == "warm");
    }
    NetFault fault(server.port(), NetFault::Kind::blackhole);
    const auto start = Clock::now();
    std::atomic<int> typed{0}, other{0};
    std::vector<double> took(calls);
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < calls; ++i)
            threads.emplace_back([&, i] {
                auto& s = *leases[static_cast<std::size_t>(i)];
                try {
                    if (i % 2 == 0) s.write_line("lost", respool::Deadline::max());
                    (void)s.read_line(respool::Deadline::max());  // no deadline: only the kernel can end it
                    ++other;
                } catch (const respool::tcp::Error& e) {
                    ++typed;
                    MESSAGE((std::string("call ") + std::to_string(i) + (i % 2 == 0 ? " (reply lost)" : " (silent read)") +
                            " ended after " + std::to_string(seconds_since(start)) + " s: " + e.what()));
                } catch (...) {
                    ++other;
                }
                took[static_cast<std::size_t>(i)] = seconds_since(start);
            });
    }
    CHECK(fault.packets() > 0);  // the blackhole really dropped packets
    CHECK(typed.load() == calls);
    CHECK(other.load() == 0);
    for (double t : took) CHECK(t <= detection_bound_s + slack_s);
    for (auto& l : leases) l.mark_broken();
}

TEST_CASE("N2: blackhole, callers every 2 s with 2 s deadlines: each returns by its deadline; served again soon after")
{
    EchoServer server;
    respool::PoolOptions po = quiet({});
    po.min_idle = 2;
    respool::Pool pool{respool::tcp::Adapter{defaults_for(server)}, po};
    pool.wait_ready(5s);

    std::optional<NetFault> fault;
    fault.emplace(server.port(), NetFault::Kind::blackhole);
    const auto fault_began = Clock::now();
    int late = 0, failed_during = 0;
    Clock::time_point lifted{};
    double first_success_after_lift = -1;
    for (int round = 0; round < 16 && first_success_after_lift < 0; ++round) {
        if (round == 5) {  // 10 s of blackhole, then healed
            fault->clear();
            lifted = Clock::now();
        }
        const auto t0 = Clock::now();
        const auto deadline = respool::deadline_after(2s);
        bool ok = false;
        try {
            auto lease = pool.acquire({.timeout = 2s});
            try {
                lease->write_line("ping", deadline);
                ok = lease->read_line(deadline) == "ping";
            } catch (const respool::tcp::Error&) {
                lease.mark_broken();
            }
        } catch (const respool::Error&) {
        }
        const double took = seconds_since(t0);
        if (took > 2.0 + 0.5) ++late;  // acquire + I/O share the one 2 s deadline
        if (lifted == Clock::time_point{} && ok) MESSAGE("round ", round, ": served during the blackhole?");
        if (lifted == Clock::time_point{} && !ok) ++failed_during;
        if (lifted != Clock::time_point{} && ok) first_success_after_lift = seconds_since(lifted);
        std::this_thread::sleep_until(t0 + 2s);
    }
    MESSAGE("blackhole for ", std::chrono::duration<double>(lifted - fault_began).count(), " s; ", failed_during,
            " rounds failed during it; first success ", first_success_after_lift, " s after it lifted");
    CHECK(late == 0);
    CHECK(failed_during == 5);
    CHECK(first_success_after_lift >= 0);
    CHECK(first_success_after_lift <= 6.0);  // a few seconds: the next rounds, 2 s apart
}

TEST_CASE("N4-light: every packet reset for 6 s: typed errors, back-off (no connect storm), then recovery")
{
    EchoServer server;
    auto attempts = std::make_shared<std::atomic<int>>(0);
    respool::Pool pool{CountingAdapter{defaults_for(server), attempts}, quiet({})};
    std::optional<NetFault> fault;
    fault.emplace(server.port(), NetFault::Kind::reset);
    std::atomic<bool> stop{false};
    std::atomic<int> typed{0}, untyped{0}, served{0};
    {
        std::vector<std::jthread> callers;
        for (int i = 0; i < 4; ++i)
            callers.emplace_back([&] {
                while (!stop) {
                    try {
                        auto lease = pool.acquire({.timeout = 1s});
                        ++served;
                    } catch (const respool::Error&) {
                        ++typed;  // CreateFailed (refused), CircuitOpen, AcquireTimeout
                    } catch (...) {
                        ++untyped;
                    }
                    std::this_thread::sleep_for(50ms);
                }
            });
        std::this_thread::sleep_for(6s);
        stop = true;
    }
    const int during = attempts->load();
    MESSAGE("6 s of resets: ", during, " connection attempts, ", typed.load(), " typed errors, ", served.load(),
            " served; server accepted ", server.accepted());
    CHECK(fault.has_value());
    CHECK(fault->packets() > 0);
    CHECK(untyped.load() == 0);
    CHECK(typed.load() > 0);
    CHECK(served.load() == 0);
    // Back-off from 50 ms doubling to 1 s, the breaker after 2 s probing once
    // a second, at most 2 at once: about a dozen. A storm would be thousands.
    CHECK(during <= 40);
    fault->clear();
    const auto lifted = Clock::now();
    bool ok = false;
    for (int i = 0; i < 100 && !ok; ++i) {
        try {
            auto lease = pool.acquire({.timeout = 2s});
            lease->write_line("back", respool::deadline_after(2s));
            ok = lease->read_line(respool::deadline_after(2s)) == "back";
        } catch (const respool::Error&) {
            std::this_thread::sleep_for(100ms);
        }
    }
    MESSAGE("served again ", seconds_since(lifted), " s after the resets stopped");
    CHECK(ok);
    CHECK(seconds_since(lifted) <= 5.0);
}

TEST_CASE("N6: destroying the pool during a blackhole with creations in flight returns in milliseconds")
{
    EchoServer server;
    NetFault fault(server.port(), NetFault::Kind::blackhole);
    respool::PoolOptions po = quiet({});
    po.create_timeout = 10s;
    auto pool = std::make_unique<respool::Pool<respool::tcp::Adapter>>(respool::tcp::Adapter{defaults_for(server)}, po);
    std::atomic<int> ended{0};
    std::vector<std::jthread> callers;
    for (int i = 0; i < 2; ++i)
        callers.emplace_back([&] {
            try {
                (void)pool->acquire({.timeout = 30s});
            } catch (const respool::Error&) {
            }
            ++ended;
        });
    // Both creations are in flight (SYN sent, never answered).
    for (int i = 0; i < 100 && pool->stats().creating < 2; ++i) std::this_thread::sleep_for(20ms);
    REQUIRE(pool->stats().creating == 2);
    std::this_thread::sleep_for(300ms);
    const auto t0 = Clock::now();
    pool->close();
    callers.clear();  // the waiters got PoolClosed
    pool.reset();     // and the creator threads ended
    const double took = seconds_since(t0);
    MESSAGE("close + destroy with 2 creations in flight took ", took * 1000, " ms (create_timeout 10 s)");
    CHECK(ended.load() == 2);
    CHECK(took < 1.0);
}
