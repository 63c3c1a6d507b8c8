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

// The error a configuration raises; fails the test if none.
Error config_error(const Options& o)
{
    try {
        Adapter a{o};
        FAIL("accepted: " << a.describe());
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::config);
        return e;
    }
    return Error(ErrorKind::usage, "unreachable");
}

Error config_error(const std::string& conninfo)
{
    Options o;
    o.conninfo = conninfo;
    return config_error(o);
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
        Error e = config_error("host=db sslmod=require");
        CHECK(contains(e.what(), "unknown connection option \"sslmod\""));
        CHECK(contains(e.what(), "did you mean \"sslmode\""));
        CHECK(contains(e.what(), "offset 8"));
    }
    SUBCASE("an unknown word is located but not shown: it may be a piece of a password")
    {
        Error e = config_error("password=Tr0ub4dor dbname=x zq9vvk=1");
        CHECK(contains(e.what(), "unknown connection option"));
        CHECK(contains(e.what(), "offset 28"));
        CHECK(!contains(e.what(), "zq9vvk"));
        CHECK(!contains(e.what(), "Tr0ub4dor"));
    }
    SUBCASE("a password with a space but no quotes")
    {
        Error e = config_error("user=a password=correct horse dbname=x");
        CHECK(contains(e.what(), "expected \"=\""));
        CHECK(contains(e.what(), "single quotes"));
        CHECK(!contains(e.what(), "horse"));
        CHECK(!contains(e.what(), "correct"));
    }
    SUBCASE("an unterminated quote")
    {
        Error e = config_error("user=a password='open sesame dbname=x");
        CHECK(contains(e.what(), "unterminated quoted value"));
        CHECK(contains(e.what(), "option \"password\""));
        CHECK(!contains(e.what(), "sesame"));
    }
    SUBCASE("a bad percent-escape in the URI's password")
    {
        Error e = config_error("postgresql://u:pa%zzXyzzy@h/db");
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
        CHECK(contains(config_error("host=h port=70000").what(), "port \"70000\" is not a number from 1 to 65535"));
        CHECK(contains(config_error("postgresql://h:http/db").what(), "port \"http\""));
        CHECK(contains(config_error("host=h port=5432,0").what(), "port \"0\""));
        CHECK(contains(config_error("host=h sslmode=sometimes").what(), "sslmode \"sometimes\""));
        CHECK(contains(config_error("host='' dbname=x").what(), "host is empty"));
    }
    SUBCASE("Options::params keys are checked too")
    {
        Options o;
        o.params = {{"pasword", "x"}};
        CHECK(contains(config_error(o).what(), "did you mean \"password\""));
    }
    SUBCASE("adapter options")
    {
        Options o;
        o.query_timeout = std::chrono::milliseconds(-1);
        CHECK(contains(config_error(o).what(), "query_timeout"));
        o = Options{};
        o.reset_timeout = std::chrono::milliseconds(0);
        CHECK(contains(config_error(o).what(), "reset_timeout"));
        o = Options{};
        o.network.keepalives_count = 0;
        CHECK(contains(config_error(o).what(), "keepalives_count"));
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
}
