// Network faults between the adapter and a real server, made by the fault
// proxy: a path that stalls (blackhole) during a query, while idle and while
// connecting (P3), a connection that stops answering validation (P4), and a
// slow handshake (P6).
//
// About the bound of a stalled query: the proxy is a process on this host, so
// its kernel keeps acknowledging our packets and keepalive probes while it
// forwards nothing; TCP keepalives and TCP_USER_TIMEOUT therefore cannot see
// this stall (they do see a real partition: pg_adapter_test checks the
// socket options are set). What bounds the stall here is the adapter's
// client-side deadline (`query_timeout`, `exec_until`, `validate`).
#include <doctest/doctest.h>

#include <future>

#include <respool/pg.hpp>
#include <respool/pool.hpp>

#include "pg_test_util.hpp"
#include "support/fault_proxy.hpp"

using namespace respool::test;
using respool::deadline_after;
using respool::DestroyReason;
using respool::pg::Adapter;
using respool::pg::Connection;
using respool::pg::Error;
using respool::pg::ErrorKind;
using respool::pg::Options;

namespace {

// The proxy forwards TCP; an external server reached over a unix socket
// cannot sit behind it, so those tests use a throwaway cluster instead.
PgCluster& tcp_cluster()
{
    PgCluster& shared = shared_cluster();
    if (!shared.host().empty() && shared.host()[0] != '/') return shared;
    return owned_cluster("need the server on TCP to put the fault proxy in front of it");
}

// Options that reach the server through `proxy`. No TLS, so the handshake's
// round trips are the same on every run.
Options via(FaultProxy& proxy, const std::string& app)
{
    Options o = options_for(tcp_cluster(), app);
    o.params.emplace_back("host", "127.0.0.1");
    o.params.emplace_back("port", std::to_string(proxy.port()));
    o.params.emplace_back("sslmode", "disable");
    return o;
}

// Keeps acquiring (with short timeouts) until a query works; the time it took.
milliseconds time_to_recover(respool::Pool<Adapter>& pool, milliseconds limit)
{
    Stopwatch sw;
    while (sw.elapsed() < limit) {
        try {
            auto lease = pool.acquire(respool::AcquireOptions{.timeout = 300ms});
            if (lease->exec("SELECT 1").value<int>() == 1) return sw.elapsed();
        } catch (const std::exception&) {
            std::this_thread::sleep_for(20ms);
        }
    }
    return milliseconds::max();
}

} // namespace

TEST_CASE("P3: a path that stalls during a query: the query fails at the client-side bound")
{
    FaultProxy proxy{tcp_cluster().host(), tcp_cluster().port()};
    Options o = via(proxy, "stall-query");
    o.query_timeout = 1s;
    Adapter adapter{o};
    Connection c = adapter.create(deadline_after(10s));
    CHECK(c.exec("SELECT 1").value<int>() == 1);

    Stopwatch sw;
    auto query = std::async(std::launch::async, [&] { c.exec("SELECT pg_sleep(0.3)"); });
    std::this_thread::sleep_for(100ms);
    proxy.blackhole();  // the answer, due at 300 ms, is held by the stalled path
    try {
        query.get();
        FAIL("the query returned through a stalled path");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::timeout);
    }
    CHECK(sw.elapsed() >= 1s);
    CHECK(sw.elapsed() <= 1s + tolerance);
    CHECK(c.broken());
    CHECK(adapter.is_broken(c));
}

TEST_CASE("P3/P4: a path that stalls while the connection is idle")
{
    FaultProxy proxy{tcp_cluster().host(), tcp_cluster().port()};
    SUBCASE("validate fails within its deadline and the connection is marked")
    {
        Adapter adapter{via(proxy, "stall-validate")};
        Connection c = adapter.create(deadline_after(10s));
        CHECK(adapter.validate(c, deadline_after(2s)));
        proxy.blackhole();
        Stopwatch sw;
        CHECK_FALSE(adapter.validate(c, deadline_after(500ms)));
        CHECK(sw.elapsed() >= 500ms);
        CHECK(sw.elapsed() <= 500ms + tolerance);
        CHECK(adapter.is_broken(c));
    }
    SUBCASE("through a pool: acquire fails at its timeout; service resumes within 2 s of the path healing")
    {
        respool::PoolOptions po;
        po.max_size = 2;
        po.validate_after_idle = 0ms;
        po.validation_timeout = 500ms;
        po.create_timeout = 5s;  // longer than the acquire: the acquire's own deadline ends it
        respool::Pool pool{Adapter{via(proxy, "stall-idle-pool")}, po};
        pool.acquire()->exec("SELECT 1");
        proxy.blackhole();
        Stopwatch sw;
        CHECK_THROWS_AS(pool.acquire(respool::AcquireOptions{.timeout = 1500ms}), respool::Error);
        CHECK(sw.elapsed() >= 1500ms);
        CHECK(sw.elapsed() <= 1500ms + tolerance);
        auto s = pool.stats();
        CHECK(s.validation_failures >= 1);
        CHECK(s.destroyed[DestroyReason::validation] >= 1);
        proxy.pass();
        CHECK(time_to_recover(pool, 5s) <= 2s + tolerance);
    }
}

TEST_CASE("P3: a path that stalls while connecting")
{
    FaultProxy proxy{tcp_cluster().host(), tcp_cluster().port()};
    proxy.blackhole();
    SUBCASE("create ends at its deadline")
    {
        Adapter adapter{via(proxy, "stall-connect")};
        Stopwatch sw;
        try {
            adapter.create(deadline_after(800ms));
            FAIL("connected through a stalled path");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::timeout);
            CHECK(contains(e.what(), "waiting for the server to answer the startup message"));
        }
        CHECK(sw.elapsed() >= 800ms);
        CHECK(sw.elapsed() <= 800ms + tolerance);
    }
    SUBCASE("through a pool: acquire ends at its timeout; service resumes within 2 s")
    {
        respool::PoolOptions po;
        po.max_size = 2;
        po.create_timeout = 1s;
        respool::Pool pool{Adapter{via(proxy, "stall-connect-pool")}, po};
        Stopwatch sw;
        CHECK_THROWS_AS(pool.acquire(respool::AcquireOptions{.timeout = 1000ms}), respool::Error);
        CHECK(sw.elapsed() >= 1000ms);
        CHECK(sw.elapsed() <= 1000ms + tolerance);
        proxy.pass();
        CHECK(time_to_recover(pool, 5s) <= 2s + tolerance);
    }
}

TEST_CASE("P6: a slow handshake")
{
    FaultProxy proxy{tcp_cluster().host(), tcp_cluster().port()};
    SUBCASE("slower than the deadline: create ends at the deadline and lets go of the socket")
    {
        proxy.delay(300ms);  // a SCRAM login takes 6+ one-way trips: about 2 s here
        Adapter adapter{via(proxy, "slow-handshake")};
        Stopwatch sw;
        try {
            adapter.create(deadline_after(1s));
            FAIL("connected faster than the handshake allows");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::timeout);
            CHECK(contains(e.what(), "timed out after"));
        }
        CHECK(sw.elapsed() >= 1s);
        CHECK(sw.elapsed() <= 1s + tolerance);
        CHECK(wait_for([&] { return proxy.open() == 0; }, 1s));
    }
    SUBCASE("slow but within the deadline: connects")
    {
        proxy.delay(40ms);
        Adapter adapter{via(proxy, "slow-handshake-ok")};
        Connection c = adapter.create(deadline_after(3s));
        CHECK(c.exec("SELECT 1").value<int>() == 1);
    }
    SUBCASE("through a pool: the acquire ends at its deadline")
    {
        proxy.delay(300ms);
        respool::PoolOptions po;
        po.max_size = 2;
        po.create_timeout = 1200ms;
        respool::Pool pool{Adapter{via(proxy, "slow-handshake-pool")}, po};
        Stopwatch sw;
        CHECK_THROWS_AS(pool.acquire(respool::AcquireOptions{.timeout = 700ms}), respool::Error);
        CHECK(sw.elapsed() >= 700ms);
        CHECK(sw.elapsed() <= 700ms + tolerance);
    }
}

TEST_CASE("garbage from the network is a connection error, not a crash or a hang")
{
    FaultProxy proxy{tcp_cluster().host(), tcp_cluster().port()};
    Options o = via(proxy, "garbage");
    o.query_timeout = 2s;
    Adapter adapter{o};
    Connection c = adapter.create(deadline_after(10s));
    // Not a protocol message: an unknown type byte and an impossible length.
    const std::string garbage("\x7f\xff\xff\xff\x00 not a PostgreSQL message", 30);
    SUBCASE("while idle: the borrow-time check finds it")
    {
        proxy.inject_garbage(garbage);
        CHECK(wait_for([&] { return adapter.is_broken(c); }, 2s));
    }
    SUBCASE("before a query: the query fails as a connection error")
    {
        proxy.inject_garbage(garbage);
        Stopwatch sw;
        try {
            c.exec("SELECT 1");
            FAIL("the query succeeded after garbage");
        } catch (const Error& e) {
            CHECK(e.connection_error());
        }
        CHECK(sw.elapsed() <= 2s + tolerance);
        CHECK(c.broken());
        CHECK(adapter.is_broken(c));
    }
}
