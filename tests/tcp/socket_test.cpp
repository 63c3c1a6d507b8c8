// Socket I/O against real loopback servers: round trips and helpers, and
// every way a peer misbehaves — silence, FIN, RST, garbage, truncation —
// ending in a typed error within the deadline, never a crash or a hang.
#include <doctest/doctest.h>

#include <cerrno>
#include <thread>

#include <respool/tcp.hpp>

#include "local_servers/echo_server.hpp"
#include "support/fault_proxy.hpp"
#include "tcp_test_util.hpp"

using namespace tcp_test;
using respool::tcp::Adapter;
using respool::tcp::Errc;
using respool::tcp::Socket;
using respool::test::EchoServer;
using respool::test::EchoServerOptions;
using Behaviour = EchoServerOptions::Behaviour;

namespace {

std::string payload(std::size_t n, unsigned seed)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7) & 0xff);
    return s;
}

} // namespace

TEST_CASE("round trips and helpers")
{
    EchoServer server;
    Adapter adapter(plain(server.port()));
    Socket s = adapter.create(in(2s));
    CHECK(s.usable());
    CHECK_FALSE(s.is_tls());
    CHECK(s.tls_version().empty());
    CHECK_FALSE(adapter.is_broken(s));

    SUBCASE("write_all / read_exact, 256 KiB of binary")
    {
        const std::string data = payload(256 * 1024, 1);
        s.write_all(data, in(5s));
        CHECK(s.read_exact(data.size(), in(5s)) == data);
    }
    SUBCASE("read_some returns what is there")
    {
        s.write_all("abc", in(2s));
        char buf[64];
        std::size_t got = 0;
        while (got < 3) got += s.read_some(buf + got, sizeof buf - got, in(2s));
        CHECK(std::string(buf, got) == "abc");
        CHECK(s.read_some(buf, 0, in(2s)) == 0);
    }
    SUBCASE("lines")
    {
        s.write_line("hello", in(2s));
        s.write_all("crlf\r\nthen\nrest", in(2s));
        CHECK(s.read_line(in(2s)) == "hello");
        CHECK(s.read_line(in(2s)) == "crlf");
        CHECK(s.read_line(in(2s)) == "then");
        CHECK(s.read_exact(4, in(2s)) == "rest");  // raw reads see bytes the line reader buffered
        CHECK_FALSE(adapter.is_broken(s));
    }
    SUBCASE("frames, including empty and binary ones")
    {
        for (std::string p : {std::string(), std::string("x"), payload(70000, 2), std::string("a\nb\0c", 5)}) {
            s.write_frame(p, in(2s));
            CHECK(s.read_frame(in(2s)) == p);
        }
    }
    SUBCASE("bad arguments to the helpers are protocol errors and send nothing")
    {
        auto e = error_of([&] { s.write_line("two\nlines", in(1s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::protocol);
        Adapter small([&] {
            auto o = plain(server.port());
            o.max_frame_size = 8;
            return o;
        }());
        Socket t = small.create(in(2s));
        e = error_of([&] { t.write_frame("nine bytes", in(1s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::protocol);
        CHECK(t.usable());
        t.write_frame("ok", in(1s));
        CHECK(t.read_frame(in(1s)) == "ok");
    }
    SUBCASE("a moved-from socket throws, it does not crash")
    {
        Socket moved = std::move(s);
        CHECK_FALSE(s.usable());
        auto e = error_of([&] { s.write_all("x", in(1s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::io);
        CHECK(adapter.is_broken(s));
        moved.write_line("still fine", in(1s));
        CHECK(moved.read_line(in(1s)) == "still fine");
    }
}

TEST_CASE("a silent peer: reads end at the deadline and the socket is broken")
{
    EchoServer server(EchoServerOptions{.behaviour = Behaviour::silent});
    Adapter adapter(plain(server.port()));
    Socket s = adapter.create(in(2s));
    s.write_line("anyone?", in(1s));
    Stopwatch w;
    auto e = error_of([&] { s.read_line(in(300ms)); });
    REQUIRE(e);
    CHECK(e->kind() == Errc::timeout);
    TCP_CHECK_WINDOW(w.elapsed(), 300ms, 300ms + slack);
    CHECK(s.broken());
    CHECK(adapter.is_broken(s));
    e = error_of([&] { s.write_line("again", in(1s)); });
    REQUIRE(e);
    CHECK(std::string(e->what()).find("broken by an earlier error") != std::string::npos);
}

TEST_CASE("the peer closes or resets")
{
    EchoServer server;
    Adapter adapter(plain(server.port()));
    Socket s = adapter.create(in(2s));
    s.write_line("ping", in(1s));
    REQUIRE(s.read_line(in(1s)) == "ping");

    SUBCASE("FIN: found while idle, and a read says closed")
    {
        server.close_all();
        REQUIRE(readable_within(s, 2s));
        CHECK(adapter.is_broken(s));
        auto e = error_of([&] { s.read_line(in(1s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::closed);
    }
    SUBCASE("RST: a read says closed (ECONNRESET), a write does not raise SIGPIPE")
    {
        server.reset_all();
        REQUIRE(readable_within(s, 2s));
        auto e = error_of([&] { s.read_line(in(1s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::closed);
        CHECK(e->sys_errno() == ECONNRESET);

        Socket t = adapter.create(in(2s));
        REQUIRE(server.wait_accepted(2, 2s));
        server.reset_all();
        REQUIRE(readable_within(t, 2s));
        CHECK(adapter.is_broken(t));
        e = error_of([&] {
            for (int i = 0; i < 100; ++i) t.write_all(std::string(4096, 'w'), in(1s));
        });
        REQUIRE(e);
        CHECK(e->kind() == Errc::closed);
    }
}

TEST_CASE("garbage and truncated frames are protocol or closed errors, at once")
{
    SUBCASE("garbage where a frame length should be")
    {
        EchoServer server(EchoServerOptions{.behaviour = Behaviour::garbage});
        Adapter adapter(plain(server.port()));
        Socket s = adapter.create(in(2s));
        REQUIRE(readable_within(s, 2s));
        CHECK(adapter.is_broken(s));  // bytes nobody asked for: not fit to lend
        Stopwatch w;
        auto e = error_of([&] { s.read_frame(in(2s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::protocol);
        CHECK(w.elapsed() < 500ms);
        CHECK(s.broken());
    }
    SUBCASE("an over-long line")
    {
        EchoServer server;
        auto o = plain(server.port());
        o.max_line_length = 100;
        Socket s = Adapter(o).create(in(2s));
        s.write_all(std::string(1000, 'l'), in(1s));
        auto e = error_of([&] { s.read_line(in(2s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::protocol);
    }
    SUBCASE("a frame cut short by the peer closing")
    {
        EchoServer server(EchoServerOptions{.behaviour = Behaviour::silent});
        respool::test::FaultProxy proxy("127.0.0.1", server.port());
        Socket s = Adapter(plain(proxy.port())).create(in(2s));
        REQUIRE(proxy.wait_accepted(1, 2s));
        proxy.inject_garbage(std::string("\0\0\0\x10only-7", 10));
        proxy.close_all();
        Stopwatch w;
        auto e = error_of([&] { s.read_frame(in(2s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::closed);
        CHECK(w.elapsed() < 500ms);
    }
}

TEST_CASE("a write to a stalled peer is stopped by TCP_USER_TIMEOUT or the deadline")
{
    // The proxy stops reading once it holds 1 MiB; the kernel buffers fill
    // and the window closes. TCP_USER_TIMEOUT aborts the connection when the
    // peer's window stays closed that long (Linux), else the deadline ends it.
    EchoServer server;
    respool::test::FaultProxy proxy("127.0.0.1", server.port());
    auto o = plain(proxy.port());
    o.user_timeout = 500ms;
    Socket s = Adapter(o).create(in(2s));
    proxy.blackhole();
    const std::string block(1 << 20, 'z');
    Stopwatch w;
    auto e = error_of([&] {
        for (int i = 0; i < 256; ++i) s.write_all(block, in(4s));
    });
    REQUIRE(e);
    CHECK(e->kind() == Errc::timeout);
    MESSAGE("stalled write ended after " << w.elapsed().count() << " ms: " << std::string(e->what()));
    CHECK(w.elapsed() <= 4s + slack);
#ifdef __linux__
    // Linux aborts a connection whose peer's window stayed closed for
    // TCP_USER_TIMEOUT: well before the 4 s deadline, with ETIMEDOUT.
    CHECK(e->sys_errno() == ETIMEDOUT);
    CHECK(w.elapsed() >= 500ms);
    CHECK(w.elapsed() < 3s);
#endif
}
