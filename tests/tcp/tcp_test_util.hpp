// Helpers shared by the tcp suite: options for a loopback server, timing
// windows, and catching the adapter's typed error.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <poll.h>

#include <respool/tcp.hpp>

#include "local_servers/echo_server.hpp"
#include "local_servers/test_pki.hpp"

namespace tcp_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

/// How late a deadline-bound call may return on a loaded 2-core machine.
constexpr ms slack = 300ms;

inline respool::tcp::Options plain(std::uint16_t port, std::string host = "127.0.0.1")
{
    respool::tcp::Options o;
    o.host = std::move(host);
    o.port = port;
    return o;
}

inline respool::tcp::Options tls(std::uint16_t port, const respool::test::TestPki& pki,
                                 std::string host = "localhost")
{
    respool::tcp::Options o = plain(port, std::move(host));
    o.tls = respool::tcp::TlsOptions{.ca_file = pki.ca_cert};
    return o;
}

inline respool::test::EchoServerOptions tls_server(const respool::test::TestPki& pki, std::string cert = "",
                                                   std::string key = "")
{
    respool::test::EchoServerOptions o;
    o.tls = true;
    o.cert_file = cert.empty() ? pki.server_cert : cert;
    o.key_file = key.empty() ? pki.server_key : key;
    return o;
}

inline respool::Deadline in(ms d) { return respool::deadline_after(d); }

struct Stopwatch {
    Clock::time_point start = Clock::now();
    ms elapsed() const { return std::chrono::duration_cast<ms>(Clock::now() - start); }
};

/// Runs `f`, which must throw respool::tcp::Error; returns it (or nullopt, failing the test).
inline std::optional<respool::tcp::Error> error_of(const std::function<void()>& f)
{
    try {
        f();
    } catch (const respool::tcp::Error& e) {
        return e;
    } catch (const std::exception& e) {
        FAIL_CHECK("expected respool::tcp::Error, got another exception: " << e.what());
        return std::nullopt;
    }
    FAIL_CHECK("expected respool::tcp::Error, nothing was thrown");
    return std::nullopt;
}

/// Waits (poll, no sleeping) until the socket has something to read: data, EOF or an error.
inline bool readable_within(const respool::tcp::Socket& s, ms timeout)
{
    pollfd p{s.native_handle(), POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

} // namespace tcp_test

// An elapsed time within [low, high], printed on failure.
#define TCP_CHECK_WINDOW(elapsed, low, high)                                     \
    do {                                                                         \
        auto tcp_e_ = (elapsed);                                                 \
        INFO("elapsed " << tcp_e_.count() << " ms");                             \
        CHECK(tcp_e_ >= (low));                                                  \
        CHECK(tcp_e_ <= (high));                                                 \
    } while (0)
