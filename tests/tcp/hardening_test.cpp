// Issue 16 and 12 for the TCP adapter: an encrypted client key never touches
// the terminal, max_line_length is bounded, a TLS client against a plain
// port fails quickly and says why, the error family (kind, operation,
// endpoint, cause_as), failures inside user hooks name the hook, a probe
// that can never pass is reported, FIN while leased through the pool, and
// the fault injector around the real adapter.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <respool/pool.hpp>
#include <respool/tcp.hpp>
#include <respool/testing/faults.hpp>

#include "local_servers/echo_server.hpp"
#include "local_servers/temp_dir.hpp"
#include "local_servers/test_pki.hpp"
#include "tcp_test_util.hpp"

using namespace tcp_test;
using respool::tcp::Adapter;
using respool::tcp::Errc;
using respool::tcp::Options;
using respool::tcp::Socket;
using respool::test::EchoServer;
using respool::test::EchoServerOptions;
using TcpPool = respool::Pool<Adapter>;

namespace {

const respool::test::TestPki& pki()
{
    static const respool::test::TestPki p;
    return p;
}

/// The field named by the InvalidOptions `make` throws ("" and a failed check if none).
std::string rejected_field(const std::function<void()>& make, std::string* what = nullptr)
{
    try {
        make();
    } catch (const respool::InvalidOptions& e) {
        if (what) *what = e.what();
        return e.field();
    }
    FAIL_CHECK("expected respool::InvalidOptions");
    return "";
}

/// Replaces stdin with the read end of a pipe nobody writes to, for the
/// object's lifetime: anything that reads stdin would block on it.
class SilentStdin {
public:
    SilentStdin()
    {
        REQUIRE(::pipe(fds_) == 0);
        saved_ = ::dup(0);
        REQUIRE(saved_ >= 0);
        REQUIRE(::dup2(fds_[0], 0) == 0);
    }
    ~SilentStdin()
    {
        ::dup2(saved_, 0);
        ::close(saved_);
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    /// True when nobody took bytes out of the pipe: we write one and it is still there.
    bool untouched()
    {
        ::fcntl(fds_[0], F_SETFL, O_NONBLOCK);
        char c = 'x';
        if (::write(fds_[1], &c, 1) != 1) return false;
        char back = 0;
        return ::read(fds_[0], &back, 1) == 1 && back == 'x';
    }

private:
    int fds_[2] = {-1, -1};
    int saved_ = -1;
};

bool contains(const respool::tcp::Error& e, const std::string& text)
{
    INFO("message: " << e.what());
    return std::string(e.what()).find(text) != std::string::npos;
}

respool::PoolOptions pool_options(std::size_t max_size = 2)
{
    respool::PoolOptions po;
    po.name = "tcp-hardening";
    po.max_size = max_size;
    po.acquire_timeout = 3s;
    po.create_timeout = 2s;
    return po;
}

} // namespace

TEST_CASE("an encrypted client key: a passphrase option, never the terminal")
{
    const auto& p = pki();
    auto so = EchoServerOptions{};
    so.tls = true;
    so.cert_file = p.server_cert;
    so.key_file = p.server_key;
    so.client_ca_file = p.ca_cert;
    EchoServer server(so);
    Options o = tls(server.port(), p);
    o.tls->client_cert_file = p.client_enc_cert;
    o.tls->client_key_file = p.client_enc_key;

    SUBCASE("with the passphrase: mutual TLS works")
    {
        o.tls->client_key_passphrase = p.client_enc_passphrase;
        Socket s = Adapter(o).create(in(3s));
        s.write_line("encrypted key", in(2s));
        CHECK(s.read_line(in(2s)) == "encrypted key");
    }
    SUBCASE("without one: InvalidOptions at once, stdin untouched, no prompt")
    {
        SilentStdin stdin_guard;
        Stopwatch w;
        std::string what;
        CHECK(rejected_field([&] { Adapter a(o); }, &what) == "tls.client_key_passphrase");
        CHECK(w.elapsed() < 1s);
        CHECK(what.find("encrypted") != std::string::npos);
        CHECK(what.find(p.client_enc_key) != std::string::npos);
        CHECK(stdin_guard.untouched());
    }
    SUBCASE("a wrong passphrase: InvalidOptions that does not show it")
    {
        SilentStdin stdin_guard;
        o.tls->client_key_passphrase = "Wrong-Secret-Passphrase-42";
        std::string what;
        CHECK(rejected_field([&] { Adapter a(o); }, &what) == "tls.client_key_passphrase");
        CHECK(what.find("Wrong-Secret") == std::string::npos);
        CHECK(what.find(p.client_enc_passphrase) == std::string::npos);
        CHECK(stdin_guard.untouched());
    }
    SUBCASE("the right passphrase never appears in any error of the adapter")
    {
        o.tls->client_key_passphrase = p.client_enc_passphrase;
        o.port = respool::test::free_tcp_port();  // refused
        auto e = error_of([&] { Adapter(o).create(in(2s)); });
        REQUIRE(e);
        CHECK(std::string(e->what()).find(p.client_enc_passphrase) == std::string::npos);
    }
    SUBCASE("a passphrase without a key file is rejected")
    {
        Options bare = tls(server.port(), p);
        bare.tls->client_key_passphrase = "x";
        CHECK(rejected_field([&] { Adapter a(bare); }) == "tls.client_key_passphrase");
    }
}

TEST_CASE("max_line_length: bounded at construction, and exact near the bound")
{
    EchoServer server;
    Options o = plain(server.port());
    for (std::size_t bad : {std::size_t{0}, SIZE_MAX, SIZE_MAX - 1, Options::max_line_length_limit + 1}) {
        CAPTURE(bad);
        o.max_line_length = bad;
        std::string what;
        CHECK(rejected_field([&] { Adapter a(o); }, &what) == "max_line_length");
        CHECK(what.find("max_line_length") != std::string::npos);
    }
    o.max_line_length = Options::max_line_length_limit;
    Socket s = Adapter(o).create(in(2s));
    s.write_line("hello", in(2s));
    CHECK(s.read_line(in(2s)) == "hello");

    // The frame reader itself no longer wraps around near SIZE_MAX.
    for (std::size_t limit : {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 2}) {
        CAPTURE(limit);
        respool::tcp::FrameReader r{limit, 16};
        r.append("hello\n");
        std::string line;
        CHECK(r.next_line(line) == respool::tcp::FrameReader::Status::ok);
        CHECK(line == "hello");
        r.append("partial");
        CHECK(r.next_line(line) == respool::tcp::FrameReader::Status::need_more);
    }
}

TEST_CASE("a TLS client against a plain port fails quickly and says why")
{
    const auto& p = pki();
    SUBCASE("a plain server that waits for a request: after tls.hello_timeout, not the deadline")
    {
        EchoServer server(EchoServerOptions{.behaviour = EchoServerOptions::Behaviour::silent});
        Options o = tls(server.port(), p);
        o.tls->hello_timeout = 400ms;
        Stopwatch w;
        auto e = error_of([&] { Adapter(o).create(in(10s)); });
        REQUIRE(e);
        TCP_CHECK_WINDOW(w.elapsed(), 400ms, 400ms + slack);
        CHECK(e->kind() == Errc::tls_handshake);
        CHECK(e->operation() == "tls_handshake");
        CHECK(contains(*e, "plain TCP port"));
    }
    SUBCASE("a plain server that answers: at once, saying it is not TLS")
    {
        EchoServer server;  // echoes our ClientHello back
        Stopwatch w;
        auto e = error_of([&] { Adapter(tls(server.port(), p)).create(in(10s)); });
        REQUIRE(e);
        CHECK(w.elapsed() < 1s);
        CHECK(e->kind() == Errc::tls_handshake);
        MESSAGE(std::string(e->what()));
    }
    SUBCASE("the deadline still wins when it comes first")
    {
        EchoServer server(EchoServerOptions{.behaviour = EchoServerOptions::Behaviour::silent});
        Stopwatch w;
        auto e = error_of([&] { Adapter(tls(server.port(), p)).create(in(300ms)); });
        REQUIRE(e);
        TCP_CHECK_WINDOW(w.elapsed(), 300ms, 300ms + slack);
        CHECK(e->kind() == Errc::timeout);
    }
    SUBCASE("out-of-range hello_timeout is InvalidOptions")
    {
        Options o = tls(1, p);
        o.tls->hello_timeout = 0ms;
        CHECK(rejected_field([&] { Adapter a(o); }) == "tls.hello_timeout");
    }
}

TEST_CASE("one error family: kind, to_string, operation, endpoint, cause_as")
{
    CHECK(respool::tcp::to_string(Errc::refused) == "refused");
    CHECK(respool::tcp::to_string(Errc::tls_verify) == "tls_verify");
    CHECK(respool::tcp::to_string(Errc::hook) == "hook");
    const std::uint16_t port = respool::test::free_tcp_port();
    const std::string endpoint = "127.0.0.1:" + std::to_string(port);

    SUBCASE("from create")
    {
        auto e = error_of([&] { Adapter(plain(port)).create(in(2s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::refused);
        CHECK(e->operation() == "connect");
        CHECK(e->endpoint() == endpoint);
        // The one base of every adapter's errors: the same facts, and fatal() for the pool.
        const respool::AdapterError& base = *e;
        CHECK(base.operation() == "connect");
        CHECK(base.endpoint() == endpoint);
        CHECK(base.code() == Errc::refused);
        CHECK(std::string(base.code().category().name()) == "respool.tcp");
        CHECK_FALSE(base.fatal());
    }
    SUBCASE("fatal(): what the adapter's is_fatal says")
    {
        const respool::tcp::Error verify(Errc::tls_verify, "certificate verify failed", 0, "tls_handshake", endpoint);
        const respool::tcp::Error refused_by_tls(Errc::tls_handshake, "alert protocol version", 0, "tls_handshake",
                                                 endpoint);
        const respool::tcp::Error cut_short(Errc::tls_handshake, "the peer closed the connection", 0,
                                            "tls_handshake", endpoint);
        CHECK(verify.fatal());
        CHECK(refused_by_tls.fatal());
        CHECK_FALSE(cut_short.fatal());
        CHECK_FALSE(respool::tcp::Error(Errc::timeout, "slow").fatal());
        const Adapter a(plain(port));
        CHECK(a.is_fatal(verify));
        CHECK_FALSE(a.is_fatal(cut_short));
    }
    SUBCASE("through the pool, without a rethrow of our own")
    {
        TcpPool pool{Adapter{plain(port)}, pool_options()};
        try {
            auto lease = pool.acquire(respool::AcquireOptions{.timeout = 2s});
            FAIL("the acquire succeeded");
        } catch (const respool::CreateFailed& e) {
            const auto* tcp = e.cause_as<respool::tcp::Error>();
            REQUIRE(tcp != nullptr);
            CHECK(tcp->kind() == Errc::refused);
            CHECK(tcp->endpoint() == endpoint);
            CHECK(respool::find_cause<respool::tcp::Error>(e) == tcp);
            CHECK(e.cause_as<respool::InvalidOptions>() == nullptr);
        }
    }
    SUBCASE("from a leased socket")
    {
        EchoServer server;
        Socket s = Adapter(plain(server.port())).create(in(2s));
        auto e = error_of([&] { s.read_line(in(100ms)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::timeout);
        CHECK(e->operation() == "read");
        CHECK(e->endpoint() == "127.0.0.1:" + std::to_string(server.port()));
    }
}

TEST_CASE("a failure inside a user hook says which hook")
{
    EchoServer server;
    SUBCASE("on_connect throwing its own exception: kind hook")
    {
        Options o = plain(server.port());
        o.on_connect = [](Socket&, respool::Deadline) { throw std::runtime_error("bad greeting"); };
        auto e = error_of([&] { Adapter(o).create(in(2s)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::hook);
        CHECK(e->operation() == "on_connect");
        CHECK(contains(*e, "in the on_connect hook: bad greeting"));
    }
    SUBCASE("on_connect whose read times out: the kind is kept, the hook named")
    {
        Options o = plain(server.port());
        o.on_connect = [](Socket& s, respool::Deadline d) { s.read_line(d); };  // the echo server says nothing
        auto e = error_of([&] { Adapter(o).create(in(300ms)); });
        REQUIRE(e);
        CHECK(e->kind() == Errc::timeout);
        CHECK(e->operation() == "on_connect");
        CHECK(contains(*e, "in the on_connect hook: read: deadline passed"));
        CHECK(std::string(e->what()).rfind("tcp ") == 0);  // the endpoint named once, at the start
    }
    SUBCASE("a throwing resolver")
    {
        Options o = plain(server.port(), "svc.example");
        o.resolver = [](const std::string&) -> std::vector<std::string> { throw std::runtime_error("registry down"); };
        auto e = error_of([&] { Adapter(o).create(in(2s)); });
        REQUIRE(e);
        CHECK(e->operation() == "resolver");
        CHECK(contains(*e, "in the resolver hook: registry down"));
    }
}

TEST_CASE("a probe that never passes on fresh connections is reported once")
{
    EchoServer server;  // answers "PING" with "PING": a Redis-style probe expecting "+PONG" always fails
    std::mutex m;
    std::vector<std::string> warnings;
    Options o = plain(server.port());
    o.probe = [](Socket& s, respool::Deadline d) {
        s.write_line("PING", d);
        return s.read_line(d) == "+PONG";
    };
    o.logger = [&](respool::LogLevel level, std::string_view text) {
        std::lock_guard lock(m);
        if (level == respool::LogLevel::warning) warnings.emplace_back(text);
    };
    Adapter adapter(o);
    for (int i = 0; i < 2; ++i) {
        Socket s = adapter.create(in(2s));
        CHECK_FALSE(adapter.validate(s, in(2s)));
    }
    CHECK(warnings.empty());  // two could be bad luck
    for (int i = 0; i < 3; ++i) {
        Socket s = adapter.create(in(2s));
        CHECK_FALSE(adapter.validate(s, in(2s)));
    }
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("probe failed on 3 connections in a row") != std::string::npos);
    CHECK(warnings[0].find("the probe returned false") != std::string::npos);
}

TEST_CASE("the peer closes (FIN) while a connection is leased through the pool")
{
    EchoServer server;
    TcpPool pool{Adapter{plain(server.port())}, pool_options()};
    {
        auto lease = pool.acquire();
        lease->write_line("before", in(2s));
        CHECK(lease->read_line(in(2s)) == "before");
        server.close_all();
        Stopwatch w;
        auto e = error_of([&] { lease->read_line(in(3s)); });
        REQUIRE(e);
        CHECK(w.elapsed() <= slack);  // promptly: the FIN is there, not at the 3 s deadline
        CHECK(e->kind() == Errc::closed);
        CHECK(e->operation() == "read");
        // Given back without mark_broken: the pool must not lend it again.
    }
    auto s = pool.stats();
    CHECK(s.destroyed[respool::DestroyReason::broken] == 1);
    CHECK(s.idle == 0);
    auto lease = pool.acquire();
    lease->write_line("after", in(2s));
    CHECK(lease->read_line(in(2s)) == "after");
    CHECK(pool.stats().created == 2);
}

TEST_CASE("the fault injector around the real TCP adapter, deterministic")
{
    using respool::testing::FaultInjector;
    using respool::testing::FaultScript;
    using respool::testing::InjectedFault;
    EchoServer server;
    auto script = std::make_shared<FaultScript>();
    auto po = pool_options(1);
    po.create_backoff_initial = 1ms;
    po.create_backoff_max = 2ms;
    respool::Pool pool{FaultInjector<Adapter>{Adapter{plain(server.port())}, script}, po};

    {
        auto lease = pool.acquire();  // create 1: real
        lease->write_line("one", in(2s));
        CHECK(lease->read_line(in(2s)) == "one");
        lease.mark_broken();
    }
    // Fatal, so it reaches this caller at once (a transient one would be retried for it).
    script->fail_next_creates_fatally(1, "injected: the second create fails");
    try {
        auto lease = pool.acquire(respool::AcquireOptions{.timeout = 2s});
        FAIL("create 2 should fail");
    } catch (const respool::CreateFailed& e) {
        REQUIRE(e.cause_as<InjectedFault>() != nullptr);
        CHECK(std::string(e.cause_as<InjectedFault>()->what()) == "injected: the second create fails");
    }
    std::this_thread::sleep_for(20ms);  // past the back-off step (2 ms at most): the next caller may try again
    {
        auto lease = pool.acquire(respool::AcquireOptions{.timeout = 2s});  // create 3: real again
        lease->write_line("three", in(2s));
        CHECK(lease->read_line(in(2s)) == "three");
        script->break_next_checks(1);  // the check on return says broken
    }
    CHECK(pool.stats().destroyed[respool::DestroyReason::broken] == 2);
    CHECK(pool.stats().idle == 0);

    {
        auto lease = pool.acquire();
        lease->write_line("four", in(2s));
        CHECK(lease->read_line(in(2s)) == "four");
    }
    const auto c = script->counters();
    CHECK(c.create_calls == 4);
    CHECK(c.creates_failed == 1);
    CHECK(c.broken_reported == 1);
    // The real adapter was called for every create the script let through:
    // the server accepted exactly those connections.
    CHECK(server.wait_accepted(3, 2s));
    CHECK(server.accepted() == 3);
}
