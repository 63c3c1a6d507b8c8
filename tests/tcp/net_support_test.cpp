// Tests of the network test support itself (echo server, fault proxy, PKI,
// temp dirs), so that a fault in a test server is not blamed on the adapter.
// The client side here is plain blocking sockets with timeouts and raw OpenSSL.
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "local_servers/echo_server.hpp"
#include "support/fault_proxy.hpp"
#include "local_servers/temp_dir.hpp"
#include "local_servers/test_pki.hpp"

using namespace std::chrono_literals;
using respool::test::EchoServer;
using respool::test::EchoServerOptions;
using respool::test::FaultProxy;
using Clock = std::chrono::steady_clock;
using Behaviour = EchoServerOptions::Behaviour;

namespace {

/// A loopback client; recv() waits with poll and a timeout. Closes on destruction.
class Client {
public:
    explicit Client(std::uint16_t port, std::chrono::milliseconds connect_wait = 2000ms)
    {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        pollfd p{fd_, POLLOUT, 0};
        int err = -1;
        socklen_t len = sizeof err;
        if (::poll(&p, 1, static_cast<int>(connect_wait.count())) == 1)
            ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
        connected_ = err == 0;
        ::fcntl(fd_, F_SETFL, 0);  // blocking from now on (TLS below uses it so)
    }
    ~Client() { ::close(fd_); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    bool connected() const { return connected_; }
    int fd() const { return fd_; }
    /// Sends everything (blocking); false on error. Safe off the test thread.
    bool send(const std::string& s)
    {
        return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
    }

    /// Reads until `n` bytes, EOF, error or timeout; `status` is "ok", "eof",
    /// "timeout" or the errno text.
    std::string recv(std::size_t n, std::chrono::milliseconds timeout, std::string* status = nullptr)
    {
        std::string out;
        auto deadline = Clock::now() + timeout;
        std::string st = "ok";
        while (out.size() < n) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            pollfd p{fd_, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
                st = "timeout";
                break;
            }
            char buf[16384];
            ssize_t r = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
            if (r == 0) {
                st = "eof";
                break;
            }
            if (r < 0) {
                st = std::strerror(errno);
                break;
            }
            out.append(buf, static_cast<std::size_t>(r));
        }
        if (status) *status = st;
        return out;
    }

private:
    int fd_ = -1;
    bool connected_ = false;
};

std::chrono::milliseconds since(Clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
}

std::string pattern(std::size_t n)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 13) % 26);
    return s;
}

/// OpenSSL's verdict on `cert_file` for `host` (or an IP when `ip`), trusting `ca_file`.
int verify(const std::string& ca_file, const std::string& cert_file, const std::string& host,
           bool ip = false)
{
    std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
    REQUIRE(X509_STORE_load_file(store.get(), ca_file.c_str()) == 1);
    FILE* f = std::fopen(cert_file.c_str(), "r");
    REQUIRE(f);
    std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_X509(f, nullptr, nullptr, nullptr),
                                                     X509_free);
    std::fclose(f);
    REQUIRE(cert);
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                       X509_STORE_CTX_free);
    X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    if (ip) X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    else if (!host.empty()) X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    X509_verify_cert(ctx.get());
    return X509_STORE_CTX_get_error(ctx.get());
}

struct TlsResult {
    bool handshake = false;
    std::string echoed;
};

/// A TLS client handshake (verifying against `ca`, sending SNI `sni`) and one echo.
TlsResult tls_round_trip(std::uint16_t port, const std::string& ca, const std::string& sni,
                         const std::string& cert = "", const std::string& key = "")
{
    Client c(port);
    REQUIRE(c.connected());
    timeval tv{3, 0};  // a broken server must not hang the test
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    REQUIRE(SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) == 1);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (!cert.empty()) {
        REQUIRE(SSL_CTX_use_certificate_file(ctx.get(), cert.c_str(), SSL_FILETYPE_PEM) == 1);
        REQUIRE(SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) == 1);
    }
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
    SSL_set_fd(ssl.get(), c.fd());
    SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
    SSL_set1_host(ssl.get(), sni.c_str());
    TlsResult r;
    r.handshake = SSL_connect(ssl.get()) == 1;
    if (r.handshake) {
        const std::string msg = "hello over tls";
        // TLS 1.3 reports a rejected client certificate only on the first read.
        if (SSL_write(ssl.get(), msg.data(), static_cast<int>(msg.size())) == int(msg.size())) {
            char buf[64];
            int n = SSL_read(ssl.get(), buf, sizeof buf);
            if (n > 0) r.echoed.assign(buf, static_cast<std::size_t>(n));
        }
    }
    ERR_clear_error();
    return r;
}

} // namespace

TEST_CASE("TempDir, files and free ports")
{
    std::string path;
    {
        respool::test::TempDir dir;
        path = dir.path();
        CHECK(std::filesystem::is_directory(path));
        CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::others_all) ==
              std::filesystem::perms::none);
        std::filesystem::create_directories(path + "/sub/deeper");
        respool::test::write_file(path + "/sub/deeper/x.txt", "hello\n");
        CHECK(respool::test::read_file(path + "/sub/deeper/x.txt") == "hello\n");
        CHECK_THROWS_WITH_AS(respool::test::read_file(path + "/missing"),
                             doctest::Contains("missing"), std::system_error);
    }
    CHECK_FALSE(std::filesystem::exists(path));

    auto port = respool::test::free_tcp_port();
    CHECK(port != 0);
    EchoServer probe;  // an occupied port is never returned as free
    CHECK(respool::test::free_tcp_port() != probe.port());
}

TEST_CASE("EchoServer, plain")
{
    EchoServerOptions opt;
    SUBCASE("echoes small and large payloads, counts connections")
    {
        EchoServer server;
        Client c(server.port());
        REQUIRE(c.connected());
        REQUIRE(c.send("ping"));
        CHECK(c.recv(4, 2s) == "ping");
        const std::string big = pattern(3 << 20);  // larger than socket buffers
        bool sent = false;
        std::thread writer([&] { sent = c.send(big); });
        CHECK(c.recv(big.size(), 10s) == big);
        writer.join();
        CHECK(sent);
        CHECK(server.accepted() == 1);
        CHECK(server.open() == 1);
    }
    SUBCASE("reset_all sends an RST")
    {
        EchoServer server;
        Client c(server.port());
        REQUIRE(c.send("x"));
        CHECK(c.recv(1, 2s) == "x");
        server.reset_all();
        std::string status;
        c.recv(1, 2s, &status);
        CHECK(status == std::strerror(ECONNRESET));
        CHECK(server.open() == 0);
    }
    SUBCASE("close_all sends a FIN")
    {
        EchoServer server;
        Client c(server.port());
        REQUIRE(c.send("x"));
        CHECK(c.recv(1, 2s) == "x");
        server.close_all();
        std::string status;
        c.recv(1, 2s, &status);
        CHECK(status == "eof");
    }
    SUBCASE("idle connections are closed after close_idle_after")
    {
        opt.close_idle_after = 300ms;
        EchoServer server(opt);
        Client c(server.port());
        REQUIRE(c.send("x"));
        CHECK(c.recv(1, 2s) == "x");
        auto t0 = Clock::now();
        std::string status;
        c.recv(1, 3s, &status);
        CHECK(status == "eof");
        CHECK(since(t0) >= 250ms);
        CHECK(since(t0) <= 300ms + 400ms);
    }
}

TEST_CASE("EchoServer, misbehaviours")
{
    EchoServerOptions opt;
    SUBCASE("never_accept: a connect does not complete")
    {
        opt.behaviour = Behaviour::never_accept;
        EchoServer server(opt);
        Client c(server.port(), 300ms);
        CHECK_FALSE(c.connected());
        CHECK(server.accepted() == 0);
    }
    SUBCASE("silent: accepts, never answers")
    {
        opt.behaviour = Behaviour::silent;
        EchoServer server(opt);
        Client c(server.port());
        REQUIRE(c.connected());
        REQUIRE(c.send("hello"));
        std::string status;
        CHECK(c.recv(1, 300ms, &status).empty());
        CHECK(status == "timeout");
    }
    SUBCASE("garbage: on accept and for each request")
    {
        opt.behaviour = Behaviour::garbage;
        EchoServer server(opt);
        Client c(server.port());
        CHECK(c.recv(opt.garbage.size(), 2s) == opt.garbage);
        REQUIRE(c.send("hello"));
        CHECK(c.recv(opt.garbage.size(), 2s) == opt.garbage);
    }
}

TEST_CASE("FaultProxy")
{
    EchoServer server;
    FaultProxy proxy("127.0.0.1", server.port());
    Client c(proxy.port());
    REQUIRE(c.connected());
    REQUIRE(c.send("one"));
    REQUIRE(c.recv(3, 2s) == "one");
    CHECK(proxy.accepted() == 1);
    CHECK(proxy.open() == 1);

    SUBCASE("pass forwards large payloads intact")
    {
        const std::string big = pattern(3 << 20);
        bool sent = false;
        std::thread writer([&] { sent = c.send(big); });
        CHECK(c.recv(big.size(), 10s) == big);
        writer.join();
        CHECK(sent);
    }
    SUBCASE("delay holds each chunk, both ways")
    {
        proxy.delay(150ms);
        auto t0 = Clock::now();
        REQUIRE(c.send("two"));
        CHECK(c.recv(3, 3s) == "two");
        CHECK(since(t0) >= 300ms);
        CHECK(since(t0) <= 300ms + 400ms);
        proxy.pass();
        t0 = Clock::now();
        REQUIRE(c.send("three"));
        CHECK(c.recv(5, 2s) == "three");
        CHECK(since(t0) < 150ms);
    }
    SUBCASE("blackhole stalls; pass delivers what was held")
    {
        proxy.blackhole();
        REQUIRE(c.send("held"));
        std::string status;
        CHECK(c.recv(4, 300ms, &status).empty());
        CHECK(status == "timeout");
        Client late(proxy.port());  // accepted while stalled, not refused
        CHECK(late.connected());
        REQUIRE(late.send("late"));
        CHECK(late.recv(4, 200ms, &status).empty());
        proxy.pass();
        CHECK(c.recv(4, 2s) == "held");
        CHECK(late.recv(4, 2s) == "late");
        CHECK(proxy.accepted() == 2);
    }
    SUBCASE("reset_all: the client sees an RST")
    {
        proxy.reset_all();
        std::string status;
        c.recv(1, 2s, &status);
        CHECK(status == std::strerror(ECONNRESET));
        CHECK(proxy.open() == 0);
    }
    SUBCASE("close_all: the client sees a FIN")
    {
        proxy.close_all();
        std::string status;
        c.recv(1, 2s, &status);
        CHECK(status == "eof");
        CHECK(proxy.open() == 0);
    }
    SUBCASE("inject_garbage reaches the client now, even while stalled")
    {
        proxy.blackhole();
        proxy.inject_garbage("\x01\x02junk");
        CHECK(c.recv(6, 2s) == "\x01\x02junk");
    }
    SUBCASE("set_upstream_port: new connections go to the new server")
    {
        EchoServerOptions g;
        g.behaviour = Behaviour::garbage;
        EchoServer other(g);
        proxy.set_upstream_port(other.port());
        Client d(proxy.port());
        CHECK(d.recv(g.garbage.size(), 2s) == g.garbage);
        REQUIRE(c.send("old"));
        CHECK(c.recv(3, 2s) == "old");  // the open connection still goes to the first server
    }
    SUBCASE("a dead upstream: the client is cut off promptly")
    {
        proxy.set_upstream_port(respool::test::free_tcp_port());
        Client d(proxy.port());
        auto t0 = Clock::now();
        std::string status;
        d.recv(1, 2s, &status);
        CHECK(status != "timeout");
        CHECK(status != "ok");
        CHECK(since(t0) < 500ms);
    }
    SUBCASE("a client's FIN reaches the server and the server's FIN comes back")
    {
        ::shutdown(c.fd(), SHUT_WR);
        std::string status;
        c.recv(1, 2s, &status);
        CHECK(status == "eof");
    }
}

TEST_CASE("TestPki certificates say what they claim")
{
    respool::test::TestPki pki;
    CHECK(verify(pki.ca_cert, pki.server_cert, "localhost") == X509_V_OK);
    CHECK(verify(pki.ca_cert, pki.server_cert, "127.0.0.1", true) == X509_V_OK);
    CHECK(verify(pki.ca_cert, pki.server_cert, "::1", true) == X509_V_OK);
    CHECK(verify(pki.ca_cert, pki.client_cert, "") == X509_V_OK);
    CHECK(verify(pki.ca_cert, pki.wrong_host_cert, "localhost") == X509_V_ERR_HOSTNAME_MISMATCH);
    CHECK(verify(pki.ca_cert, pki.no_san_cert, "localhost") == X509_V_ERR_HOSTNAME_MISMATCH);
    CHECK(verify(pki.ca_cert, pki.expired_cert, "localhost") == X509_V_ERR_CERT_HAS_EXPIRED);
    CHECK(verify(pki.ca_cert, pki.not_yet_valid_cert, "localhost") == X509_V_ERR_CERT_NOT_YET_VALID);
    CHECK(verify(pki.ca_cert, pki.self_signed_cert, "localhost") ==
          X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    CHECK(verify(pki.ca_cert, pki.other_ca_server_cert, "localhost") ==
          X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    CHECK(verify(pki.other_ca_cert, pki.other_ca_server_cert, "localhost") == X509_V_OK);
    CHECK(respool::test::read_file(pki.server_key).find("PRIVATE KEY") != std::string::npos);
}

TEST_CASE("EchoServer, TLS")
{
    respool::test::TestPki pki;
    EchoServerOptions opt;
    opt.tls = true;
    opt.cert_file = pki.server_cert;
    opt.key_file = pki.server_key;

    SUBCASE("a verified handshake, SNI recorded, echo")
    {
        EchoServer server(opt);
        auto r = tls_round_trip(server.port(), pki.ca_cert, "localhost");
        CHECK(r.handshake);
        CHECK(r.echoed == "hello over tls");
        CHECK(server.last_sni() == "localhost");
    }
    SUBCASE("a server offering only TLS 1.0 fails a TLS 1.2+ client")
    {
        opt.min_tls = opt.max_tls = EchoServerOptions::TlsVersion::tls1_0;
        EchoServer server(opt);
        CHECK_FALSE(tls_round_trip(server.port(), pki.ca_cert, "localhost").handshake);
    }
    SUBCASE("client certificates: required, checked")
    {
        opt.client_ca_file = pki.ca_cert;
        EchoServer server(opt);
        CHECK(tls_round_trip(server.port(), pki.ca_cert, "localhost").echoed.empty());
        auto r = tls_round_trip(server.port(), pki.ca_cert, "localhost", pki.client_cert, pki.client_key);
        CHECK(r.echoed == "hello over tls");
        CHECK(server.handshake_failures() == 1);
    }
    SUBCASE("silent TLS server: the handshake never completes")
    {
        opt.behaviour = Behaviour::silent;
        EchoServer server(opt);
        Client c(server.port());
        REQUIRE(c.send("\x16\x03\x01"));
        std::string status;
        CHECK(c.recv(1, 300ms, &status).empty());
        CHECK(status == "timeout");
    }
}
