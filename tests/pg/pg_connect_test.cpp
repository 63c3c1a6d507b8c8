// create() against endpoints that are not a working server: refused ports, a
// listener that never answers, hanging and failing name lookups, missing
// unix sockets. Every failure is typed and ends within its deadline.
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/socket.h>

#include <respool/pg.hpp>
#include <respool/pool.hpp>

#include "pg_test_util.hpp"
#include "local_servers/net_util.hpp"
#include "local_servers/temp_dir.hpp"

using namespace respool::test;
using respool::deadline_after;
using respool::pg::Adapter;
using respool::pg::Error;
using respool::pg::ErrorKind;
using respool::pg::Options;

namespace {

constexpr const char* secret = "Never-Show-This-7f3a";

std::string conninfo_for(const std::string& host, std::uint16_t port)
{
    return "host=" + host + " port=" + std::to_string(port) + " user=app dbname=app password=" + secret;
}

// Accepts every connection and never says a word.
class SilentServer {
public:
    SilentServer() : listener_(detail::listen_loopback(64)), thread_([this] { run(); }) {}
    ~SilentServer()
    {
        stop_ = true;
        thread_.join();
    }
    std::uint16_t port() const { return detail::local_port(listener_.get()); }
    int accepted() const { return accepted_; }

private:
    void run()
    {
        std::vector<detail::Fd> held;
        while (!stop_) {
            pollfd p{listener_.get(), POLLIN, 0};
            if (::poll(&p, 1, 20) > 0) {
                int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
                if (fd >= 0) held.emplace_back(fd), ++accepted_;
            }
        }
    }

    detail::Fd listener_;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::thread thread_;
};

// The error create() throws; fails the test when it succeeds.
Error create_error(Adapter& adapter, respool::Deadline deadline)
{
    try {
        adapter.create(deadline);
        FAIL("create succeeded");
    } catch (const Error& e) {
        CHECK(!contains(e.what(), secret));
        return e;
    }
    return Error(ErrorKind::usage, "unreachable");
}

} // namespace

TEST_CASE("P5: a refused port fails fast, and the error says refused")
{
    std::uint16_t port = free_tcp_port();
    Adapter adapter{conninfo_for("127.0.0.1", port)};
    SUBCASE("create")
    {
        Stopwatch sw;
        Error e = create_error(adapter, deadline_after(5s));
        CHECK(sw.elapsed() < 500ms);
        CHECK(e.kind() == ErrorKind::connect);
        CHECK(contains(e.what(), "Connection refused"));
        CHECK(contains(e.what(), std::to_string(port)));
        CHECK(e.sqlstate().empty());
    }
    SUBCASE("through a pool: CreateFailed carries the pg::Error")
    {
        respool::PoolOptions po;
        po.max_size = 2;
        respool::Pool pool{adapter, po};
        Stopwatch sw;
        try {
            // Refused is transient: retried until this deadline (or until the
            // breaker opens, if sooner), then CreateFailed with the cause.
            auto lease = pool.acquire(respool::AcquireOptions{.timeout = 500ms});
            FAIL("acquired");
        } catch (const respool::CreateFailed& e) {
            CHECK(sw.elapsed() < 1s);
            CHECK(contains(e.what(), "Connection refused"));
            CHECK(!contains(e.what(), secret));
            std::string cause_text;
            const Error* cause = pg_cause(e.cause(), &cause_text);
            REQUIRE(cause != nullptr);
            CHECK(cause->kind() == ErrorKind::connect);
            CHECK(!contains(cause_text, secret));
        }
        CHECK(!contains(respool::to_string(pool.stats()), secret));
    }
}

TEST_CASE("P4/P6: a listener that accepts and never answers: create ends at its deadline")
{
    SilentServer server;
    Adapter adapter{conninfo_for("127.0.0.1", server.port())};
    SUBCASE("create names the stage it was in")
    {
        // sslmode=prefer (libpq's default) asks for TLS first; without TLS
        // the startup message is the first thing the server ignores.
        Adapter plain{conninfo_for("127.0.0.1", server.port()) + " sslmode=disable"};
        for (auto [a, stage] : {std::pair{&adapter, "negotiating TLS"},
                                std::pair{&plain, "waiting for the server to answer the startup message"}}) {
            Stopwatch sw;
            Error e = create_error(*a, deadline_after(600ms));
            CHECK(sw.elapsed() >= 600ms);
            CHECK(sw.elapsed() <= 600ms + tolerance);
            CHECK(e.kind() == ErrorKind::timeout);
            CHECK(contains(e.what(), stage));
            CHECK(contains(e.what(), std::to_string(server.port())));
        }
    }
    SUBCASE("a deadline already past")
    {
        Stopwatch sw;
        Error e = create_error(adapter, respool::SteadyClock::now());
        CHECK(sw.elapsed() <= tolerance);
        CHECK(e.kind() == ErrorKind::timeout);
    }
    SUBCASE("through a pool: acquire ends at its timeout")
    {
        respool::PoolOptions po;
        po.max_size = 2;
        po.create_timeout = 1500ms;
        respool::Pool pool{adapter, po};
        Stopwatch sw;
        CHECK_THROWS_AS(pool.acquire(respool::AcquireOptions{.timeout = 800ms}), respool::Error);
        CHECK(sw.elapsed() >= 800ms);
        CHECK(sw.elapsed() <= 800ms + tolerance);
    }
}

TEST_CASE("host name lookup is bounded by the deadline")
{
    SUBCASE("a resolver that hangs")
    {
        auto release = std::make_shared<std::promise<void>>();
        std::shared_future<void> released = release->get_future().share();
        Options o;
        o.conninfo = conninfo_for("db.respool.invalid", 5432);
        o.resolver = [released](const std::string&) {
            released.wait();
            return std::vector<std::string>{"127.0.0.1"};
        };
        Adapter adapter{o};
        Stopwatch sw;
        Error e = create_error(adapter, deadline_after(400ms));
        CHECK(sw.elapsed() >= 400ms);
        CHECK(sw.elapsed() <= 400ms + tolerance);
        CHECK(e.kind() == ErrorKind::timeout);
        CHECK(contains(e.what(), "resolving host \"db.respool.invalid\""));
        release->set_value();
    }
    SUBCASE("a resolver that fails")
    {
        Options o;
        o.conninfo = conninfo_for("db.respool.invalid", 5432);
        o.resolver = [](const std::string&) -> std::vector<std::string> {
            throw std::runtime_error("Name or service not known");
        };
        Adapter adapter{o};
        Error e = create_error(adapter, deadline_after(2s));
        CHECK(e.kind() == ErrorKind::connect);
        CHECK(contains(e.what(), "cannot resolve host \"db.respool.invalid\": Name or service not known"));
        CHECK(contains(e.what(), "Options::resolver hook"));
        CHECK(e.operation() == "resolve");
        CHECK(e.endpoint() == adapter.target());
    }
    SUBCASE("the system resolver and a name that does not exist")
    {
        Adapter adapter{conninfo_for("respool-no-such-host.invalid", 5432)};
        Stopwatch sw;
        Error e = create_error(adapter, deadline_after(2s));
        CHECK(sw.elapsed() <= 2s + tolerance);
        CHECK((e.kind() == ErrorKind::connect || e.kind() == ErrorKind::timeout));
        CHECK(contains(e.what(), "respool-no-such-host.invalid"));
    }
    SUBCASE("every address of a name is tried, in order")
    {
        std::uint16_t port = free_tcp_port();
        Options o;
        o.conninfo = conninfo_for("two.respool.test", port);
        o.resolver = [](const std::string&) { return std::vector<std::string>{"127.0.0.2", "127.0.0.1"}; };
        Adapter adapter{o};
        Error e = create_error(adapter, deadline_after(2s));
        CAPTURE(std::string(e.what()));
        CHECK(e.kind() == ErrorKind::connect);
        CHECK(contains(e.what(), "host=two.respool.test"));
        CHECK(contains(e.what(), "server at \"127.0.0.2\""));
        CHECK(contains(e.what(), "server at \"127.0.0.1\""));
    }
}

TEST_CASE("other endpoints that cannot work fail fast and typed")
{
    SUBCASE("a unix-socket directory that does not exist")
    {
        Adapter adapter{conninfo_for("/nonexistent-respool-dir", 5432)};
        Stopwatch sw;
        Error e = create_error(adapter, deadline_after(2s));
        CHECK(sw.elapsed() < 500ms);
        CHECK(e.kind() == ErrorKind::connect);
        CHECK(contains(e.what(), "/nonexistent-respool-dir/.s.PGSQL.5432"));
    }
    SUBCASE("an IPv6 literal, key=value and URI")
    {
        std::uint16_t port = free_tcp_port();
        Adapter kv{conninfo_for("::1", port)};
        Adapter uri{"postgresql://app:" + std::string(secret) + "@[::1]:" + std::to_string(port) + "/app"};
        for (Adapter* a : {&kv, &uri}) {
            Stopwatch sw;
            Error e = create_error(*a, deadline_after(2s));
            CHECK(sw.elapsed() < 500ms);
            CHECK(e.kind() == ErrorKind::connect);
            CHECK(contains(e.what(), "\"::1\""));
        }
    }
}
