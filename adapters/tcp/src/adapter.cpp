#include <respool/tcp/adapter.hpp>

#include <atomic>
#include <cstdio>
#include <limits>
#include <string_view>

#include <unistd.h>

#include <respool/error.hpp>
#include <respool/tcp/error.hpp>

#include "connect.hpp"
#include "resolve.hpp"
#include "stop_wake.hpp"
#include "socket_impl.hpp"
#include "tls.hpp"

namespace respool::tcp {

/// The immutable configuration shared by copies of an adapter.
struct Adapter::Config {
    Options options;
    std::string endpoint;   // "host:port" / "[::1]:port"
    std::string tls_name;   // checked against the certificate, sent as SNI
    std::unique_ptr<detail::TlsContext> tls;
    /// Probe failures in a row on connections the probe never passed.
    mutable std::atomic<int> fresh_probe_failures{0};
};

namespace {

[[noreturn]] void invalid(const std::string& field, const std::string& rule)
{
    throw InvalidOptions("respool::tcp::Options::" + field + ": " + rule, field);
}

void validate_options(const Options& o)
{
    if (o.host.empty()) invalid("host", "must not be empty");
    if (o.host.find_first_of(" \t\r\n/") != std::string::npos || o.host.front() == '[')
        invalid("host", "'" + o.host + "' is not a host name or IP literal (write IPv6 without brackets)");
    if (o.port < 1 || o.port > 65535) invalid("port", "must be in 1..65535, got " + std::to_string(o.port));
    if (o.keepalive.enabled) {
        // The kernel's limits (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT).
        if (o.keepalive.idle.count() < 1 || o.keepalive.idle.count() > 32767)
            invalid("keepalive.idle", "must be 1..32767 s");
        if (o.keepalive.interval.count() < 1 || o.keepalive.interval.count() > 32767)
            invalid("keepalive.interval", "must be 1..32767 s");
        if (o.keepalive.count < 1 || o.keepalive.count > 127) invalid("keepalive.count", "must be 1..127");
    }
    if (o.user_timeout.count() < 0 || o.user_timeout.count() > std::numeric_limits<int>::max())
        invalid("user_timeout", "must be 0 (kernel default) or a positive number of ms that fits an int");
    if (o.probe_failure_warning < 1) invalid("probe_failure_warning", "must be at least 1");
    if (o.max_line_length == 0 || o.max_line_length > Options::max_line_length_limit)
        invalid("max_line_length", "must be 1.." + std::to_string(Options::max_line_length_limit) +
                                       " (a line is held in memory whole), got " +
                                       std::to_string(o.max_line_length));
    if (o.max_frame_size == 0 || o.max_frame_size > 0xffffffffu)
        invalid("max_frame_size", "must be 1..4294967295 (a 4-byte length prefix)");
    if (o.tls) {
        const TlsOptions& t = *o.tls;
        if (t.min_version != "1.2" && t.min_version != "1.3")
            invalid("tls.min_version", "must be \"1.2\" or \"1.3\", got \"" + t.min_version + "\"");
        if (!t.client_key_passphrase.empty() && t.client_key_file.empty())
            invalid("tls.client_key_passphrase", "is set but tls.client_key_file is empty");
        if (t.hello_timeout.count() < 1 || t.hello_timeout > std::chrono::hours(1))
            invalid("tls.hello_timeout", "must be 1 ms..1 h, got " + std::to_string(t.hello_timeout.count()) + " ms");
        if (t.client_cert_file.empty() != t.client_key_file.empty())
            invalid(t.client_cert_file.empty() ? "tls.client_cert_file" : "tls.client_key_file",
                    "a client certificate needs both tls.client_cert_file and tls.client_key_file");
    }
}

void warn(const Options& o, const std::string& message) noexcept
{
    try {
        if (o.logger) o.logger(LogLevel::warning, message);
        else std::fprintf(stderr, "respool warning: %s\n", message.c_str());
    } catch (...) {
        // A throwing logger must not turn a warning into a failure.
    }
}

/// Runs the user's on_connect; whatever it throws says it came from there.
void run_on_connect(const Options& o, Socket& socket, Deadline deadline, const std::string& endpoint)
{
    const std::string where = "tcp " + endpoint + ": in the on_connect hook: ";
    try {
        o.on_connect(socket, deadline);
    } catch (const Error& e) {
        // A Socket call inside the hook already names the endpoint: keep its step and reason.
        std::string_view inner = e.what();
        if (const std::string own = "tcp " + endpoint + ": "; inner.substr(0, own.size()) == own)
            inner.remove_prefix(own.size());
        throw Error(e.kind(), where + std::string(inner), e.sys_errno(), "on_connect", endpoint);
    } catch (const std::exception& e) {
        throw Error(Errc::hook, where + e.what(), 0, "on_connect", endpoint);
    } catch (...) {
        throw Error(Errc::hook, where + "an exception not derived from std::exception", 0, "on_connect", endpoint);
    }
}

std::shared_ptr<const Adapter::Config> make_config(Options options)
{
    validate_options(options);
    auto c = std::make_shared<Adapter::Config>();
    bool v6 = options.host.find(':') != std::string::npos;
    c->endpoint = (v6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(options.port);
    if (options.tls) {
        c->tls_name = options.tls->server_name.empty() ? options.host : options.tls->server_name;
        c->tls = std::make_unique<detail::TlsContext>(*options.tls);
        if (options.tls->insecure_skip_verify)
            warn(options, "tcp " + c->endpoint + ": TLS certificate verification is OFF "
                          "(tls.insecure_skip_verify): any server can impersonate '" + c->tls_name + "'");
    }
    c->options = std::move(options);
    return c;
}

} // namespace

Adapter::Adapter(Options options) : config_(make_config(std::move(options))) {}

Socket Adapter::create(Deadline deadline) { return create(deadline, std::stop_token{}); }

Socket Adapter::create(Deadline deadline, std::stop_token stop)
{
    const respool::detail::net::StopScope scope(std::move(stop));
    try {
        return create_within(deadline);
    } catch (const Error& e) {
        // A wait ended because the pool is closing, not because of the server.
        if (scope.stopped())
            throw Error(Errc::io, "tcp " + config_->endpoint + ": creation abandoned: the pool is closing (" +
                                      e.what() + ")", 0, e.operation(), config_->endpoint);
        throw;
    }
}

Socket Adapter::create_within(Deadline deadline)
{
    const Config& c = *config_;
    const Options& o = c.options;
    auto addresses = detail::resolve(o.host, o.port, o.resolver, deadline, c.endpoint);
    auto conn = detail::connect_any(addresses, o, deadline, c.endpoint);
    std::unique_ptr<Socket::Impl> impl;
    try {
        impl = std::make_unique<Socket::Impl>(conn.fd, nullptr, c.endpoint, std::move(conn.peer),
                                              o.max_line_length, o.max_frame_size);
    } catch (...) {
        ::close(conn.fd);
        throw;
    }
    if (c.tls) impl->ssl = detail::handshake(*c.tls, impl->fd, c.tls_name, deadline, c.endpoint);
    Socket socket(std::move(impl));
    if (o.on_connect) run_on_connect(o, socket, deadline, c.endpoint);  // a throw closes the socket
    return socket;
}

bool Adapter::is_broken(const Socket& socket) const noexcept
{
    return !socket.idle_ok();
}

bool Adapter::validate(Socket& socket, Deadline deadline)
{
    if (!socket.idle_ok()) return false;
    const Config& c = *config_;
    if (!c.options.probe) return true;
    std::string why;
    try {
        if (c.options.probe(socket, deadline) && socket.usable()) {
            socket.impl_for_adapter().probe_passed = true;
            c.fresh_probe_failures.store(0, std::memory_order_relaxed);
            return true;
        }
        why = socket.usable() ? "the probe returned false" : "the probe left the connection broken";
    } catch (const std::exception& e) {
        why = std::string("the probe threw: ") + e.what();  // its I/O failed: the connection is not fit
    } catch (...) {
        why = "the probe threw an exception not derived from std::exception";
    }
    // A probe that fails on connections it has never passed is most likely
    // wrong (e.g. comparing to "PONG" where Redis says "+PONG"): say so once
    // per run of such failures, instead of failing every validation silently.
    auto fresh = [&socket]() noexcept {
        try {
            return !socket.impl_for_adapter().probe_passed;
        } catch (...) {
            return false;  // the probe moved the socket away: nothing to judge
        }
    };
    if (fresh() &&
        c.fresh_probe_failures.fetch_add(1, std::memory_order_relaxed) + 1 == c.options.probe_failure_warning)
        warn(c.options, "tcp " + c.endpoint + ": the probe failed on " +
                            std::to_string(c.options.probe_failure_warning) +
                            " connections in a row that it never passed (last: " + why +
                            "); is Options::probe right for this server?");
    return false;
}

const Options& Adapter::options() const noexcept { return config_->options; }
const std::string& Adapter::endpoint() const noexcept { return config_->endpoint; }

bool Adapter::is_fatal(const std::exception& error) const noexcept
{
    // The classification lives with the error (Error::fatal(), error.cpp).
    const auto* tcp = respool::find_cause<Error>(error);
    return tcp != nullptr && tcp->fatal();
}

} // namespace respool::tcp
