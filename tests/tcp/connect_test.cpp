// Adapter::create and its options: bad input, resolving, connecting — every
// failure typed, clear, and bounded by the deadline.
#include <doctest/doctest.h>

#include <thread>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <respool/error.hpp>
#include <respool/tcp.hpp>

#include "local_servers/echo_server.hpp"
#include "local_servers/temp_dir.hpp"
#include "tcp_test_util.hpp"

using namespace tcp_test;
using respool::tcp::Adapter;
using respool::tcp::Errc;
using respool::tcp::Options;
using respool::test::EchoServer;
using respool::test::EchoServerOptions;

namespace {

/// The field named by the InvalidOptions that constructing an adapter throws.
std::string rejected_field(const Options& o)
{
    try {
        Adapter a(o);
    } catch (const respool::InvalidOptions& e) {
        CHECK(std::string(e.what()).find(e.field()) != std::string::npos);
        return e.field();
    }
    return "(accepted)";
}

int sockopt(const respool::tcp::Socket& s, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof v;
    REQUIRE(::getsockopt(s.native_handle(), level, name, &v, &len) == 0);
    return v;
}

} // namespace

TEST_CASE("bad options are rejected at construction, naming the field")
{
    Options o = plain(1234);
    CHECK(rejected_field(o) == "(accepted)");
    SUBCASE("host") {
        o.host = "";
        CHECK(rejected_field(o) == "host");
        o.host = "[::1]";
        CHECK(rejected_field(o) == "host");
        o.host = "a host";
        CHECK(rejected_field(o) == "host");
    }
    SUBCASE("port") {
        for (int p : {0, -1, 65536, 1 << 20}) {
            o.port = p;
            CHECK(rejected_field(o) == "port");
        }
        o.port = 65535;
        CHECK(rejected_field(o) == "(accepted)");
    }
    SUBCASE("keepalive and user timeout") {
        o.keepalive.idle = 0s;
        CHECK(rejected_field(o) == "keepalive.idle");
        o.keepalive.idle = 10s;
        o.keepalive.interval = 40000s;
        CHECK(rejected_field(o) == "keepalive.interval");
        o.keepalive.interval = 1s;
        o.keepalive.count = 0;
        CHECK(rejected_field(o) == "keepalive.count");
        o.keepalive.enabled = false;  // then its values do not matter
        CHECK(rejected_field(o) == "(accepted)");
        o.user_timeout = -1ms;
        CHECK(rejected_field(o) == "user_timeout");
    }
    SUBCASE("frame limits") {
        o.max_frame_size = 0;
        CHECK(rejected_field(o) == "max_frame_size");
        o.max_frame_size = std::size_t{1} << 33;
        CHECK(rejected_field(o) == "max_frame_size");
        o.max_frame_size = 1024;
        o.max_line_length = 0;
        CHECK(rejected_field(o) == "max_line_length");
    }
    SUBCASE("TLS") {
        respool::test::TestPki pki;
        o.tls = respool::tcp::TlsOptions{.ca_file = pki.ca_cert};
        CHECK(rejected_field(o) == "(accepted)");
        o.tls->min_version = "1.0";
        CHECK(rejected_field(o) == "tls.min_version");
        o.tls->min_version = "1.3";
        o.tls->ca_file = pki.dir.path() + "/missing-ca.pem";
        CHECK(rejected_field(o) == "tls.ca_file");
        o.tls->ca_file = pki.ca_cert;
        o.tls->client_cert_file = pki.client_cert;
        CHECK(rejected_field(o) == "tls.client_key_file");
        o.tls->client_key_file = pki.server_key;  // not the certificate's key
        CHECK(rejected_field(o) == "tls.client_key_file");
        o.tls->client_key_file = pki.client_key;
        CHECK(rejected_field(o) == "(accepted)");
    }
}

TEST_CASE("resolving")
{
    EchoServer server;
    SUBCASE("an unresolvable host fails with kind resolve, naming it")
    {
        Adapter a(plain(server.port(), "no-such-host.invalid"));
        Stopwatch w;
        auto e = error_of([&] { a.create(in(2000ms)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::resolve);
        CHECK(std::string(e->what()).find("no-such-host.invalid") != std::string::npos);
        CHECK(w.elapsed() <= 2000ms + slack);
    }
    SUBCASE("a resolver that hangs ends at the deadline")
    {
        Options o = plain(server.port(), "slow.example");
        o.resolver = [](const std::string&) {
            std::this_thread::sleep_for(1500ms);  // the adapter abandons this thread
            return std::vector<std::string>{"127.0.0.1"};
        };
        Adapter a(o);
        Stopwatch w;
        auto e = error_of([&] { a.create(in(300ms)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::timeout);
        CHECK(std::string(e->what()).find("resolving 'slow.example'") != std::string::npos);
        TCP_CHECK_WINDOW(w.elapsed(), 300ms, 300ms + slack);
    }
    SUBCASE("a resolver that throws or returns junk")
    {
        Options o = plain(server.port(), "svc.example");
        o.resolver = [](const std::string&) -> std::vector<std::string> {
            throw std::runtime_error("service registry unavailable");
        };
        auto e = error_of([&] { Adapter(o).create(in(1s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::resolve);
        CHECK(std::string(e->what()).find("service registry unavailable") != std::string::npos);
        o.resolver = [](const std::string&) { return std::vector<std::string>{"not-an-ip"}; };
        e = error_of([&] { Adapter(o).create(in(1s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::resolve);
        o.resolver = [](const std::string&) { return std::vector<std::string>{}; };
        e = error_of([&] { Adapter(o).create(in(1s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::resolve);
    }
    SUBCASE("a refused address moves on to the next one")
    {
        Options o = plain(server.port(), "dual.example");
        o.resolver = [](const std::string&) { return std::vector<std::string>{"::1", "127.0.0.1"}; };
        auto s = Adapter(o).create(in(2s));
        CHECK(s.peer() == "127.0.0.1:" + std::to_string(server.port()));
        s.write_line("hi", in(2s));
        CHECK(s.read_line(in(2s)) == "hi");
    }
}

TEST_CASE("connecting")
{
    SUBCASE("a refused port fails fast with kind refused")
    {
        Adapter a(plain(respool::test::free_tcp_port()));
        Stopwatch w;
        auto e = error_of([&] { a.create(in(5s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::refused);
        CHECK(e->code() == Errc::refused);
        CHECK(std::string(e->what()).find("connection refused") != std::string::npos);
        CHECK(w.elapsed() < 1s);
    }
    SUBCASE("a listener that never accepts (full backlog) ends at the deadline")
    {
        EchoServer server(EchoServerOptions{.behaviour = EchoServerOptions::Behaviour::never_accept});
        Adapter a(plain(server.port()));
        Stopwatch w;
        auto e = error_of([&] { a.create(in(400ms)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::timeout);
        CHECK(std::string(e->what()).find("did not complete before the deadline") != std::string::npos);
        TCP_CHECK_WINDOW(w.elapsed(), 400ms, 400ms + slack);
    }
    SUBCASE("an unroutable address is bounded by the deadline")
    {
        Adapter a(plain(9, "2001:db8::1"));
        Stopwatch w;
        auto e = error_of([&] { a.create(in(400ms)); });
        REQUIRE(e);
        CHECK((e->kind() == Errc::timeout || e->kind() == Errc::unreachable));
        CHECK(w.elapsed() <= 400ms + slack);
    }
    SUBCASE("an IPv6 literal")
    {
        EchoServerOptions so;
        so.ipv6 = true;
        EchoServer server(so);
        Adapter a(plain(server.port(), "::1"));
        CHECK(a.endpoint() == "[::1]:" + std::to_string(server.port()));
        auto s = a.create(in(2s));
        CHECK(s.peer() == "[::1]:" + std::to_string(server.port()));
        s.write_frame("over v6", in(2s));
        CHECK(s.read_frame(in(2s)) == "over v6");
    }
    SUBCASE("socket options are applied")
    {
        EchoServer server;
        Options o = plain(server.port());
        o.keepalive = {.enabled = true, .idle = 7s, .interval = 3s, .count = 4};
        o.user_timeout = 1234ms;
        auto s = Adapter(o).create(in(2s));
        CHECK(sockopt(s, IPPROTO_TCP, TCP_NODELAY) != 0);
        CHECK(sockopt(s, SOL_SOCKET, SO_KEEPALIVE) != 0);
        CHECK(sockopt(s, IPPROTO_TCP, TCP_KEEPIDLE) == 7);
        CHECK(sockopt(s, IPPROTO_TCP, TCP_KEEPINTVL) == 3);
        CHECK(sockopt(s, IPPROTO_TCP, TCP_KEEPCNT) == 4);
        CHECK(sockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT) == 1234);
        o.no_delay = false;
        o.keepalive.enabled = false;
        auto t = Adapter(o).create(in(2s));
        CHECK(sockopt(t, IPPROTO_TCP, TCP_NODELAY) == 0);
        CHECK(sockopt(t, SOL_SOCKET, SO_KEEPALIVE) == 0);
    }
}
