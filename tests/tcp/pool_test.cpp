// The TCP adapter under a real respool::Pool: concurrent round trips, and
// connections the peer closed, reset, stalled or filled with garbage are
// never lent again; creation failures reach the caller typed and on time.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <poll.h>

#include <respool/pool.hpp>
#include <respool/tcp.hpp>

#include "local_servers/echo_server.hpp"
#include "support/fault_proxy.hpp"
#include "local_servers/test_pki.hpp"
#include "tcp_test_util.hpp"

using namespace tcp_test;
using respool::tcp::Adapter;
using respool::tcp::Errc;
using respool::test::EchoServer;
using respool::test::EchoServerOptions;
using respool::test::FaultProxy;
using TcpPool = respool::Pool<Adapter>;

namespace {

respool::PoolOptions pool_options(std::size_t max_size = 4)
{
    respool::PoolOptions po;
    po.name = "tcp-test";
    po.max_size = max_size;
    po.acquire_timeout = 5s;
    po.create_timeout = 3s;
    return po;
}

/// Echo one line through a lease.
void round_trip(respool::Lease<Adapter>& lease, const std::string& text)
{
    lease->write_line(text, in(2s));
    CHECK(lease->read_line(in(2s)) == text);
}

/// Waits for `what` (POLLIN, POLLRDHUP) on an idle pooled socket's fd. The
/// pool keeps the socket open while idle; poll does not consume anything.
bool fd_ready(int fd, short what, ms timeout)
{
    pollfd p{fd, what, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

/// The adapter's error behind a pool's CreateFailed.
std::optional<respool::tcp::Error> cause_of(const respool::CreateFailed& e)
{
    REQUIRE(e.cause());
    try {
        std::rethrow_exception(e.cause());
    } catch (const respool::tcp::Error& inner) {
        return inner;
    } catch (...) {
    }
    return std::nullopt;
}

std::optional<respool::CreateFailed> acquire_failure(TcpPool& pool, ms timeout)
{
    try {
        auto lease = pool.acquire(respool::AcquireOptions{.timeout = timeout});
    } catch (const respool::CreateFailed& e) {
        return e;
    } catch (const std::exception& e) {
        FAIL_CHECK("expected CreateFailed, got: " << e.what());
        return std::nullopt;
    }
    FAIL_CHECK("expected CreateFailed, the acquire succeeded");
    return std::nullopt;
}

} // namespace

namespace {

/// 16 threads × `rounds` frame echoes through a pool of 8; every payload is unique.
void hammer(TcpPool& pool, int rounds)
{
    std::atomic<int> mismatches{0}, failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < rounds; ++i) {
                try {
                    auto lease = pool.acquire();
                    std::string payload = "thread " + std::to_string(t) + " round " + std::to_string(i) +
                                          std::string(static_cast<std::size_t>(i % 97), static_cast<char>('a' + t));
                    lease->write_frame(payload, in(5s));
                    if (lease->read_frame(in(5s)) != payload) ++mismatches;
                } catch (const std::exception&) {
                    ++failures;
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(mismatches == 0);
    CHECK(failures == 0);
}

} // namespace

TEST_CASE("16 threads of round trips through a pool of 8, payloads checked")
{
    SUBCASE("plain")
    {
        EchoServer server;
        TcpPool pool{Adapter{plain(server.port())}, pool_options(8)};
        hammer(pool, 300);
        auto s = pool.stats();
        CHECK(s.acquired == 16 * 300);
        CHECK(s.created <= 8);
        CHECK(s.timeouts == 0);
        CHECK(server.accepted() == s.created);  // connections are reused, not re-made
    }
    SUBCASE("TLS")
    {
        respool::test::TestPki pki;
        EchoServer server(tls_server(pki));
        TcpPool pool{Adapter{tls(server.port(), pki)}, pool_options(8)};
        hammer(pool, 100);
        auto s = pool.stats();
        CHECK(s.acquired == 16 * 100);
        CHECK(s.created <= 8);
        CHECK(server.accepted() == s.created);
    }
}

TEST_CASE("a connection the server closed while idle is replaced, not lent")
{
    EchoServerOptions so;
    so.close_idle_after = 200ms;
    EchoServer server(so);
    TcpPool pool{Adapter{plain(server.port())}, pool_options()};
    int fd;
    {
        auto lease = pool.acquire();
        round_trip(lease, "first");
        fd = lease->native_handle();
    }
    REQUIRE(fd_ready(fd, POLLRDHUP, 3s));  // the server's FIN reached the idle socket
    {
        auto lease = pool.acquire();
        round_trip(lease, "second");
    }
    auto s = pool.stats();
    CHECK(s.created == 2);
    CHECK(s.destroyed[respool::DestroyReason::broken] == 1);
    CHECK(server.accepted() == 2);
}

TEST_CASE("the server resets a connection mid-lease")
{
    EchoServer server;
    TcpPool pool{Adapter{plain(server.port())}, pool_options()};
    SUBCASE("the holder gets a closed error; mark_broken destroys the connection")
    {
        {
            auto lease = pool.acquire();
            round_trip(lease, "before");
            server.reset_all();
            auto e = error_of([&] { lease->read_line(in(2s)); });
            REQUIRE(e);
            CHECK(e->kind() == Errc::closed);
            lease.mark_broken();
        }
        CHECK(pool.stats().destroyed[respool::DestroyReason::broken] == 1);
        auto lease = pool.acquire();
        round_trip(lease, "after");
        CHECK(pool.stats().created == 2);
    }
    SUBCASE("without mark_broken, the failed socket is destroyed on return anyway")
    {
        {
            auto lease = pool.acquire();
            round_trip(lease, "before");
            server.reset_all();
            CHECK(error_of([&] { lease->write_line("x", in(2s)), lease->read_line(in(2s)); }));
        }
        CHECK(pool.stats().destroyed[respool::DestroyReason::broken] == 1);
        CHECK(pool.stats().idle == 0);
    }
}

TEST_CASE("garbage that arrives while a connection is idle gets it discarded")
{
    EchoServer server;
    FaultProxy proxy("127.0.0.1", server.port());
    TcpPool pool{Adapter{plain(proxy.port())}, pool_options()};
    int fd;
    {
        auto lease = pool.acquire();
        round_trip(lease, "clean");
        fd = lease->native_handle();
    }
    proxy.inject_garbage(std::string("\x00\xffunsolicited\n", 14));
    REQUIRE(fd_ready(fd, POLLIN, 2s));
    auto lease = pool.acquire();
    round_trip(lease, "fresh");  // not "unsolicited"
    CHECK(pool.stats().destroyed[respool::DestroyReason::broken] == 1);
}

TEST_CASE("a server that speaks first: on_connect reads the greeting, the pool keeps the connection")
{
    EchoServerOptions so;
    so.behaviour = EchoServerOptions::Behaviour::garbage;  // sends its 16 bytes on accept
    EchoServer server(so);
    auto o = plain(server.port());
    SUBCASE("without on_connect the unread greeting makes every connection unfit")
    {
        Adapter adapter(o);
        auto s = adapter.create(in(2s));
        REQUIRE(readable_within(s, 2s));
        CHECK(adapter.is_broken(s));
    }
    SUBCASE("with on_connect it is consumed inside create")
    {
        std::string greeting;
        o.on_connect = [&](respool::tcp::Socket& s, respool::Deadline d) { greeting = s.read_exact(16, d); };
        TcpPool pool{Adapter{o}, pool_options()};
        {
            auto lease = pool.acquire();
            CHECK(greeting == so.garbage);
        }
        auto lease = pool.acquire();
        auto st = pool.stats();
        CHECK(st.created == 1);
        CHECK(st.destroyed.total() == 0);
    }
    SUBCASE("a throwing on_connect fails the creation with its error")
    {
        o.on_connect = [](respool::tcp::Socket&, respool::Deadline) {
            throw std::runtime_error("greeting was not what we expected");
        };
        TcpPool pool{Adapter{o}, pool_options()};
        auto e = acquire_failure(pool, 2s);
        REQUIRE(e);
        CHECK(std::string(e->what()).find("greeting was not what we expected") != std::string::npos);
    }
}

TEST_CASE("a half-open connection is found by the probe within the validation timeout")
{
    EchoServer server;
    FaultProxy proxy("127.0.0.1", server.port());
    auto o = plain(proxy.port());
    o.probe = [](respool::tcp::Socket& s, respool::Deadline d) {
        s.write_line("PING", d);
        return s.read_line(d) == "PING";  // the echo server answers with the same line
    };
    auto po = pool_options();
    po.validate_after_idle = 0ms;
    po.validation_timeout = 300ms;
    TcpPool pool{Adapter{o}, po};
    {
        auto lease = pool.acquire();
        round_trip(lease, "healthy");
    }
    proxy.blackhole();
    Stopwatch w;
    auto lease = pool.acquire(respool::AcquireOptions{.timeout = 3s});
    TCP_CHECK_WINDOW(w.elapsed(), 300ms, 300ms + slack);
    auto s = pool.stats();
    CHECK(s.validation_failures == 1);
    CHECK(s.destroyed[respool::DestroyReason::validation] == 1);
    CHECK(s.created == 2);
    proxy.pass();
    round_trip(lease, "through again");
}

TEST_CASE("creation failures reach the caller typed and on time")
{
    respool::test::TestPki pki;
    SUBCASE("refused: transient, retried until the caller's deadline, the adapter's error as the cause")
    {
        auto po = pool_options();
        po.circuit_breaker_threshold = 0;  // only the deadline ends the wait
        TcpPool pool{Adapter{plain(respool::test::free_tcp_port())}, po};
        Stopwatch w;
        auto e = acquire_failure(pool, 500ms);
        REQUIRE(e);
        TCP_CHECK_WINDOW(w.elapsed(), 500ms, 500ms + slack);
        CHECK(dynamic_cast<const respool::CircuitOpen*>(&*e) == nullptr);
        CHECK(std::string(e->what()).find("connection refused") != std::string::npos);
        CHECK(pool.stats().create_failures >= 2);  // retried with back-off meanwhile
        auto inner = cause_of(*e);
        REQUIRE(inner);
        CHECK(inner->kind() == Errc::refused);
    }
    SUBCASE("a peer that never answers the TLS handshake: at create_timeout")
    {
        EchoServerOptions so = tls_server(pki);
        so.behaviour = EchoServerOptions::Behaviour::silent;
        EchoServer server(so);
        auto po = pool_options();
        po.create_timeout = 400ms;
        TcpPool pool{Adapter{tls(server.port(), pki)}, po};
        Stopwatch w;
        // A handshake timeout is transient: retried, so the caller ends at its own deadline.
        auto e = acquire_failure(pool, 1s);
        REQUIRE(e);
        TCP_CHECK_WINDOW(w.elapsed(), 1000ms, 1000ms + slack);
        auto inner = cause_of(*e);
        REQUIRE(inner);
        CHECK(inner->kind() == Errc::timeout);
        CHECK(std::string(inner->what()).find("TLS handshake") != std::string::npos);
    }
    SUBCASE("an untrusted certificate: tls_verify")
    {
        EchoServer server(tls_server(pki, pki.other_ca_server_cert, pki.other_ca_server_key));
        TcpPool pool{Adapter{tls(server.port(), pki)}, pool_options()};
        Stopwatch w;
        auto e = acquire_failure(pool, 3s);
        REQUIRE(e);
        CHECK(w.elapsed() < 1s);  // fatal: at once, not at the 3 s deadline
        auto inner = cause_of(*e);
        REQUIRE(inner);
        CHECK(inner->kind() == Errc::tls_verify);
        // And fast from then on, without a handshake per acquire.
        const auto failures = pool.stats().create_failures;
        Stopwatch again;
        auto e2 = acquire_failure(pool, 3s);
        REQUIRE(e2);
        CHECK(again.elapsed() < 1s);
        CHECK(pool.stats().create_failures <= failures + 1);
    }
}
