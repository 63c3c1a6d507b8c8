// Connection strings, option checks and redaction: no server needed.
#include <doctest/doctest.h>

#include <respool/pg.hpp>

#include "pg_test_util.hpp"

using respool::pg::Adapter;
using respool::pg::Error;
using respool::pg::ErrorKind;
using respool::pg::Options;
using respool::test::contains;

namespace {

// The error a configuration raises; fails the test if none, or if it does
// not name `field`.
respool::InvalidOptions config_error(const Options& o, const std::string& field = "")
{
    try {
        Adapter a{o};
        FAIL("accepted: " << a.describe());
    } catch (const respool::InvalidOptions& e) {
        if (!field.empty()) CHECK_MESSAGE(e.field() == field, e.what());
        CHECK(contains(e.what(), "Options::" + e.field()));
        return e;
    }
    return respool::InvalidOptions("unreachable", "");
}

respool::InvalidOptions config_error(const std::string& conninfo)
{
    Options o;
    o.conninfo = conninfo;
    return config_error(o, "conninfo");
}

} // namespace

TEST_CASE("key=value strings parse like libpq's")
{
    SUBCASE("plain, quoted and escaped values")
    {
        Adapter a{R"(host=db.example port = 6432 dbname='my app' user=o\'neil)"};
        std::string d = a.describe();
        CHECK(contains(d, "host=db.example port=6432 dbname='my app' user='o\\'neil'"));
        CHECK(contains(a.target(), "host=db.example"));
        CHECK(contains(a.target(), "user='o\\'neil'"));
    }
    SUBCASE("an empty string means libpq's defaults")
    {
        Adapter a{""};
        CHECK(contains(a.describe(), "keepalives=1"));
    }
    SUBCASE("network defaults are added and the string's own values win")
    {
        Adapter a{"host=h keepalives_idle=30"};
        std::string d = a.describe();
        CHECK(contains(d, "keepalives_idle=30"));
        CHECK(contains(d, "keepalives=1"));
        CHECK(contains(d, "keepalives_interval=2"));
        CHECK(contains(d, "keepalives_count=3"));
        CHECK(contains(d, "tcp_user_timeout=10000"));
        CHECK(contains(d, "fallback_application_name=respool"));
    }
    SUBCASE("params override the string")
    {
        Options o;
        o.conninfo = "host=a dbname=first";
        o.params = {{"dbname", "second"}, {"sslmode", "require"}};
        Adapter a{o};
        CHECK(contains(a.describe(), "dbname=second"));
        CHECK(!contains(a.describe(), "first"));
        CHECK(contains(a.describe(), "sslmode=require"));
    }
}

TEST_CASE("postgresql:// URIs parse like libpq's")
{
    SUBCASE("user, password, host, port, database and parameters")
    {
        Adapter a{"postgresql://me:s%40cret@db.example:6432/app?sslmode=verify-full&application_name=x%20y"};
        std::string d = a.describe();
        CHECK(contains(d, "user=me"));
        CHECK(contains(d, "password=***"));
        CHECK(contains(d, "host=db.example"));
        CHECK(contains(d, "port=6432"));
        CHECK(contains(d, "dbname=app"));
        CHECK(contains(d, "sslmode=verify-full"));
        CHECK(contains(d, "application_name='x y'"));
        CHECK(!contains(d, "s@cret"));
    }
    SUBCASE("several hosts, IPv6 literals, the short scheme")
    {
        Adapter a{"postgres://[::1]:5432,db2:5433/app"};
        CHECK(contains(a.describe(), "host=::1,db2"));
        CHECK(contains(a.describe(), "port=5432,5433"));
    }
    SUBCASE("no host: the default unix socket")
    {
        Adapter a{"postgresql:///app"};
        CHECK(!contains(a.describe(), "host="));
        CHECK(contains(a.describe(), "dbname=app"));
    }
    SUBCASE("ssl=true is sslmode=require")
    {
        Adapter a{"postgresql://h/db?ssl=true"};
        CHECK(contains(a.describe(), "sslmode=require"));
    }
}

TEST_CASE("bad connection strings fail at construction, clearly and without secrets")
{
    SUBCASE("a misspelt option is named, with a suggestion")
    {
        auto e = config_error("host=db sslmod=require");
        CHECK(contains(e.what(), "unknown connection option \"sslmod\""));
        CHECK(contains(e.what(), "did you mean \"sslmode\""));
        CHECK(contains(e.what(), "offset 8"));
    }
    SUBCASE("an unknown word is located but not shown: it may be a piece of a password")
    {
        auto e = config_error("password=Tr0ub4dor dbname=x zq9vvk=1");
        CHECK(contains(e.what(), "unknown connection option"));
        CHECK(contains(e.what(), "offset 28"));
        CHECK(!contains(e.what(), "zq9vvk"));
        CHECK(!contains(e.what(), "Tr0ub4dor"));
    }
    SUBCASE("a password with a space but no quotes")
    {
        auto e = config_error("user=a password=correct horse dbname=x");
        CHECK(contains(e.what(), "expected \"=\""));
        CHECK(contains(e.what(), "single quotes"));
        CHECK(!contains(e.what(), "horse"));
        CHECK(!contains(e.what(), "correct"));
    }
    SUBCASE("an unterminated quote")
    {
        auto e = config_error("user=a password='open sesame dbname=x");
        CHECK(contains(e.what(), "unterminated quoted value"));
        CHECK(contains(e.what(), "option \"password\""));
        CHECK(!contains(e.what(), "sesame"));
    }
    SUBCASE("a bad percent-escape in the URI's password")
    {
        auto e = config_error("postgresql://u:pa%zzXyzzy@h/db");
        CHECK(contains(e.what(), "bad percent-escape in the URI's password at offset 17"));
        CHECK(!contains(e.what(), "pa%zz"));
        CHECK(!contains(e.what(), "Xyzzy"));
    }
    SUBCASE("a truncated percent-escape and %00")
    {
        CHECK(contains(config_error("postgresql://h/db%2").what(), "percent-escape in the URI's database name"));
        CHECK(contains(config_error("postgresql://u:ab%00cd@h/db").what(), "%00"));
    }
    SUBCASE("URI structure")
    {
        CHECK(contains(config_error("postgresql://[::1/db").what(), "missing ']'"));
        CHECK(contains(config_error("postgresql://h/db?sslmode").what(), "key=value"));
        CHECK(contains(config_error("postgresql://h/db?colour=red").what(), "unknown connection option"));
    }
    SUBCASE("values libpq would reject only at the first connect")
    {
        CHECK(contains(config_error("host=h port=70000").what(), "port \"70000\" is not from 1 to 65535"));
        CHECK(contains(config_error("postgresql://h:http/db").what(), "port is not a number (value not shown)"));
        CHECK(!contains(config_error("postgresql://h:http/db").what(), "http"));
        CHECK(contains(config_error("host=h port=5432,0").what(), "port 2 of 2 \"0\""));
        CHECK(contains(config_error("host=h sslmode=sometimes").what(), "sslmode is not one of"));
        CHECK(contains(config_error("host='' dbname=x").what(), "host is empty"));
    }
    SUBCASE("Options::params keys are checked too")
    {
        Options o;
        o.params = {{"pasword", "x"}};
        CHECK(contains(config_error(o, "params").what(), "did you mean \"password\""));
        o.params = {{"port", "SuperSecret"}};
        CHECK(!contains(config_error(o, "params").what(), "SuperSecret"));
    }
    SUBCASE("adapter options")
    {
        Options o;
        o.query_timeout = std::chrono::milliseconds(-1);
        CHECK(contains(config_error(o, "query_timeout").what(), "must not be negative"));
        o = Options{};
        o.reset_timeout = std::chrono::milliseconds(0);
        CHECK(contains(config_error(o, "reset_timeout").what(), "must be positive"));
        o = Options{};
        o.network.keepalives_count = 0;
        config_error(o, "network.keepalives_count");
        o = Options{};
        o.network.keepalives_idle = std::chrono::seconds(0);
        config_error(o, "network.keepalives_idle");
        o = Options{};
        o.network.tcp_user_timeout = std::chrono::milliseconds(-5);
        config_error(o, "network.tcp_user_timeout");
        o = Options{};
        o.setup = {"SET x = 1", ""};
        CHECK(contains(config_error(o, "setup").what(), "statement 2 is empty"));
    }
    SUBCASE("transaction pooling keeps no session state")
    {
        Options o;
        o.transaction_pooling = true;
        o.setup = {"SET search_path = app"};
        CHECK(contains(config_error(o, "setup").what(), "transaction_pooling"));
        o.setup.clear();
        o.reset_statement = "DISCARD ALL";
        CHECK(contains(config_error(o, "reset_statement").what(), "transaction_pooling"));
        o.reset_statement.clear();
        CHECK_NOTHROW(Adapter{o});
    }
}

TEST_CASE("describe() and target() never show a password")
{
    const std::string tricky = "p a'ss\\w%rd\"x";
    Options o;
    o.conninfo = "host=h user=u dbname=d password='p a\\'ss\\\\w%rd\"x'";
    Adapter kv{o};
    Adapter uri{"postgresql://u:p%20a'ss%5Cw%25rd%22x@h/d"};
    Options p;
    p.params = {{"host", "h"}, {"password", tricky}, {"sslpassword", "key-passphrase"}};
    Adapter params{p};
    for (const Adapter* a : {&kv, &uri, &params}) {
        CAPTURE(a->describe());
        CHECK(contains(a->describe(), "password=***"));
        CHECK(!contains(a->describe(), "ss\\w%rd"));
        CHECK(!contains(a->describe(), "ss\\\\w%rd"));
        CHECK(!contains(a->target(), "ss\\w%rd"));
        CHECK(!contains(a->describe(), "passphrase"));
    }
}

TEST_CASE("Error: kinds and connection-class SQLSTATEs")
{
    using respool::pg::is_connection_sqlstate;
    CHECK(is_connection_sqlstate("08006"));
    CHECK(is_connection_sqlstate("08P01"));
    CHECK(is_connection_sqlstate("57P01"));
    CHECK(is_connection_sqlstate("57P02"));
    CHECK(is_connection_sqlstate("57P03"));
    CHECK_FALSE(is_connection_sqlstate("57014"));
    CHECK_FALSE(is_connection_sqlstate("22012"));
    CHECK_FALSE(is_connection_sqlstate(""));
    CHECK(Error(ErrorKind::query, "x", "57P01").connection_error());
    CHECK(Error(ErrorKind::timeout, "x").connection_error());
    CHECK_FALSE(Error(ErrorKind::query, "x", "23505").connection_error());
    CHECK(respool::pg::to_string(ErrorKind::connection_lost) == "connection_lost");
    const std::runtime_error& base = Error(ErrorKind::query, "boom");
    CHECK(std::string(base.what()) == "boom");
    // The one base of every adapter's errors: code in respool.pg, operation, endpoint, fatal().
    const Error located(Error(ErrorKind::connect, "auth failed", "28P01"), "connect", "host=db port=5432");
    const respool::AdapterError& adapter_error = located;
    CHECK(std::string(adapter_error.what()) == "auth failed");
    CHECK(adapter_error.operation() == "connect");
    CHECK(adapter_error.endpoint() == "host=db port=5432");
    CHECK(adapter_error.code() == ErrorKind::connect);
    CHECK(std::string(adapter_error.code().category().name()) == "respool.pg");
    CHECK(adapter_error.code().message() == "connect");
    CHECK(adapter_error.fatal());
    CHECK(located.sqlstate() == "28P01");
    CHECK(located.kind() == ErrorKind::connect);
    CHECK_FALSE(Error(ErrorKind::connect, "refused").fatal());
    CHECK_FALSE(Error(ErrorKind::timeout, "slow", "28P01").fatal());
    CHECK(Error(ErrorKind::connect, "root certificate file \"x\" does not exist").fatal());
}

TEST_CASE("no piece of a password leaks from a URI with unencoded '@' or '/'")
{
    SUBCASE("'@' in the password: the user info ends at the last '@'")
    {
        Adapter a{"postgresql://app:Tr0ub@dor-Secret-9@db.example/orders"};
        CAPTURE(a.describe());
        CHECK(contains(a.describe(), "user=app"));
        CHECK(contains(a.describe(), "host=db.example"));
        CHECK(contains(a.describe(), "dbname=orders"));
        CHECK(!contains(a.describe(), "dor-Secret"));
        CHECK(!contains(a.target(), "dor-Secret"));
        CHECK(!contains(a.describe(), "Tr0ub"));
    }
    SUBCASE("'/' in the password")
    {
        Adapter a{"postgresql://app:pa/ss-Secret-7@db.example:6432/orders"};
        CAPTURE(a.describe());
        CHECK(contains(a.describe(), "host=db.example"));
        CHECK(contains(a.describe(), "port=6432"));
        CHECK(contains(a.describe(), "dbname=orders"));
        CHECK(!contains(a.describe(), "ss-Secret"));
    }
    SUBCASE("an '@' in the query is not user info")
    {
        Adapter a{"postgresql://db.example/orders?user=me@corp"};
        CHECK(contains(a.describe(), "host=db.example"));
        CHECK(contains(a.describe(), "user=me@corp"));
    }
    SUBCASE("a port made of a password's piece is not echoed")
    {
        auto e = config_error("postgresql://app:SuperSecret");
        CAPTURE(e.what());
        CHECK(!contains(e.what(), "SuperSecret"));
        auto f = config_error("postgresql://app:Hunter-Two?x@h/db");
        CAPTURE(f.what());
        CHECK(!contains(f.what(), "Hunter"));
    }
    SUBCASE("the second word of an unquoted password is never shown")
    {
        auto e = config_error("user=a password=correct horsey=battery dbname=x");
        CAPTURE(e.what());
        CHECK(contains(e.what(), "offset 24"));
        CHECK(contains(e.what(), "unquoted password"));
        CHECK(!contains(e.what(), "horse"));
        CHECK(!contains(e.what(), "battery"));
        CHECK(!contains(e.what(), "correct"));
        // ... even when it is one letter from an option name
        auto f = config_error("password=correct hostt=x");
        CHECK(!contains(f.what(), "hostt"));
    }
}

TEST_CASE("describe() quotes every separator, so its output parses back")
{
    Options o;
    o.params = {{"host", "h"}, {"application_name", "a\rb\vc\fd\te\nf g'h\\i"}, {"dbname", "plain"}};
    Adapter a{o};
    std::string d = a.describe();
    CAPTURE(d);
    CHECK(contains(d, "application_name='a\rb\vc\fd\te\nf g\\'h\\\\i'"));
    Adapter back{d};
    CHECK(back.describe() == d);
}

TEST_CASE("Error: operation and endpoint")
{
    Error e(ErrorKind::query, "respool::pg: query failed", "23505", "dup");
    CHECK(e.operation().empty());
    CHECK(e.endpoint().empty());
    Error f(e, "query", "host=db port=5432");
    CHECK(f.operation() == "query");
    CHECK(f.endpoint() == "host=db port=5432");
    CHECK(f.sqlstate() == "23505");
    CHECK(f.server_message() == "dup");
    CHECK(std::string(f.what()) == e.what());
}
