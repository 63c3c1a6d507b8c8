// Transient versus fatal connect failures against a real PostgreSQL: a wrong
// password or an unknown database fails the pool's callers at once (and later
// ones fast), a server that is down or still starting is retried while the
// caller waits, so a server started shortly after the acquire serves it.
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include <respool/pg.hpp>
#include <respool/pool.hpp>

#include "pg_test_util.hpp"

using namespace respool::test;
using respool::pg::Adapter;
using respool::pg::Error;
using respool::pg::ErrorKind;
using respool::pg::Options;

namespace {

PgCluster& cluster() { return owned_cluster("stop and start the server"); }

std::string tcp_base(PgCluster& pg)
{
    return "host=127.0.0.1 port=" + std::to_string(pg.port()) + " user=" + pg.user();
}

respool::PoolOptions quiet_pool(std::size_t max_size)
{
    respool::PoolOptions po;
    po.name = "fatal";
    po.max_size = max_size;
    po.create_timeout = 2s;
    po.logger = [](respool::LogLevel, std::string_view) {};
    return po;
}

bool fatal_for(const Adapter& adapter, const Error& e) { return adapter.is_fatal(e); }

} // namespace

TEST_CASE("classification: authorization, unknown database and rejected options are fatal; down or busy is not")
{
    const Adapter adapter{"host=127.0.0.1 port=1 dbname=x"};
    auto connect = [](std::string sqlstate, std::string what = "respool::pg: cannot connect") {
        return Error(ErrorKind::connect, what, std::move(sqlstate));
    };
    CHECK(fatal_for(adapter, connect("28P01")));  // wrong password
    CHECK(fatal_for(adapter, connect("28000")));  // unknown role, pg_hba.conf reject
    CHECK(fatal_for(adapter, connect("3D000")));  // unknown database
    CHECK(fatal_for(adapter, connect("42704")));  // unrecognized configuration parameter in `options`
    CHECK(fatal_for(adapter, connect("22023")));  // invalid value for a parameter
    CHECK(fatal_for(adapter, connect("42501")));  // no CONNECT privilege
    CHECK_FALSE(fatal_for(adapter, connect("57P03")));  // the database system is starting up
    CHECK_FALSE(fatal_for(adapter, connect("53300")));  // too many connections
    CHECK_FALSE(fatal_for(adapter, connect("08006")));
    CHECK_FALSE(fatal_for(adapter, connect("", "respool::pg: cannot connect to x: Connection refused")));
    CHECK_FALSE(fatal_for(adapter, Error(ErrorKind::timeout, "respool::pg: connect timed out")));
    CHECK(fatal_for(adapter, connect("", "respool::pg: cannot connect to x: SSL error: certificate verify failed")));
    CHECK(fatal_for(adapter, connect("", "respool::pg: cannot connect to x: fe_sendauth: no password supplied")));
    // Wrapped as the pool hands it on, and a foreign exception.
    try {
        try {
            throw connect("28P01");
        } catch (...) {
            std::throw_with_nested(std::runtime_error("wrapped"));
        }
    } catch (const std::exception& e) {
        CHECK(adapter.is_fatal(e));
    }
    CHECK_FALSE(adapter.is_fatal(std::runtime_error("28P01")));
    CHECK(respool::pg::is_fatal_sqlstate("28P01"));
    CHECK_FALSE(respool::pg::is_fatal_sqlstate("2"));
}

TEST_CASE("a wrong password fails every waiter at once with 28P01, and later acquires fast")
{
    PgCluster& pg = cluster();
    Options o;
    o.conninfo = tcp_base(pg) + " dbname=" + pg.dbname();
    o.params = {{"password", "Wrong-Pass-Fatal-13"}};
    respool::PoolOptions po = quiet_pool(4);
    po.create_backoff_initial = 3s;  // no second attempt while this test counts them
    po.create_backoff_max = 3s;
    respool::Pool pool{Adapter{o}, po};
    std::vector<std::future<long long>> waiters;
    for (int i = 0; i < 3; ++i)
        waiters.push_back(std::async(std::launch::async, [&] {
            Stopwatch sw;
            try {
                auto lease = pool.acquire({.timeout = 5s});
            } catch (const respool::CircuitOpen&) {
                return -2LL;
            } catch (const respool::CreateFailed& e) {
                const Error* cause = pg_cause(e.cause());
                if (cause == nullptr || cause->sqlstate() != "28P01") return -3LL;
                return static_cast<long long>(sw.elapsed().count());
            }
            return -1LL;
        }));
    for (auto& w : waiters) {
        const long long took = w.get();
        CHECK(took >= 0);
        CHECK(took < 1500);  // at the failure, well under the 5 s deadline
    }
    // Later acquires fail fast with the same cause.
    for (int i = 0; i < 5; ++i) {
        Stopwatch sw;
        try {
            auto lease = pool.acquire({.timeout = 5s});
            FAIL("acquired with a wrong password");
        } catch (const respool::CreateFailed& e) {
            CHECK(sw.elapsed() < 1500ms);
            CHECK(contains(e.what(), "28P01"));
        }
    }
    CHECK(pool.stats().create_failures <= 2);  // the first attempts (max_concurrent_creates 2), no connect per acquire
}

TEST_CASE("an unknown database fails at once with 3D000")
{
    PgCluster& pg = cluster();
    Options o;
    o.conninfo = tcp_base(pg) + " dbname=no_such_database_13";
    o.params = {{"password", pg.password()}};
    respool::Pool pool{Adapter{o}, quiet_pool(2)};
    Stopwatch sw;
    try {
        auto lease = pool.acquire({.timeout = 5s});
        FAIL("acquired");
    } catch (const respool::CreateFailed& e) {
        CHECK(sw.elapsed() < 1500ms);
        const Error* cause = pg_cause(e.cause());
        REQUIRE(cause != nullptr);
        CHECK(cause->sqlstate() == "3D000");
    }
}

TEST_CASE("a server started 300 ms after the first acquire serves that acquire within its 2 s deadline")
{
    PgCluster& pg = cluster();
    respool::PoolOptions po = quiet_pool(2);
    // Refused connects are transient: retried while the caller waits. On a
    // loaded machine the server takes 0.5-1.5 s to come up, so the pool must
    // try again soon after: the back-off is capped at 50 ms, and the breaker
    // needs far more failures than this outage makes (its default 5 would
    // open after about 0.4-0.8 s of refusals).
    po.create_backoff_initial = 10ms;
    po.create_backoff_max = 50ms;
    po.circuit_breaker_threshold = 10'000;
    // A connect that meets the server half-way up (listening, not yet
    // answering) is abandoned after 300 ms and tried again, rather than
    // holding the only creation until the caller's deadline.
    po.create_timeout = 300ms;
    respool::Pool pool{Adapter{options_for(pg, "fatal-13-late-start")}, po};
    pg.stop_immediate();
    Stopwatch sw;
    auto acquirer = std::async(std::launch::async, [&] {
        auto lease = pool.acquire({.timeout = 2s});
        return lease->exec("SELECT 1").value<int>();
    });
    std::this_thread::sleep_for(300ms);
    pg.start();
    const milliseconds ready_at = sw.elapsed();
    int one = 0;
    try {
        one = acquirer.get();
    } catch (const std::exception& e) {
        FAIL_CHECK("the acquire failed after the server came up at " << ready_at.count()
                                                                      << " ms: " << std::string(e.what()));
    }
    const milliseconds served_at = sw.elapsed();
    MESSAGE("server ready at " << ready_at.count() << " ms, acquire served at " << served_at.count() << " ms");
    CHECK(one == 1);
    CHECK(served_at < 2000ms + tolerance);
    CHECK(pool.stats().create_failures >= 1);  // it did meet the refusals
}
