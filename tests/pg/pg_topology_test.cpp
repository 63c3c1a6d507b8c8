// Primary/standby topologies against a real primary and a streaming replica
// (local_servers/pg_cluster: pg_basebackup -R, both on loopback).
//
// Roles: every connection knows its server's role from the connect;
// target_role picks the server from a multi-host conninfo (the standby listed
// first, so libpq must skip it); a write on a primary-role connection that
// fails with 25006 retires it; a standby-role connection is retired once its
// server is promoted (standby and prefer_standby alike).
//
// T1 failover: writes from 3 threads through a primary-role pool (max_size 4)
// over "host=primary,replica"; the primary is stopped cleanly and the replica
// promoted. Passes when: no write ever reached a standby (25006 count 0),
// every acknowledged write is on the promoted server, writes succeed again
// within 10 s of the promote, and the pool's connections are on the new
// primary afterwards. The time from promote to the first successful write and
// the failures (typed errors) are printed.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <libpq-fe.h>

#include <respool/error.hpp>
#include <respool/pg.hpp>
#include <respool/pool.hpp>

#include "pg_test_util.hpp"

using namespace respool::test;
using respool::pg::Adapter;
using respool::pg::Connection;
using respool::pg::Error;
using respool::pg::Role;
using respool::pg::TargetRole;
using Clock = std::chrono::steady_clock;

namespace {

struct Topology {
    PgCluster primary;
    PgCluster replica{PgClusterOptions{.standby_of = &primary}};
};

Topology& topology()
{
    static Topology t;
    return t;
}

// Both servers, the replica first: a primary-role pool must skip it.
std::string multi_host(const Topology& t)
{
    return "host=127.0.0.1,127.0.0.1 port=" + std::to_string(t.replica.port()) + "," +
           std::to_string(t.primary.port()) + " user=" + t.primary.user() + " password=" + t.primary.password() +
           " dbname=" + t.primary.dbname();
}

respool::pg::Options options(const std::string& conninfo, TargetRole role)
{
    respool::pg::Options o;
    o.conninfo = conninfo;
    o.target_role = role;
    return o;
}

int port_of(const Connection& c) { return std::atoi(PQport(c.raw())); }

// The table the writes go to, on the primary; returns once the replica has it.
void create_table(Topology& t)
{
    Adapter primary{t.primary.conninfo()};
    Connection c = primary.create(respool::deadline_after(10s));
    c.exec("CREATE TABLE IF NOT EXISTS writes (id bigint PRIMARY KEY)");
    Adapter replica{t.replica.conninfo()};
    for (auto until = Clock::now() + 30s;; std::this_thread::sleep_for(50ms)) {
        try {
            Connection r = replica.create(respool::deadline_after(10s));
            r.exec("SELECT count(*) FROM writes");
            return;
        } catch (const Error&) {
            if (Clock::now() > until) throw;
        }
    }
}

} // namespace

TEST_CASE("roles: read at connect, chosen by target_role from a host list")
{
    Topology& t = topology();
    create_table(t);
    const std::string hosts = multi_host(t);

    SUBCASE("primary: libpq skips the standby listed first")
    {
        Adapter a{options(hosts, TargetRole::primary)};
        Connection c = a.create(respool::deadline_after(10s));
        CHECK(c.role() == Role::primary);
        CHECK(port_of(c) == t.primary.port());
        CHECK_FALSE(a.is_broken(c));
        CHECK(a.validate(c, respool::deadline_after(5s)));
    }
    SUBCASE("standby and prefer_standby reach the replica; a write there fails with 25006")
    {
        for (TargetRole role : {TargetRole::standby, TargetRole::prefer_standby}) {
            Adapter a{options(multi_host(t), role)};
            Connection c = a.create(respool::deadline_after(10s));
            CHECK(c.role() == Role::standby);
            CHECK(port_of(c) == t.replica.port());
            try {
                c.exec("INSERT INTO writes VALUES (-1)");
                FAIL("a write on a standby succeeded");
            } catch (const Error& e) {
                CHECK(e.sqlstate() == "25006");
            }
            CHECK_FALSE(a.is_broken(c));  // expected on a standby: the connection stays
        }
    }
    SUBCASE("any: the first host answers, whatever its role")
    {
        Adapter a{options(hosts, TargetRole::any)};
        Connection c = a.create(respool::deadline_after(10s));
        CHECK(c.role() == Role::standby);
    }
    SUBCASE("25006 on a primary-role connection retires it")
    {
        Adapter a{options(hosts, TargetRole::primary)};
        Connection c = a.create(respool::deadline_after(10s));
        c.exec("BEGIN READ ONLY");
        CHECK_THROWS_AS(c.exec("INSERT INTO writes VALUES (-2)"), Error);
        CHECK(c.broken());
        CHECK(a.is_broken(c));
    }
    SUBCASE("bad options name the field")
    {
        auto field_of = [](respool::pg::Options o) {
            try {
                Adapter a{std::move(o)};
            } catch (const respool::InvalidOptions& e) {
                return std::string(e.field());
            }
            return std::string("(accepted)");
        };
        CHECK(field_of(options(hosts + " target_session_attrs=read-only", TargetRole::primary)) ==
              "target_role");
        CHECK(field_of(options(hosts + " target_session_attrs=primary", TargetRole::primary)) == "(accepted)");
        auto o = options(hosts, TargetRole::primary);
        o.role_check_interval = -1ms;
        CHECK(field_of(o) == "role_check_interval");
    }
}

TEST_CASE("T1: failover under writes: stop the primary, promote the replica")
{
    Topology& t = topology();
    create_table(t);

    respool::PoolOptions po;
    po.name = "topology-t1";
    po.max_size = 4;
    po.create_timeout = 2s;
    po.logger = [](respool::LogLevel, std::string_view) {};  // the outage logs many expected failures
    respool::Pool pool{Adapter{options(multi_host(t), TargetRole::primary)}, po};

    // A standby-role connection held across the promote: retired once its server says so.
    Adapter standby_adapter{options(multi_host(t), TargetRole::standby)};
    Connection on_standby = standby_adapter.create(respool::deadline_after(10s));
    REQUIRE(on_standby.role() == Role::standby);
    Adapter prefer_adapter{options(multi_host(t), TargetRole::prefer_standby)};
    Connection preferring = prefer_adapter.create(respool::deadline_after(10s));
    REQUIRE(preferring.role() == Role::standby);

    std::atomic<long> next_id{1};
    std::atomic<bool> stop{false};
    std::atomic<int> on_a_standby{0};
    std::mutex mutex;
    std::set<long> acknowledged;
    std::vector<Clock::time_point> success_times;
    std::map<std::string, int> failures;  // typed error -> count
    std::map<std::string, std::string> example;

    auto writer = [&] {
        while (!stop) {
            long id = next_id++;
            std::string failure, what;
            try {
                auto lease = pool.acquire(respool::AcquireOptions{.timeout = 1s});
                lease->exec("INSERT INTO writes VALUES ($1)", id);
                std::lock_guard lock(mutex);
                acknowledged.insert(id);
                success_times.push_back(Clock::now());
            } catch (const Error& e) {
                if (e.sqlstate() == "25006") ++on_a_standby;
                failure = "pg::Error " + std::string(to_string(e.kind())) + " " + e.sqlstate();
                what = e.what();
            } catch (const respool::Error& e) {
                failure = "respool::Error (pool)";
                what = e.what();
            } catch (const std::exception& e) {
                failure = "other";
                what = e.what();
            }
            if (!failure.empty()) {
                {
                    std::lock_guard lock(mutex);
                    ++failures[failure];
                    example.emplace(failure, what);
                }
                std::this_thread::sleep_for(20ms);  // a failing client backs off a little
            } else {
                std::this_thread::sleep_for(2ms);
            }
        }
    };
    std::vector<std::jthread> writers;
    for (int i = 0; i < 3; ++i) writers.emplace_back(writer);

    std::this_thread::sleep_for(1s);
    std::size_t before_stop = 0;
    {
        std::lock_guard lock(mutex);
        before_stop = acknowledged.size();
    }
    REQUIRE(before_stop > 0);
    Clock::time_point stop_asked = Clock::now();
    t.primary.stop();  // fast: the replica receives every commit before the primary exits
    Clock::time_point stopped = Clock::now();
    std::this_thread::sleep_for(500ms);  // writes fail meanwhile: no primary at all
    Clock::time_point promote_asked = Clock::now();
    t.replica.promote();
    Clock::time_point promoted = Clock::now();

    // Writes again, then a steady second on the new primary.
    Clock::time_point first_success{};
    for (auto until = promote_asked + 20s; Clock::now() < until; std::this_thread::sleep_for(10ms)) {
        std::lock_guard lock(mutex);
        auto it = std::find_if(success_times.begin(), success_times.end(),
                               [&](Clock::time_point at) { return at > promote_asked; });
        if (it != success_times.end()) {
            first_success = *it;
            break;
        }
    }
    std::this_thread::sleep_for(1s);
    stop = true;
    writers.clear();

    auto ms = [](Clock::duration d) {
        return static_cast<long>(std::chrono::duration_cast<milliseconds>(d).count());
    };
    REQUIRE_MESSAGE(first_success != Clock::time_point{}, "no write succeeded within 20 s of the promote");
    std::printf("T1 failover: stop (fast) took %ld ms; pg_ctl promote took %ld ms\n",
                ms(stopped - stop_asked), ms(promoted - promote_asked));
    std::printf("T1 failover: first successful write %ld ms after promote was asked, %ld ms after "
                "pg_ctl promote returned\n",
                ms(first_success - promote_asked), ms(first_success - promoted));
    std::printf("T1 failover: %zu writes acknowledged (%zu before the stop); %d reached a standby\n",
                acknowledged.size(), before_stop, on_a_standby.load());
    for (const auto& [kind, n] : failures)
        std::printf("T1 failover: %d failed writes: %s, e.g. %s\n", n, kind.c_str(), example[kind].c_str());

    CHECK(on_a_standby == 0);
    CHECK(first_success - promote_asked < 10s);

    // Every acknowledged write is on the promoted server; rows never
    // acknowledged (a commit whose answer was lost) are counted, not failed.
    Adapter check{t.replica.conninfo()};
    Connection c = check.create(respool::deadline_after(10s));
    CHECK(c.role() == Role::primary);
    auto rows = c.exec("SELECT id FROM writes WHERE id > 0 ORDER BY id");
    std::set<long> stored;
    for (int r = 0; r < rows.rows(); ++r) stored.insert(rows.get<long>(r, 0));
    long missing = 0, in_doubt = 0;
    for (long id : acknowledged) missing += stored.count(id) ? 0 : 1;
    for (long id : stored) in_doubt += acknowledged.count(id) ? 0 : 1;
    std::printf("T1 failover: promoted server holds %zu rows; %ld acknowledged writes missing, %ld rows "
                "never acknowledged\n",
                stored.size(), missing, in_doubt);
    CHECK(missing == 0);

    // The pool's connections are on the new primary.
    for (int i = 0; i < 4; ++i) {
        auto lease = pool.acquire(respool::AcquireOptions{.timeout = 5s});
        CHECK(lease->role() == Role::primary);
        CHECK(port_of(*lease) == t.replica.port());
    }

    // The standby-role connection: its server was promoted; the first round
    // trip brings in_hot_standby = off, and the adapter retires it.
    CHECK_FALSE(standby_adapter.validate(on_standby, respool::deadline_after(5s)));
    CHECK(on_standby.role() == Role::primary);
    CHECK(standby_adapter.is_broken(on_standby));
    // prefer_standby too: a reconnect prefers a standby again, if one is left.
    CHECK_FALSE(prefer_adapter.validate(preferring, respool::deadline_after(5s)));
    CHECK(preferring.role() == Role::primary);
}
