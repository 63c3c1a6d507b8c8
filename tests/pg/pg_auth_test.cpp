// Authentication and TLS against a throwaway cluster with scram passwords and
// a certificate made for this run: wrong password and unknown database are
// typed and fast, tricky passwords work in every syntax, no password ever
// reaches a message, a log line or the stats; sslmode=verify-full works and
// a host-name mismatch or an unknown CA fails clearly.
#include <doctest/doctest.h>

#include <mutex>
#include <thread>

#include <libpq-fe.h>

#include <respool/pg.hpp>
#include <respool/pool.hpp>

#include "pg_test_util.hpp"
#include "local_servers/test_pki.hpp"

using namespace respool::test;
using respool::deadline_after;
using respool::pg::Adapter;
using respool::pg::Connection;
using respool::pg::Error;
using respool::pg::ErrorKind;
using respool::pg::Options;

namespace {

TestPki& pki()
{
    static TestPki instance{"localhost"};
    return instance;
}

PgCluster& cluster()
{
    TestPki& p = pki();  // constructed first, so it outlives the cluster
    PgClusterOptions o;
    o.ssl_cert_file = p.server_cert;
    o.ssl_key_file = p.server_key;
    o.ssl_ca_file = p.ca_cert;
    return owned_cluster("need roles with known passwords and a TLS-enabled server", o);
}

std::string tcp_base(PgCluster& pg)
{
    return "host=127.0.0.1 port=" + std::to_string(pg.port()) + " dbname=" + pg.dbname();
}

// A value for key=value syntax: quoted, with ' and \ escaped.
std::string quote(const std::string& value)
{
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

std::string percent_encode(const std::string& value)
{
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : value) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

Error create_error(const Options& o, const std::vector<std::string>& secrets)
{
    Adapter adapter{o};
    Stopwatch sw;
    try {
        adapter.create(deadline_after(10s));
        FAIL("connected");
    } catch (const Error& e) {
        // Fast: refused long before the 10 s deadline. Generous for a loaded
        // machine, where two scram logins with TLS (sslmode=prefer tries
        // twice) can take over a second.
        CHECK(sw.elapsed() < 3s);
        for (const auto& s : secrets) CHECK_MESSAGE(!contains(e.what(), s), e.what());
        return e;
    }
    return Error(ErrorKind::usage, "unreachable");
}

Options with_conninfo(std::string conninfo)
{
    Options o;
    o.conninfo = std::move(conninfo);
    return o;
}

} // namespace

TEST_CASE("a wrong password is a typed, fast error without the password")
{
    PgCluster& pg = cluster();
    const std::string wrong = "Wrong-Pass-Visible-1";
    SUBCASE("key=value")
    {
        Error e = create_error(with_conninfo(tcp_base(pg) + " user=" + pg.user() + " password=" + wrong), {wrong});
        CHECK(e.kind() == ErrorKind::connect);
        CHECK(e.sqlstate() == "28P01");
        CHECK(contains(e.what(), "password authentication failed for user \"respool_test\""));
        CHECK(contains(e.server_message(), "password authentication failed"));
        CHECK(!contains(e.what(), "LOCATION"));
    }
    SUBCASE("in a URI")
    {
        Error e = create_error(with_conninfo("postgresql://" + pg.user() + ":" + wrong + "@127.0.0.1:" +
                                             std::to_string(pg.port()) + "/" + pg.dbname()),
                               {wrong});
        CHECK(e.sqlstate() == "28P01");
    }
    SUBCASE("through a pool: error, cause, log lines and stats stay clean")
    {
        std::mutex mutex;
        std::string logged;
        respool::PoolOptions po;
        po.max_size = 2;
        po.logger = [&](respool::LogLevel, std::string_view line) {
            std::lock_guard lock(mutex);
            logged += std::string(line) + "\n";
        };
        Options o = with_conninfo(tcp_base(pg) + " user=" + pg.user());
        o.params = {{"password", wrong}};
        respool::Pool pool{Adapter{o}, po};
        try {
            auto lease = pool.acquire(respool::AcquireOptions{.timeout = 3s});
            FAIL("acquired");
        } catch (const respool::CreateFailed& e) {
            CHECK(contains(e.what(), "28P01"));
            CHECK(!contains(e.what(), wrong));
            CHECK(!contains(e.last_error(), wrong));
            const Error* cause = pg_cause(e.cause());
            REQUIRE(cause != nullptr);
            CHECK(cause->sqlstate() == "28P01");
        }
        CHECK(!contains(respool::to_string(pool.stats()), wrong));
        pool.close();
        std::lock_guard lock(mutex);
        CHECK(!contains(logged, wrong));
    }
}

TEST_CASE("sslmode=prefer: a wrong password is said once, though libpq tried with and without TLS")
{
    PgCluster& pg = cluster();
    const std::string wrong = "Wrong-Pass-Prefer-2";
    auto failures_logged = [&] {
        const std::string line = "password authentication failed for user \"" + pg.user() + "\"";
        std::string log = pg.log();
        int n = 0;
        for (std::size_t at = log.find(line); at != std::string::npos; at = log.find(line, at + 1)) ++n;
        return n;
    };
    const int before = failures_logged();
    Options o = with_conninfo(tcp_base(pg) + " user=" + pg.user() + " sslmode=prefer");
    o.params = {{"password", wrong}};
    Error e = create_error(o, {wrong});
    CAPTURE(e.what());
    CHECK(e.sqlstate() == "28P01");
    CHECK(e.operation() == "connect");
    CHECK(e.endpoint() == Adapter{o}.target());
    std::string what = e.what();
    int said = 0;
    for (std::size_t at = what.find("password authentication failed"); at != std::string::npos;
         at = what.find("password authentication failed", at + 1))
        ++said;
    CHECK(said == 1);
    // The server saw both attempts (documented; sslmode=require or disable makes it one).
    CHECK(wait_for([&] { return failures_logged() >= before + 2; }, 2s));
    CHECK(failures_logged() == before + 2);

    const int before_require = failures_logged();
    Options required = o;
    required.conninfo = tcp_base(pg) + " user=" + pg.user() + " sslmode=require";
    create_error(required, {wrong});
    CHECK(wait_for([&] { return failures_logged() >= before_require + 1; }, 2s));
    std::this_thread::sleep_for(200ms);
    CHECK(failures_logged() == before_require + 1);
}

TEST_CASE("an unknown database is a typed error (3D000)")
{
    PgCluster& pg = cluster();
    Error e = create_error(with_conninfo("host=127.0.0.1 port=" + std::to_string(pg.port()) +
                                         " dbname=no_such_db user=" + pg.user() + " password=" + pg.password()),
                           {pg.password()});
    CHECK(e.kind() == ErrorKind::connect);
    CHECK(e.sqlstate() == "3D000");
    CHECK(contains(e.what(), "database \"no_such_db\" does not exist"));
}

TEST_CASE("passwords with quotes, spaces, backslashes and % work in every syntax and never leak")
{
    PgCluster& pg = cluster();
    const std::string tricky = "p a'ss\\w%rd\" 25%";
    pg.create_role("respool_tricky", tricky);
    auto who = [](const Options& o) {
        Adapter adapter{o};
        Connection c = adapter.create(deadline_after(10s));
        return c.exec("SELECT current_user").value<std::string>();
    };
    SUBCASE("key=value, quoted and escaped")
    {
        CHECK(who(with_conninfo(tcp_base(pg) + " user=respool_tricky password=" + quote(tricky))) == "respool_tricky");
    }
    SUBCASE("URI, percent-encoded")
    {
        CHECK(who(with_conninfo("postgresql://respool_tricky:" + percent_encode(tricky) + "@127.0.0.1:" +
                                std::to_string(pg.port()) + "/" + pg.dbname())) == "respool_tricky");
    }
    SUBCASE("Options::params, verbatim")
    {
        Options o = with_conninfo(tcp_base(pg));
        o.params = {{"user", "respool_tricky"}, {"password", tricky}};
        CHECK(who(o) == "respool_tricky");
    }
    SUBCASE("wrong, in each syntax: the attempted password is nowhere")
    {
        const std::string attempt = tricky + "X";
        Options p = with_conninfo(tcp_base(pg));
        p.params = {{"user", "respool_tricky"}, {"password", attempt}};
        for (const Options& o :
             {with_conninfo(tcp_base(pg) + " user=respool_tricky password=" + quote(attempt)),
              with_conninfo("postgresql://respool_tricky:" + percent_encode(attempt) + "@127.0.0.1:" +
                            std::to_string(pg.port()) + "/" + pg.dbname()),
              p}) {
            Error e = create_error(o, {attempt, tricky, percent_encode(attempt), "ss\\w%rd"});
            CHECK(e.sqlstate() == "28P01");
            CHECK(!contains(Adapter{o}.describe(), "ss\\w%rd"));
        }
    }
}

TEST_CASE("TLS through sslmode")
{
    PgCluster& pg = cluster();
    const std::string port = std::to_string(pg.port());
    const std::string login = " dbname=" + pg.dbname() + " user=" + pg.user() + " password=" + pg.password();
    SUBCASE("verify-full with the run's CA: encrypted, and the server agrees")
    {
        Adapter adapter{"host=localhost port=" + port + login + " sslmode=verify-full sslrootcert=" + pki().ca_cert};
        Connection c = adapter.create(deadline_after(10s));
        CHECK(PQsslInUse(c.raw()) == 1);
        CHECK(c.exec("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").value<bool>());
    }
    SUBCASE("verify-full and a host name the certificate does not name")
    {
        Error e = create_error(with_conninfo("host=db.respool.test hostaddr=127.0.0.1 port=" + port + login +
                                             " sslmode=verify-full sslrootcert=" + pki().ca_cert),
                               {pg.password()});
        CHECK(e.kind() == ErrorKind::connect);
        CHECK(contains(e.what(), "does not match host name \"db.respool.test\""));
    }
    SUBCASE("verify-full and a CA that did not sign the server's certificate")
    {
        Error e = create_error(with_conninfo("host=localhost port=" + port + login +
                                             " sslmode=verify-full sslrootcert=" + pki().other_ca_cert),
                               {pg.password()});
        CHECK(e.kind() == ErrorKind::connect);
        CHECK(contains(e.what(), "certificate verify failed"));
    }
    SUBCASE("require encrypts without checking; disable does not encrypt")
    {
        Adapter required{"host=127.0.0.1 port=" + port + login + " sslmode=require"};
        CHECK(PQsslInUse(required.create(deadline_after(10s)).raw()) == 1);
        Adapter plain{"host=127.0.0.1 port=" + port + login + " sslmode=disable"};
        CHECK(PQsslInUse(plain.create(deadline_after(10s)).raw()) == 0);
    }
    SUBCASE("a pool of verify-full connections serves queries")
    {
        respool::PoolOptions po;
        po.max_size = 2;
        respool::Pool pool{Adapter{"host=localhost port=" + port + login + " sslmode=verify-full sslrootcert=" +
                                   pki().ca_cert},
                           po};
        for (int i = 0; i < 5; ++i) CHECK(pool.acquire()->exec("SELECT $1::int", i).value<int>() == i);
    }
}
