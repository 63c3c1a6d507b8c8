// TLS on top of the TCP adapter, against a real OpenSSL server with
// certificates generated for this run: verification on by default, each
// failure distinct and clear, the handshake bounded by the deadline.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>

#include <respool/error.hpp>
#include <respool/tcp.hpp>

#include "local_servers/echo_server.hpp"
#include "local_servers/test_pki.hpp"
#include "tcp_test_util.hpp"

using namespace tcp_test;
using respool::tcp::Adapter;
using respool::tcp::Errc;
using respool::tcp::Options;
using respool::tcp::Socket;
using respool::test::EchoServer;
using respool::test::EchoServerOptions;

namespace {

respool::test::TestPki& pki()
{
    static respool::test::TestPki instance;  // one PKI per run: generated once
    return instance;
}

/// The error of connecting with `o` to a TLS server presenting cert/key.
std::optional<respool::tcp::Error> tls_failure(const std::string& cert, const std::string& key,
                                               Options o = {})
{
    EchoServer server(tls_server(pki(), cert, key));
    if (o.host.empty()) o = tls(server.port(), pki());
    o.port = server.port();
    return error_of([&] { Adapter(o).create(in(3s)); });
}

bool contains(const respool::tcp::Error& e, const std::string& text)
{
    return std::string(e.what()).find(text) != std::string::npos;
}

} // namespace

TEST_CASE("a verified TLS connection")
{
    EchoServer server(tls_server(pki()));
    SUBCASE("by host name: SNI sent, echo works, TLS 1.2 or newer")
    {
        Adapter adapter(tls(server.port(), pki()));
        Socket s = adapter.create(in(3s));
        CHECK(s.is_tls());
        CHECK((s.tls_version() == "TLSv1.3" || s.tls_version() == "TLSv1.2"));
        CHECK(server.last_sni() == "localhost");
        s.write_frame("secret-free payload", in(2s));
        CHECK(s.read_frame(in(2s)) == "secret-free payload");
        s.write_all(std::string(200000, 's'), in(3s));
        CHECK(s.read_exact(200000, in(3s)) == std::string(200000, 's'));
    }
    SUBCASE("by IP literal: checked against the IP SAN, no SNI")
    {
        Socket s = Adapter(tls(server.port(), pki(), "127.0.0.1")).create(in(3s));
        CHECK(server.last_sni().empty());
        s.write_line("ip", in(2s));
        CHECK(s.read_line(in(2s)) == "ip");
    }
    SUBCASE("server_name overrides the host for SNI and the check")
    {
        Options o = tls(server.port(), pki(), "127.0.0.1");
        o.tls->server_name = "localhost";
        Socket s = Adapter(o).create(in(3s));
        CHECK(server.last_sni() == "localhost");
    }
    SUBCASE("TLS 1.3 minimum")
    {
        Options o = tls(server.port(), pki());
        o.tls->min_version = "1.3";
        CHECK(Adapter(o).create(in(3s)).tls_version() == "TLSv1.3");
    }
    SUBCASE("session tickets arriving after the handshake do not count as unread bytes")
    {
        Adapter adapter(tls(server.port(), pki()));
        Socket s = adapter.create(in(3s));
        s.write_line("x", in(2s));
        CHECK(s.read_line(in(2s)) == "x");
        Socket fresh = adapter.create(in(3s));
        REQUIRE(readable_within(fresh, 2s));  // the tickets are there, unread
        CHECK_FALSE(adapter.is_broken(fresh));
        CHECK_FALSE(adapter.is_broken(fresh));
        fresh.write_line("y", in(2s));
        CHECK(fresh.read_line(in(2s)) == "y");
    }
}

TEST_CASE("certificate failures are tls_verify errors that say which check failed")
{
    auto& p = pki();
    struct Case {
        const char* what;
        std::string cert, key;
        const char* host;
        const char* says;
    };
    const Case cases[] = {
        {"unknown CA", p.other_ca_server_cert, p.other_ca_server_key, "localhost",
         "unable to get local issuer certificate"},
        {"self-signed", p.self_signed_cert, p.self_signed_key, "localhost", "self-signed certificate"},
        {"wrong host name", p.wrong_host_cert, p.wrong_host_key, "localhost",
         "hostname mismatch (the certificate is not valid for 'localhost')"},
        {"wrong IP", p.wrong_host_cert, p.wrong_host_key, "127.0.0.1", "IP address mismatch"},
        {"no SAN: the subject CN is not accepted", p.no_san_cert, p.no_san_key, "localhost", "hostname mismatch"},
        {"expired", p.expired_cert, p.expired_key, "localhost", "certificate has expired"},
        {"not yet valid", p.not_yet_valid_cert, p.not_yet_valid_key, "localhost", "certificate is not yet valid"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        Options o;
        o.host = c.host;
        o.tls = respool::tcp::TlsOptions{.ca_file = p.ca_cert};
        auto e = tls_failure(c.cert, c.key, o);
        REQUIRE(e);
        CHECK(e->kind() == Errc::tls_verify);
        CHECK(contains(*e, c.says));
    }
    SUBCASE("the system store does not trust the test CA either")
    {
        Options o;
        o.host = "localhost";
        o.tls = respool::tcp::TlsOptions{};  // no CA given: the system store
        auto e = tls_failure(p.server_cert, p.server_key, o);
        REQUIRE(e);
        CHECK(e->kind() == Errc::tls_verify);
    }
}

TEST_CASE("handshake failures other than verification")
{
    auto& p = pki();
    SUBCASE("a server offering only TLS 1.0")
    {
        auto so = tls_server(p);
        so.min_tls = so.max_tls = EchoServerOptions::TlsVersion::tls1_0;
        EchoServer server(so);
        auto e = error_of([&] { Adapter(tls(server.port(), p)).create(in(3s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::tls_handshake);
        MESSAGE(std::string(e->what()));
    }
    SUBCASE("a peer that never answers the handshake: ends at the deadline")
    {
        EchoServerOptions so = tls_server(p);
        so.behaviour = EchoServerOptions::Behaviour::silent;
        EchoServer server(so);
        Stopwatch w;
        auto e = error_of([&] { Adapter(tls(server.port(), p)).create(in(400ms)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::timeout);
        CHECK(contains(*e, "TLS handshake did not complete before the deadline"));
        TCP_CHECK_WINDOW(w.elapsed(), 400ms, 400ms + slack);
    }
    SUBCASE("a peer that is not speaking TLS")
    {
        EchoServer server(EchoServerOptions{.behaviour = EchoServerOptions::Behaviour::garbage});
        Stopwatch w;
        auto e = error_of([&] { Adapter(tls(server.port(), p)).create(in(3s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::tls_handshake);
        CHECK(w.elapsed() < 1s);
        MESSAGE(std::string(e->what()));
    }
    SUBCASE("a plain echo server: our ClientHello comes back as garbage")
    {
        EchoServer server;
        auto e = error_of([&] { Adapter(tls(server.port(), p)).create(in(3s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::tls_handshake);
    }
}

TEST_CASE("client certificates")
{
    auto& p = pki();
    auto so = tls_server(p);
    so.client_ca_file = p.ca_cert;
    EchoServer server(so);
    SUBCASE("presented: accepted")
    {
        Options o = tls(server.port(), p);
        o.tls->client_cert_file = p.client_cert;
        o.tls->client_key_file = p.client_key;
        Socket s = Adapter(o).create(in(3s));
        s.write_line("mutual", in(2s));
        CHECK(s.read_line(in(2s)) == "mutual");
    }
    SUBCASE("missing: the server's refusal surfaces as a typed error, no hang")
    {
        auto e = error_of([&] {
            Socket s = Adapter(tls(server.port(), p)).create(in(3s));
            s.write_line("anonymous", in(2s));  // TLS 1.3: the refusal comes after the handshake
            s.read_line(in(2s));
        });
        REQUIRE(e);
        CHECK(e->kind() == Errc::tls_handshake);
        CHECK(contains(*e, "certificate required"));
        MESSAGE(std::string(e->what()));
    }
}

TEST_CASE("insecure_skip_verify: connects to anything, and says so once")
{
    auto& p = pki();
    EchoServer server(tls_server(p, p.self_signed_cert, p.self_signed_key));
    std::mutex m;
    std::vector<std::string> warnings;
    Options o = tls(server.port(), p);
    o.tls->insecure_skip_verify = true;
    o.logger = [&](respool::LogLevel level, std::string_view text) {
        std::lock_guard lock(m);
        CHECK(level == respool::LogLevel::warning);
        warnings.emplace_back(text);
    };
    Adapter adapter(o);
    for (int i = 0; i < 3; ++i) {
        Socket s = adapter.create(in(3s));
        s.write_line("trusting", in(2s));
        CHECK(s.read_line(in(2s)) == "trusting");
    }
    Adapter copy = adapter;  // copies share the configuration: no second warning
    copy.create(in(3s));
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("insecure_skip_verify") != std::string::npos);
    CHECK(warnings[0].find("OFF") != std::string::npos);
}
