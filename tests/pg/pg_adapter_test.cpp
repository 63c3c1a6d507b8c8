// The adapter and its resource against a real server: queries and typed
// results, errors with SQLSTATE, setup statements, socket options, the
// borrow/return hooks (is_broken, validate, reset) and client-side timeouts.
#include <doctest/doctest.h>

#include <cmath>
#include <optional>

#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <respool/pg.hpp>

#include "pg_test_util.hpp"

using namespace respool::test;
using respool::deadline_after;
using respool::pg::Adapter;
using respool::pg::Connection;
using respool::pg::Error;
using respool::pg::ErrorKind;
using respool::pg::Options;
using respool::pg::Result;
using respool::pg::TransactionStatus;

namespace {

Connection connect(Adapter& adapter) { return adapter.create(deadline_after(10s)); }

int socket_option(int fd, int level, int name)
{
    int value = -1;
    socklen_t len = sizeof value;
    REQUIRE(::getsockopt(fd, level, name, &value, &len) == 0);
    return value;
}

// Waits until the server no longer lists the backend.
bool backend_gone(PgCluster& pg, int pid)
{
    return wait_for([&] {
        return pg.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", {std::to_string(pid)})
                   .at(0) == "0";
    }, 5s);
}

} // namespace

TEST_CASE("exec: parameters in, typed values out")
{
    Adapter adapter{options_for(shared_cluster(), "adapter-exec")};
    Connection c = connect(adapter);

    SUBCASE("every parameter type round-trips")
    {
        std::string s = "text with 'quotes' and \\";
        std::optional<int> none;
        Result r = c.exec("SELECT $1::int, $2::bigint, $3::float8, $4::bool, $5::text, $6::text, $7::text, "
                          "$8::int, $9::int, $10::text",
                          42, 9'000'000'000LL, 2.5, true, s, std::string_view("view"), "literal", nullptr, none,
                          std::optional<std::string>("opt"));
        REQUIRE(r.rows() == 1);
        CHECK(r.columns() == 10);
        CHECK(r.get<int>(0, 0) == 42);
        CHECK(r.get<long long>(0, 1) == 9'000'000'000LL);
        CHECK(r.get<double>(0, 2) == 2.5);
        CHECK(r.get<bool>(0, 3));
        CHECK(r.get<std::string>(0, 4) == s);
        CHECK(r.get<std::string_view>(0, 5) == "view");
        CHECK(r.get<std::string>(0, 6) == "literal");
        CHECK(r.is_null(0, 7));
        CHECK(r.get<std::optional<int>>(0, 8) == std::nullopt);
        CHECK(r.get<std::optional<std::string>>(0, 9) == "opt");
    }
    SUBCASE("columns by name, several rows, command status")
    {
        Result r = c.exec("SELECT g AS n, g * 2 AS twice FROM generate_series(1, 5) g");
        CHECK(r.rows() == 5);
        CHECK(r.column_name(1) == "twice");
        CHECK(r.column_index("n") == 0);
        for (int row = 0; row < r.rows(); ++row) CHECK(r.get<int>(row, "twice") == 2 * (row + 1));
        CHECK(r.command_status() == "SELECT 5");
        CHECK(r.affected_rows() == 5);
        CHECK(c.exec("SELECT count(*) FROM generate_series(1, 7)").value<long>() == 7);
    }
    SUBCASE("without parameters: the simple protocol, several statements, the last result")
    {
        CHECK(c.exec("SELECT 1; SELECT 2").value<int>() == 2);
        Result r = c.exec("CREATE TEMP TABLE t (x int); INSERT INTO t SELECT generate_series(1, 3)");
        CHECK(r.affected_rows() == 3);
    }
    SUBCASE("special floating point values and booleans")
    {
        Result r = c.exec("SELECT 'NaN'::float8, 'Infinity'::float8, '-Infinity'::float8, $1::float8, false",
                          std::numeric_limits<double>::infinity());
        CHECK(std::isnan(r.get<double>(0, 0)));
        CHECK(r.get<double>(0, 1) == std::numeric_limits<double>::infinity());
        CHECK(r.get<double>(0, 2) == -std::numeric_limits<double>::infinity());
        CHECK(r.get<double>(0, 3) == std::numeric_limits<double>::infinity());
        CHECK_FALSE(r.get<bool>(0, 4));
    }
    SUBCASE("misuse of results is a usage error, not a crash")
    {
        Result r = c.exec("SELECT NULL::int AS a, 'abc' AS b, 300 AS c");
        auto kind_of = [](auto fn) {
            try {
                fn();
            } catch (const Error& e) {
                return e.kind();
            }
            return ErrorKind::config;  // "no error"
        };
        CHECK(kind_of([&] { (void)r.get<int>(0, 0); }) == ErrorKind::usage);
        CHECK(kind_of([&] { (void)r.get<int>(0, "b"); }) == ErrorKind::usage);
        CHECK(kind_of([&] { (void)r.get<std::int8_t>(0, 2); }) == ErrorKind::usage);
        CHECK(kind_of([&] { (void)r.get<int>(1, 0); }) == ErrorKind::usage);
        CHECK(kind_of([&] { (void)r.get<int>(0, "missing"); }) == ErrorKind::usage);
        CHECK(kind_of([&] { (void)r.value<int>(); }) == ErrorKind::usage);
        try {
            (void)r.get<int>(0, 0);
        } catch (const Error& e) {
            CHECK(contains(e.what(), "column \"a\" row 0 is NULL"));
        }
    }
    SUBCASE("Result owns its PGresult and hands it over on request")
    {
        Result r = c.exec("SELECT 1");
        Result moved = std::move(r);
        CHECK_FALSE(r);
        CHECK(moved.rows() == 1);
        pg_result* raw = moved.release();
        CHECK_FALSE(moved);
        PQclear(raw);
    }
    SUBCASE("prepared statements")
    {
        c.prepare("add", "SELECT $1::int + $2::int");
        CHECK(c.exec_prepared("add", 2, 3).value<int>() == 5);
        CHECK(c.exec_prepared("add", 10, -1).value<int>() == 9);
        CHECK_THROWS_AS(c.exec_prepared("nope", 1), Error);
    }
}

TEST_CASE("server errors carry the SQLSTATE and leave the connection usable")
{
    Adapter adapter{options_for(shared_cluster(), "adapter-errors")};
    Connection c = connect(adapter);
    auto error_of = [&](const char* sql) {
        try {
            c.exec(sql);
        } catch (const Error& e) {
            return e;
        }
        FAIL("no error from " << sql);
        return Error(ErrorKind::usage, "");
    };
    Error div = error_of("SELECT 1/0");
    CHECK(div.kind() == ErrorKind::query);
    CHECK(div.sqlstate() == "22012");
    CHECK(div.server_message() == "division by zero");
    CHECK(contains(div.what(), "division by zero (SQLSTATE 22012)"));
    CHECK_FALSE(div.connection_error());

    Error syntax = error_of("SELEC 1");
    CHECK(syntax.sqlstate() == "42601");
    Error missing = error_of("SELECT * FROM no_such_table");
    CHECK(missing.sqlstate() == "42P01");
    Error hinted = error_of("SELECT no_such_function(1)");
    CHECK(!hinted.hint().empty());

    CHECK_FALSE(c.broken());
    CHECK_FALSE(adapter.is_broken(c));
    CHECK(c.exec("SELECT 3").value<int>() == 3);
}

TEST_CASE("create: setup statements, network defaults on the socket, unix sockets")
{
    PgCluster& pg = shared_cluster();
    SUBCASE("setup statements run on every new connection")
    {
        Options o = options_for(pg, "adapter-setup");
        o.setup = {"SET statement_timeout = '1234ms'", "SET search_path = pg_catalog"};
        Adapter adapter{o};
        Connection c = connect(adapter);
        CHECK(c.exec("SHOW statement_timeout").value<std::string>() == "1234ms");
        CHECK(c.exec("SHOW search_path").value<std::string>() == "pg_catalog");
    }
    SUBCASE("a failing setup statement fails the create, naming which")
    {
        Options o = options_for(pg, "adapter-setup-bad");
        o.setup = {"SET statement_timeout = 0", "SET no_such_setting = 1"};
        Adapter adapter{o};
        try {
            connect(adapter);
            FAIL("created");
        } catch (const Error& e) {
            CHECK(contains(e.what(), "setup statement 2 of 2 (Options::setup) failed"));
            CHECK(e.sqlstate() == "42704");
            CHECK(e.operation() == "setup");
            CHECK(e.endpoint() == adapter.target());
        }
        CHECK(wait_for([&] { return pg.count_connections("adapter-setup-bad") == 0; }, 2s));
    }
    SUBCASE("keepalives and TCP_USER_TIMEOUT are set on the socket; the string's values win")
    {
        if (shared_cluster().is_external() && !shared_cluster().host().empty() && shared_cluster().host()[0] == '/') {
            MESSAGE("RESPOOL_TEST_PG_DSN names a unix socket: TCP socket options not checked");
            return;
        }
        Adapter defaults{options_for(pg, "adapter-sockopt")};
        Connection c = connect(defaults);
        int fd = PQsocket(c.raw());
        CHECK(socket_option(fd, SOL_SOCKET, SO_KEEPALIVE) == 1);
        CHECK(socket_option(fd, IPPROTO_TCP, TCP_KEEPIDLE) == 4);
        CHECK(socket_option(fd, IPPROTO_TCP, TCP_KEEPINTVL) == 2);
        CHECK(socket_option(fd, IPPROTO_TCP, TCP_KEEPCNT) == 3);
        CHECK(socket_option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT) == 10000);

        Options o = options_for(pg, "adapter-sockopt");
        o.params.emplace_back("keepalives_idle", "7");
        o.network.tcp_user_timeout = 2500ms;
        Adapter custom{o};
        Connection d = connect(custom);
        CHECK(socket_option(PQsocket(d.raw()), IPPROTO_TCP, TCP_KEEPIDLE) == 7);
        CHECK(socket_option(PQsocket(d.raw()), IPPROTO_TCP, TCP_USER_TIMEOUT) == 2500);
    }
    SUBCASE("fallback_application_name is respool unless set")
    {
        Options o;
        o.conninfo = pg.conninfo();
        Adapter adapter{o};
        Connection c = connect(adapter);
        CHECK(c.exec("SHOW application_name").value<std::string>() == "respool");
    }
    SUBCASE("the unix socket")
    {
        if (pg.is_external()) {
            MESSAGE("RESPOOL_TEST_PG_DSN is set: its unix socket is not known, not checked");
            return;
        }
        Adapter adapter{pg.socket_conninfo()};
        Connection c = connect(adapter);
        CHECK(c.exec("SELECT 1").value<int>() == 1);
        CHECK(PQhost(c.raw()) == pg.socket_dir());
    }
}

TEST_CASE("is_broken and validate find a backend the server terminated while idle")
{
    PgCluster& pg = shared_cluster();
    Adapter adapter{options_for(pg, "adapter-terminate-idle")};
    Connection c = connect(adapter);
    CHECK_FALSE(adapter.is_broken(c));
    CHECK(adapter.validate(c, deadline_after(2s)));
    int pid = c.backend_pid();
    CHECK(pg.terminate_backends("adapter-terminate-idle") == 1);
    REQUIRE(backend_gone(pg, pid));
    // No round trip: the FATAL notice and the EOF were waiting in the socket.
    CHECK(wait_for([&] { return adapter.is_broken(c); }, 2s));
    CHECK_FALSE(adapter.validate(c, deadline_after(2s)));
}

TEST_CASE("a query on a terminated backend fails as connection_lost and marks the connection")
{
    PgCluster& pg = shared_cluster();
    Adapter adapter{options_for(pg, "adapter-terminate-leased")};
    Connection c = connect(adapter);
    int pid = c.backend_pid();
    CHECK(pg.terminate_backends("adapter-terminate-leased") == 1);
    REQUIRE(backend_gone(pg, pid));
    try {
        c.exec("SELECT 1");
        FAIL("query succeeded on a terminated backend");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::connection_lost);
        CHECK(e.connection_error());
        CHECK((e.sqlstate() == "57P01" || e.sqlstate() == "08006"));
    }
    CHECK(c.broken());
    CHECK(adapter.is_broken(c));
    CHECK_THROWS_AS(adapter.reset(c), Error);
}

TEST_CASE("P7: reset rolls back what a holder left behind")
{
    PgCluster& pg = shared_cluster();
    Adapter adapter{options_for(pg, "adapter-reset")};
    Connection c = connect(adapter);
    Connection observer = connect(adapter);
    observer.exec("CREATE TABLE IF NOT EXISTS reset_probe (x int)");
    observer.exec("TRUNCATE reset_probe");

    SUBCASE("an open transaction")
    {
        c.exec("BEGIN");
        c.exec("INSERT INTO reset_probe VALUES (1)");
        CHECK(c.transaction_status() == TransactionStatus::in_transaction);
        CHECK_FALSE(adapter.is_broken(c));
        adapter.reset(c);
        CHECK(c.transaction_status() == TransactionStatus::idle);
        CHECK(observer.exec("SELECT count(*) FROM reset_probe").value<int>() == 0);
    }
    SUBCASE("a failed transaction")
    {
        c.exec("BEGIN");
        CHECK_THROWS_AS(c.exec("SELECT 1/0"), Error);
        CHECK(c.transaction_status() == TransactionStatus::in_error);
        CHECK_FALSE(adapter.is_broken(c));
        adapter.reset(c);
        CHECK(c.transaction_status() == TransactionStatus::idle);
        CHECK(c.exec("SELECT 5").value<int>() == 5);
    }
    SUBCASE("an idle connection costs no statement")
    {
        c.exec("SELECT 42 AS marker");
        adapter.reset(c);
        CHECK(c.transaction_status() == TransactionStatus::idle);
        CHECK(pg.query("SELECT query FROM pg_stat_activity WHERE pid = $1", {std::to_string(c.backend_pid())})
                  .at(0) == "SELECT 42 AS marker");
    }
    SUBCASE("a statement still running: reset refuses and marks it broken")
    {
        REQUIRE(PQsendQuery(c.raw(), "SELECT pg_sleep(0.2)") == 1);
        CHECK(c.transaction_status() == TransactionStatus::active);
        CHECK(adapter.is_broken(c));
        CHECK_THROWS_AS(adapter.reset(c), Error);
        CHECK(c.broken());
    }
    SUBCASE("the configured reset statement")
    {
        Options o = options_for(pg, "adapter-reset-statement");
        o.reset_statement = "RESET ALL";
        Adapter resetting{o};
        Connection r = connect(resetting);
        r.exec("SET statement_timeout = '7s'");
        resetting.reset(r);
        CHECK(r.exec("SHOW statement_timeout").value<std::string>() == "0");
    }
}

TEST_CASE("client-side deadlines: the statement is cancelled on the server")
{
    PgCluster& pg = shared_cluster();
    Options o = options_for(pg, "adapter-timeout");
    o.query_timeout = 400ms;
    Adapter adapter{o};
    Connection c = connect(adapter);
    int pid = c.backend_pid();
    Stopwatch sw;
    try {
        c.exec("SELECT pg_sleep(30)");
        FAIL("pg_sleep(30) returned");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::timeout);
        CHECK(contains(e.what(), "cancel requested"));
    }
    CHECK(sw.elapsed() >= 400ms);
    CHECK(sw.elapsed() <= 400ms + tolerance);
    CHECK(c.broken());
    // The cancel reached the server: the backend stops sleeping long before 30 s.
    CHECK(wait_for([&] {
        return pg.query("SELECT state FROM pg_stat_activity WHERE pid = $1", {std::to_string(pid)})
                   .at(0) != "active";
    }, 3s));

    SUBCASE("exec_until with its own deadline")
    {
        Connection d = connect(adapter);
        sw.restart();
        CHECK_THROWS_AS(d.exec_until(deadline_after(300ms), "SELECT pg_sleep(30)"), Error);
        CHECK(sw.elapsed() >= 300ms);
        CHECK(sw.elapsed() <= 300ms + tolerance);
    }
    SUBCASE("validate with an expired deadline fails without a round trip")
    {
        Connection d = connect(adapter);
        sw.restart();
        CHECK_FALSE(adapter.validate(d, respool::SteadyClock::now()));
        CHECK(sw.elapsed() <= tolerance);
    }
}

TEST_CASE("milliseconds::max() as query_timeout and reset_timeout means no timeout, not an overflow")
{
    PgCluster& pg = shared_cluster();
    Options o = options_for(pg, "adapter-max-timeouts");
    o.query_timeout = std::chrono::milliseconds::max();
    o.reset_timeout = std::chrono::milliseconds::max();
    Adapter adapter{o};
    Connection c = connect(adapter);
    Stopwatch sw;
    CHECK(c.exec("SELECT pg_sleep(0.2), 7").get<int>(0, 1) == 7);  // an overflowed deadline would be in the past
    CHECK(sw.elapsed() >= 200ms);
    c.exec("BEGIN");
    CHECK_NOTHROW(adapter.reset(c));
    CHECK(c.transaction_status() == respool::pg::TransactionStatus::idle);
    CHECK_FALSE(c.broken());
    // Just below the clock's range: saturates the same way.
    o.query_timeout = std::chrono::milliseconds(std::chrono::milliseconds::max().count() - 1);
    Adapter near_max{o};
    Connection d = connect(near_max);
    CHECK(d.exec("SELECT 1").value<int>() == 1);
}

TEST_CASE("notices go to the notice handler")
{
    Options o = options_for(shared_cluster(), "adapter-notice");
    std::vector<std::string> notices;
    o.notice_handler = [&](std::string_view severity, std::string_view message) {
        notices.push_back(std::string(severity) + "|" + std::string(message));
    };
    Adapter adapter{o};
    Connection c = connect(adapter);
    c.exec("DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$");
    REQUIRE(notices.size() == 1);
    CHECK(notices[0] == "NOTICE|NOTICE:  hello 42");
}

TEST_CASE("destroy and close leave an empty connection")
{
    Adapter adapter{options_for(shared_cluster(), "adapter-destroy")};
    Connection c = connect(adapter);
    adapter.destroy(c);
    CHECK_FALSE(c);
    CHECK(c.broken());
    CHECK(adapter.is_broken(c));
    CHECK(c.backend_pid() == 0);
    CHECK_THROWS_AS(c.exec("SELECT 1"), Error);
    Connection moved = connect(adapter);
    Connection target = std::move(moved);
    CHECK_FALSE(moved);
    CHECK(target.exec("SELECT 1").value<int>() == 1);
}
