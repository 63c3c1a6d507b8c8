// P8: PgBouncer (tests/support/pgbouncer) in front of the throwaway cluster,
// in session and transaction mode: load, a PgBouncer restart under load,
// PAUSE/RESUME, and the documented transaction-pooling mode
// (Options::transaction_pooling), which must lose no prepared statement.
//
// Passes when: no error beyond the documented ones (connection errors while
// PgBouncer is down or its pools are killed); serving again within 1 s of
// PgBouncer answering; the server never sees more connections than
// PgBouncer's pool size; 200/200 prepared-statement calls succeed in
// transaction mode across more clients than server connections.
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <respool/pg.hpp>
#include <respool/pool.hpp>

#include "pg_test_util.hpp"
#include "support/pgbouncer.hpp"

using namespace respool::test;
using respool::pg::Adapter;
using respool::pg::Error;
using respool::pg::Options;
using Clock = std::chrono::steady_clock;

namespace {

PgCluster& cluster() { return owned_cluster("put PgBouncer in front of a server with a known password"); }

Options through(const PgBouncer& bouncer, const std::string& app)
{
    Options o;
    o.conninfo = bouncer.conninfo();
    o.params = {{"application_name", app}};
    return o;
}

respool::PoolOptions pool_options(std::size_t max_size)
{
    respool::PoolOptions po;
    po.max_size = max_size;
    po.create_timeout = 2s;
    po.acquire_timeout = 3s;
    po.logger = [](respool::LogLevel, std::string_view) {};
    // These tests time PgBouncer's recovery, not the breaker's pacing: a
    // breaker that opened just before PgBouncer answered waits this long.
    po.circuit_open_time = 300ms;
    return po;
}

} // namespace

TEST_CASE("P8 session mode: load within PgBouncer's pool, restart under load")
{
    PgCluster& pg = cluster();
    PgBouncerOptions bo;
    bo.pool_mode = "session";
    bo.default_pool_size = 4;
    PgBouncer bouncer{pg, bo};
    // Session mode: the pool's max_size must fit PgBouncer's server pool (docs).
    respool::Pool pool{Adapter{through(bouncer, "p8-session")}, pool_options(4)};

    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, connection_errors{0}, pool_errors{0}, other{0};
    std::atomic<int> server_peak{0};
    std::mutex mutex;
    std::string unexpected;
    std::atomic<long long> last_ok_ns{0};
    std::vector<std::jthread> workers;
    struct StopOnExit {  // destroyed before `workers`: they end even when a check throws
        std::atomic<bool>& stop;
        ~StopOnExit() { stop = true; }
    } stop_on_exit{stop};
    for (int t = 0; t < 8; ++t) {
        workers.emplace_back([&] {
            while (!stop) {
                try {
                    auto lease = pool.acquire(respool::AcquireOptions{.timeout = 1s});
                    lease->exec("SELECT pg_sleep(0.002)");
                    ++ok;
                    last_ok_ns = Clock::now().time_since_epoch().count();
                } catch (const Error& e) {
                    if (e.connection_error()) {
                        ++connection_errors;
                    } else {
                        ++other;
                        std::lock_guard lock(mutex);
                        unexpected += std::string(e.what()) + "\n";
                    }
                    std::this_thread::sleep_for(10ms);
                } catch (const respool::Error&) {
                    ++pool_errors;  // CreateFailed/CircuitOpen/AcquireTimeout while PgBouncer is down
                    std::this_thread::sleep_for(10ms);
                }
            }
        });
    }
    std::jthread sampler([&](std::stop_token st) {
        while (!st.stop_requested()) {
            int n = pg.count_connections();
            for (int seen = server_peak.load(); n > seen && !server_peak.compare_exchange_weak(seen, n);) {
            }
            std::this_thread::sleep_for(20ms);
        }
    });

    // Load first, counted in work done, not in wall time (a loaded machine is slow).
    CHECK(wait_for([&] { return ok >= 50; }, 30s));

    bouncer.stop();
    std::this_thread::sleep_for(500ms);
    bouncer.start();
    auto answering = Clock::now();
    CHECK(wait_for([&] { return Clock::time_point(Clock::duration(last_ok_ns.load())) > answering; }, 5s));
    auto recovery = std::chrono::duration_cast<milliseconds>(Clock::time_point(Clock::duration(last_ok_ns.load())) - answering);
    MESSAGE("session mode: serving again " << recovery.count() << " ms after PgBouncer answered");
    CHECK(recovery <= 1000ms + tolerance);
    int after_restart = ok.load();
    CHECK(wait_for([&] { return ok >= after_restart + 50; }, 30s));  // steady again, not one lucky query

    stop = true;
    workers.clear();
    sampler.request_stop();
    MESSAGE("ok " << ok.load() << ", connection errors " << connection_errors.load() << ", pool errors "
                  << pool_errors.load());
    CHECK(connection_errors + pool_errors > 0);  // the restart was seen
    CHECK_MESSAGE(other == 0, unexpected);
    CHECK(server_peak <= bo.default_pool_size);
    CHECK(pool.close());
}

TEST_CASE("P8 session mode: PAUSE waits for the pool's connections; RESUME serves again")
{
    PgCluster& pg = cluster();
    PgBouncerOptions bo;
    bo.default_pool_size = 2;
    PgBouncer bouncer{pg, bo};
    auto pool = std::make_unique<respool::Pool<Adapter>>(Adapter{through(bouncer, "p8-pause")}, pool_options(2));
    {
        auto a = pool->acquire();
        auto b = pool->acquire();
        a->exec("SELECT 1");
        b->exec("SELECT 1");
    }
    // Session mode: idle pooled connections still own their server
    // connections, so PAUSE does not complete while the pool holds them (documented).
    auto pause = std::async(std::launch::async, [&] { bouncer.admin("PAUSE", 20s); });
    CHECK(pause.wait_for(1500ms) == std::future_status::timeout);
    // Closing the pool gives the server connections back: PAUSE completes.
    Stopwatch sw;
    CHECK(pool->close());
    pool.reset();
    REQUIRE(pause.wait_for(10s) == std::future_status::ready);
    CHECK_NOTHROW(pause.get());
    MESSAGE("PAUSE completed " << sw.elapsed().count() << " ms after the pool closed");

    // While paused, a new connection's first query waits in PgBouncer; the
    // create deadline bounds it.
    respool::PoolOptions po = pool_options(2);
    po.create_timeout = 500ms;
    po.acquire_timeout = 800ms;
    respool::Pool paused{Adapter{through(bouncer, "p8-pause-2")}, po};
    Options with_timeout = through(bouncer, "p8-pause-3");
    with_timeout.query_timeout = 300ms;
    respool::Pool bounded{Adapter{with_timeout}, po};
    sw.restart();
    try {
        auto lease = bounded.acquire();
        lease->exec("SELECT 1");  // waits for RESUME in PgBouncer until query_timeout
        FAIL("a query ran during PAUSE");
    } catch (const Error& e) {
        CHECK(e.kind() == respool::pg::ErrorKind::timeout);
    } catch (const respool::Error& e) {
        MESSAGE("during PAUSE: " << e.what());
    }
    CHECK(sw.elapsed() <= 800ms + tolerance);

    bouncer.admin("RESUME");
    sw.restart();
    CHECK(paused.acquire()->exec("SELECT 41 + 1").value<int>() == 42);
    CHECK(bounded.acquire()->exec("SELECT 1").value<int>() == 1);
    MESSAGE("served " << sw.elapsed().count() << " ms after RESUME");
    CHECK(sw.elapsed() <= 1000ms + tolerance);
}

TEST_CASE("P8 transaction mode: transaction_pooling loses no prepared statement")
{
    PgCluster& pg = cluster();
    PgBouncerOptions bo;
    bo.pool_mode = "transaction";
    bo.default_pool_size = 2;
    PgBouncer bouncer{pg, bo};
    Options o = through(bouncer, "p8-transaction");
    o.transaction_pooling = true;
    // More clients than PgBouncer's server connections: transactions hop servers.
    respool::Pool pool{Adapter{o}, pool_options(6)};

    std::atomic<int> ok{0}, failed{0};
    std::mutex mutex;
    std::string errors;
    std::vector<std::jthread> workers;
    for (int t = 0; t < 6; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < 200 / 6 + 1; ++i) {
                if (ok + failed >= 200) return;
                try {
                    auto lease = pool.acquire();
                    lease->prepare("add", "SELECT $1::int + $2::int");
                    lease->exec("SELECT pg_sleep(0.001)");  // another transaction: maybe another server
                    int r = lease->exec_prepared("add", t, i).value<int>();
                    if (r == t + i) ++ok;
                    else ++failed;
                } catch (const std::exception& e) {
                    ++failed;
                    std::lock_guard lock(mutex);
                    errors += std::string(e.what()) + "\n";
                }
            }
        });
    }
    workers.clear();
    MESSAGE("transaction mode: " << ok.load() << " prepared calls ok, " << failed.load() << " failed");
    CHECK_MESSAGE(failed == 0, errors);
    CHECK(ok >= 200);
    // The pool held more client connections than the server saw.
    CHECK(pg.count_connections() <= bo.default_pool_size);
    CHECK(pool.close());
}

TEST_CASE("P8 transaction mode: a restart and KILL under load, recovery within 1 s")
{
    PgCluster& pg = cluster();
    PgBouncerOptions bo;
    bo.pool_mode = "transaction";
    bo.default_pool_size = 2;
    PgBouncer bouncer{pg, bo};
    Options o = through(bouncer, "p8-transaction-restart");
    o.transaction_pooling = true;
    respool::Pool pool{Adapter{o}, pool_options(4)};
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, other{0};
    std::atomic<long long> last_ok_ns{0};
    std::mutex mutex;
    std::string unexpected;
    std::vector<std::jthread> workers;
    struct StopOnExit {  // destroyed before `workers`: they end even when a check throws
        std::atomic<bool>& stop;
        ~StopOnExit() { stop = true; }
    } stop_on_exit{stop};
    for (int t = 0; t < 6; ++t) {
        workers.emplace_back([&] {
            while (!stop) {
                try {
                    auto lease = pool.acquire(respool::AcquireOptions{.timeout = 1s});
                    lease->prepare("one", "SELECT $1::int");
                    if (lease->exec_prepared("one", 1).value<int>() == 1) ++ok;
                    last_ok_ns = Clock::now().time_since_epoch().count();
                } catch (const Error& e) {
                    if (!e.connection_error()) {
                        ++other;
                        std::lock_guard lock(mutex);
                        unexpected += std::string(e.what()) + "\n";
                    }
                    std::this_thread::sleep_for(10ms);
                } catch (const respool::Error&) {
                    std::this_thread::sleep_for(10ms);
                }
            }
        });
    }
    CHECK(wait_for([&] { return ok >= 30; }, 30s));
    for (int round = 0; round < 2; ++round) {
        if (round == 0) {
            bouncer.stop();
            std::this_thread::sleep_for(300ms);
            bouncer.start();
        } else {
            // KILL drops the client and server connections of the database;
            // RESUME lets it serve again.
            bouncer.admin("KILL " + pg.dbname());
            // RESUME until PgBouncer takes it (or says the database is not
            // paused): an admin login can fail once on a loaded machine, and a
            // database left paused would never serve again.
            bool resumed = false;
            std::string why;
            for (Stopwatch sw; !resumed && sw.elapsed() < 10s;) {
                try {
                    bouncer.admin("RESUME " + pg.dbname());
                    resumed = true;
                } catch (const std::exception& e) {
                    why = e.what();
                    resumed = contains(why, "not paused");
                    if (!resumed) std::this_thread::sleep_for(100ms);
                }
            }
            if (!resumed && (contains(why, "refused") || contains(why, "timeout expired"))) {
                // Seen in loaded runs: PgBouncer 1.18 itself exited after KILL
                // under load, or stopped answering its admin console for 10 s
                // (an ASan run). Not the pool's fault; say so with its log,
                // start it again, and time the pool's recovery from there.
                std::string log = bouncer.log();
                MESSAGE("PgBouncer exited or hung after KILL (" << why << "); its log:\n"
                                                               << log.substr(log.size() > 3000 ? log.size() - 3000 : 0));
                bouncer.stop();  // a no-op if it exited
                bouncer.start();
                resumed = true;
            }
            REQUIRE_MESSAGE(resumed, why);
            if (!why.empty()) MESSAGE("RESUME after KILL needed a retry: " << why);
        }
        auto answering = Clock::now();
        CHECK(wait_for([&] { return Clock::time_point(Clock::duration(last_ok_ns.load())) > answering; }, 5s));
        auto recovery =
            std::chrono::duration_cast<milliseconds>(Clock::time_point(Clock::duration(last_ok_ns.load())) - answering);
        MESSAGE(std::string(round == 0 ? "restart" : "KILL/RESUME") << ": serving again after " << recovery.count()
                                                                     << " ms");
        // After KILL, PgBouncer waits server_login_retry before it logs in to
        // the server again (documented: 15 s by default, 1 s here).
        milliseconds bound = 1000ms + (round == 0 ? 0ms : milliseconds(bo.server_login_retry * 1000));
        CHECK(recovery <= bound + tolerance);
        int now_ok = ok.load();
        CHECK(wait_for([&] { return ok >= now_ok + 30; }, 30s));
    }
    stop = true;
    workers.clear();
    CHECK_MESSAGE(other == 0, unexpected);
    CHECK(ok >= 90);
    CHECK(pool.close());
}
