// P1: the server stopped with `pg_ctl stop -m immediate` under load from 16
// threads on a pool of 8, and started again after 0, 2 and 10 seconds.
//
// Passes when: in-flight work fails fast with a connection error; every
// acquire that fails meanwhile fails within its timeout with a typed error
// naming the cause; the pool serves again within 1.5 s of the server being
// ready; no stale connection is handed out afterwards; the server never sees
// more than max_size connections of ours; never more than
// max_concurrent_creates connection attempts run at once; no lease leaks.
//
// Checked by the server, not only by the pool: the pool logs in as a role
// with CONNECTION LIMIT max_size, so a 9th connection would be refused
// (53300) and show up as a failure; the backend pids that served work before
// a stop never serve work after the restart; and work in flight at the stop
// (a lease held, the statement sent) fails with a connection error within 1 s.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <respool/pg.hpp>
#include <respool/pool.hpp>

#include "pg_test_util.hpp"

using namespace respool::test;
using respool::pg::Adapter;
using respool::pg::Connection;
using respool::pg::Error;
using Clock = std::chrono::steady_clock;

namespace {

enum class Kind { ok, connection_error, pool_error, other };

struct Outcome {
    Clock::time_point start, end;
    Kind kind;
    std::string what;
    int backend_pid = 0;             ///< the server process that ran (or was running) the statement
    Clock::time_point acquired{};    ///< when the lease was granted; epoch when never
};

struct Phase {
    milliseconds gap;
    Clock::time_point stopped, down, ready;  ///< stop asked, pg_ctl returned (server gone), started
    Outcome in_flight;                       ///< a statement known to be running on the server at the stop
};

const char* name(Kind k)
{
    switch (k) {
    case Kind::ok: return "ok";
    case Kind::connection_error: return "connection error";
    case Kind::pool_error: return "pool error";
    default: return "other";
    }
}

} // namespace

TEST_CASE("P1: immediate shutdown under load, restart after 0, 2 and 10 s")
{
    PgCluster& pg = owned_cluster("stop and restart the server");
    const std::string app = "restart-p1";
    const milliseconds acquire_timeout = 1s;
    auto counters = std::make_shared<CountingAdapter::Counters>();
    respool::PoolOptions po;
    po.name = "p1";
    po.max_size = 8;
    po.max_concurrent_creates = 2;
    po.create_timeout = 1s;
    po.logger = [](respool::LogLevel, std::string_view) {};  // hundreds of expected failures
    // A role the server itself caps at max_size connections.
    const std::string role = "respool_p1";
    pg.create_role(role, "P1-Limited-Role-Secret");
    pg.query("ALTER ROLE " + role + " CONNECTION LIMIT " + std::to_string(po.max_size));
    respool::pg::Options o = options_for(pg, app);
    o.params.emplace_back("user", role);
    o.params.emplace_back("password", "P1-Limited-Role-Secret");
    respool::Pool pool{CountingAdapter{o, counters}, po};

    std::mutex mutex;
    std::vector<Outcome> outcomes;
    std::atomic<bool> stop{false};
    std::atomic<int> server_peak{0};
    std::vector<std::jthread> workers;
    for (int t = 0; t < 16; ++t) {
        workers.emplace_back([&] {
            while (!stop) {
                Outcome o{Clock::now(), {}, Kind::ok, {}};
                try {
                    auto lease = pool.acquire(respool::AcquireOptions{.timeout = acquire_timeout});
                    o.acquired = Clock::now();
                    o.backend_pid = lease->backend_pid();
                    lease->exec("SELECT pg_sleep(0.002)");
                } catch (const Error& e) {
                    o.kind = e.connection_error() ? Kind::connection_error : Kind::other;
                    o.what = e.what();
                } catch (const respool::Error& e) {  // AcquireTimeout, CreateFailed, CircuitOpen
                    o.kind = Kind::pool_error;
                    o.what = e.what();
                } catch (const std::exception& e) {
                    o.kind = Kind::other;
                    o.what = e.what();
                }
                o.end = Clock::now();
                if (o.kind != Kind::ok) std::this_thread::sleep_for(10ms);  // a failing client backs off a little
                std::lock_guard lock(mutex);
                outcomes.push_back(std::move(o));
            }
        });
    }
    std::jthread sampler([&](std::stop_token st) {
        while (!st.stop_requested()) {
            try {
                int n = pg.count_connections(app);
                int seen = server_peak.load();
                while (n > seen && !server_peak.compare_exchange_weak(seen, n)) {
                }
            } catch (const std::exception&) {
                // the server is down
            }
            std::this_thread::sleep_for(50ms);
        }
    });

    std::vector<Phase> phases;
    for (milliseconds gap : {0ms, 2000ms, 10000ms}) {
        std::this_thread::sleep_for(1s);  // steady load first
        Phase p{gap, {}, {}, {}, {}};
        // Work certainly in flight: a statement the server shows as running.
        std::promise<Outcome> in_flight;
        std::jthread sleeper([&] {
            Outcome o{Clock::now(), {}, Kind::ok, {}};
            try {
                auto lease = pool.acquire(respool::AcquireOptions{.timeout = 20s});
                o.acquired = Clock::now();
                o.backend_pid = lease->backend_pid();
                lease->exec("SELECT pg_sleep(60) /* p1-in-flight */");
            } catch (const Error& e) {
                o.kind = e.connection_error() ? Kind::connection_error : Kind::other;
                o.what = e.what();
            } catch (const std::exception& e) {
                o.kind = Kind::other;
                o.what = e.what();
            }
            o.end = Clock::now();
            in_flight.set_value(o);
        });
        REQUIRE(wait_for([&] {
            return !pg.query("SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() "
                             "AND query LIKE '%p1-in-flight%'")
                        .empty();
        }, 20s));
        p.stopped = Clock::now();
        pg.stop_immediate();
        p.down = Clock::now();
        std::this_thread::sleep_for(gap);
        pg.start();
        p.ready = Clock::now();
        sleeper.join();
        p.in_flight = in_flight.get_future().get();
        phases.push_back(p);
        std::this_thread::sleep_for(2s);  // recovery, then steady load again
    }
    std::this_thread::sleep_for(1s);
    stop = true;
    workers.clear();
    sampler.request_stop();

    std::lock_guard lock(mutex);
    std::sort(outcomes.begin(), outcomes.end(), [](auto& a, auto& b) { return a.end < b.end; });
    std::map<std::string, int> failures;
    for (const auto& o : outcomes) {
        if (o.kind == Kind::ok) continue;
        std::string gist = o.what.substr(0, 110);  // counts and ports vary: group without digits
        gist.erase(std::remove_if(gist.begin(), gist.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }),
                   gist.end());
        ++failures[std::string(name(o.kind)) + ": " + gist];
        // Typed, and within the caller's timeout.
        CHECK_MESSAGE(o.kind != Kind::other, o.what);
        CHECK_MESSAGE(o.end - o.start <= acquire_timeout + tolerance, name(o.kind) << " after "
                                                                                 << (o.end - o.start).count() / 1'000'000
                                                                                 << " ms: " << o.what);
        // The server never refused us for the role's connection limit.
        CHECK_MESSAGE(!contains(o.what, "53300"), o.what);
        CHECK_MESSAGE(!contains(o.what, "too many connections"), o.what);
        // A failed acquire names the cause: the server refusing or starting up.
        if (o.kind == Kind::pool_error)
            CHECK_MESSAGE((contains(o.what, "refused") || contains(o.what, "starting up") ||
                           contains(o.what, "shutting down") || contains(o.what, "connection") ||
                           contains(o.what, "timed out")),
                          o.what);
    }
    for (const auto& [what, count] : failures) MESSAGE(count << " x " << what);

    for (std::size_t i = 0; i < phases.size(); ++i) {
        const Phase& p = phases[i];
        CAPTURE(p.gap.count());
        // In-flight work failed: at least one connection error right after the stop.
        bool saw_error = std::any_of(outcomes.begin(), outcomes.end(), [&](const Outcome& o) {
            return o.kind != Kind::ok && o.end >= p.stopped && o.end <= p.stopped + 1s;
        });
        CHECK(saw_error);
        // Work in flight when the server died (a lease held before pg_ctl
        // returned) that failed, failed as a connection error, within 1 s.
        int in_flight_failures = 0;
        for (const auto& o : outcomes) {
            if (o.kind == Kind::ok || o.acquired == Clock::time_point{} || o.acquired > p.down ||
                o.end < p.stopped)
                continue;
            ++in_flight_failures;
            CHECK_MESSAGE(o.kind == Kind::connection_error, o.what);
            CHECK_MESSAGE(o.end <= p.down + 1s + tolerance,
                          "in flight, failed " << (o.end - p.down).count() / 1'000'000 << " ms after the server was down");
        }
        MESSAGE(in_flight_failures << " failures of work in flight at the stop");
        // The statement the server was running fails as a connection error within 1 s.
        CHECK_MESSAGE(p.in_flight.kind == Kind::connection_error, p.in_flight.what);
        CHECK(p.in_flight.end - p.down <= 1s + tolerance);
        // Backend pids that served before this stop never serve after the restart.
        std::set<int> before;
        for (const auto& o : outcomes)
            if (o.kind == Kind::ok && o.end < p.stopped && o.backend_pid) before.insert(o.backend_pid);
        CHECK(!before.empty());
        for (const auto& o : outcomes)
            if (o.acquired != Clock::time_point{} && o.acquired >= p.ready)
                CHECK_MESSAGE(before.count(o.backend_pid) == 0, "backend " << o.backend_pid << " from before the stop reused");
        // Serving again within 1.5 s of the server being ready.
        auto first_ok = std::find_if(outcomes.begin(), outcomes.end(),
                                     [&](const Outcome& o) { return o.kind == Kind::ok && o.start >= p.ready; });
        REQUIRE(first_ok != outcomes.end());
        auto recovery = std::chrono::duration_cast<milliseconds>(first_ok->end - p.ready);
        MESSAGE("gap " << p.gap.count() << " ms: serving again " << recovery.count() << " ms after the server was ready");
        CHECK(recovery <= 1500ms + tolerance);
        // No stale connection afterwards: nothing started after the first success fails,
        // until the next stop.
        Clock::time_point next_stop = i + 1 < phases.size() ? phases[i + 1].stopped : Clock::time_point::max();
        for (const auto& o : outcomes)
            if (o.start >= first_ok->end && o.end < next_stop) CHECK_MESSAGE(o.kind == Kind::ok, o.what);
    }
    CHECK(counters->peak <= 2);
    CHECK(server_peak <= 8);
    MESSAGE("outcomes " << outcomes.size() << ", peak connects in flight " << counters->peak.load()
                        << ", peak server connections " << server_peak.load());
    auto s = pool.stats();
    CHECK(s.leases == 0);
    CHECK(pool.leases().empty());
    CHECK(pool.close());
}
