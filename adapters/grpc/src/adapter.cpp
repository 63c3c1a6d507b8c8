// Adapter: create (wait for READY, then health), is_broken, validate.
#include <respool/grpc/adapter.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string_view>

#include <grpcpp/client_context.h>

#include <fmt/format.h>

#include <respool/error.hpp>

#include "channel_factory.hpp"
#include "channel_internals.hpp"
#include "health_check.hpp"

namespace respool::grpc {
namespace {

// Process-wide, so two pools (or two adapters) never build channels with
// equal arguments that grpc could merge.
std::atomic<std::uint64_t> next_channel_id{1};

// How soon create notices a stop request while it waits for READY.
constexpr std::chrono::milliseconds stop_poll{20};

std::int64_t steady_ns(SteadyClock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

long long ms_since(SteadyClock::time_point start)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start)
        .count();
}

// Why a channel in TRANSIENT_FAILURE failed: grpc only says so to a call, and
// a call that is not wait_for_ready fails at once there, without any I/O. A
// short deadline keeps the probe from waiting out a connection attempt if the
// channel has moved on to CONNECTING meanwhile.
std::string failure_reason(const Channel& channel, respool::Deadline deadline)
{
    const auto probe_deadline = std::min(deadline, SteadyClock::now() + std::chrono::milliseconds(100));
    auto answer = detail::check_health(channel.channel(), "", probe_deadline);
    if (answer.code != ::grpc::StatusCode::UNAVAILABLE) return {};
    return std::move(answer.description);
}

// grpc reports a failed TLS handshake or certificate check only as text in
// the channel's failure; these are the phrases grpc 1.51 (and OpenSSL under
// it) use. Another try cannot succeed, so create fails at once instead of
// waiting out its deadline.
bool is_tls_failure(const std::string& reason)
{
    static constexpr std::string_view phrases[] = {
        "Ssl handshake failed", "Handshake failed", "handshake failed", "Peer name",
        "CERTIFICATE_VERIFY_FAILED", "certificate verify failed", "WRONG_VERSION_NUMBER",
        "wrong version number", "Cannot check peer",
    };
    for (std::string_view p : phrases)
        if (reason.find(p) != std::string::npos) return true;
    return false;
}

void warn(const Options& o, const std::string& message) noexcept
{
    try {
        if (o.logger) o.logger(respool::LogLevel::warning, message);
        else std::fprintf(stderr, "respool warning: %s\n", message.c_str());
    } catch (...) {
        // A throwing logger must not fail the construction.
    }
}

} // namespace

Adapter::Adapter(Options options)
    : factory_(std::make_shared<const detail::ChannelFactory>(std::move(options)))
{
    if (this->options().insecure)
        warn(this->options(), fmt::format("grpc '{}': insecure = true: plaintext HTTP/2, no encryption and no "
                                          "server authentication; anyone on the path can read and impersonate",
                                          this->target()));
}

namespace {
Options with_target(std::string target, Options o)
{
    o.target = std::move(target);
    return o;
}
Options tls_to(std::string target)
{
    Options o;
    o.target = std::move(target);
    o.tls = TlsOptions{};
    return o;
}
} // namespace

Adapter::Adapter(std::string target) : Adapter(tls_to(std::move(target))) {}

Adapter::Adapter(std::string target, Options options) : Adapter(with_target(std::move(target), std::move(options))) {}

Channel Adapter::create(respool::Deadline deadline)
{
    return create(deadline, std::stop_token{});
}

Channel Adapter::create(respool::Deadline deadline, std::stop_token stop)
{
    const auto start = SteadyClock::now();
    const std::uint64_t id = next_channel_id.fetch_add(1, std::memory_order_relaxed);
    std::shared_ptr<detail::ConnectionGuard> guard;
    auto grpc_channel_ptr = factory_->make(id, guard);
    // On any throw below, ~Channel shuts the channel's sockets down: an
    // attempt still under way must not connect after we gave up (issue 16).
    Channel channel{std::make_unique<Channel::Internals>(std::move(grpc_channel_ptr), id, guard)};
    const auto& grpc_channel = channel.channel();
    const auto cancelled = [&] {
        return Error(Error::Kind::not_ready,
                     fmt::format("respool::grpc: channel to '{}': creation cancelled after {} ms (the pool is closing)",
                                 target(), ms_since(start)),
                     target(), grpc_channel->GetState(false), "cancelled", "cancelled");
    };

    std::string reason;
    grpc_connectivity_state state = grpc_channel->GetState(true);
    while (state != GRPC_CHANNEL_READY && state != GRPC_CHANNEL_SHUTDOWN) {
        // Loopback can connect within a wait that returns at once; still, a
        // passed deadline means no channel, as the contract says.
        if (SteadyClock::now() >= deadline) break;
        if (stop.stop_requested()) throw cancelled();
        if (state == GRPC_CHANNEL_TRANSIENT_FAILURE) {
            if (auto r = failure_reason(channel, deadline); !r.empty()) reason = std::move(r);
            if (is_tls_failure(reason)) {
                throw Error(Error::Kind::tls,
                                   fmt::format("respool::grpc: channel to '{}': TLS failed after {} ms "
                                               "(not retried): {}",
                                               target(), ms_since(start), reason),
                                   target(), state, reason);
            }
        }
        // In slices, so that a stop request (the pool closing) ends the wait
        // within one slice: grpc offers no way to wake WaitForStateChange.
        const auto slice = std::min(deadline, SteadyClock::now() + stop_poll);
        if (!grpc_channel->WaitForStateChange(state, detail::to_gpr(slice)) && slice == deadline) break;
        state = grpc_channel->GetState(true);
    }
    if (stop.stop_requested()) throw cancelled();
    if (state != GRPC_CHANNEL_READY) {
        // No socket was ever made: grpc never had an address, the name is
        // still resolving (a DNS server that does not answer), which
        // "CONNECTING" alone would hide.
        if (state == GRPC_CHANNEL_CONNECTING && guard->sockets_made() == 0) {
            throw Error(Error::Kind::not_ready,
                        fmt::format("respool::grpc: channel to '{}' not READY after {} ms: still resolving the "
                                    "name (no address to connect to yet; is the DNS server answering?)",
                                    target(), ms_since(start)),
                        target(), state, "resolving", "resolve");
        }
        throw Error(Error::Kind::not_ready,
                    fmt::format("respool::grpc: channel to '{}' not READY after {} ms: "
                                "last state {}{}{}",
                                target(), ms_since(start), state_name(state), reason.empty() ? "" : ": ", reason),
                    target(), state, reason);
    }
    const bool ask_health = options().health_check;
    // Over our TLS, one call also shows the server certificate grpc accepted:
    // grpc falls back to the subject CN when it has no subjectAltName, which
    // RFC 6125 (and the TCP adapter) reject. Without health_check the answer
    // itself does not count.
    if (ask_health || options().tls) {
        auto answer = detail::check_health(grpc_channel, ask_health ? options().health_service : "", deadline, stop);
        if (stop.stop_requested()) throw cancelled();
        if (options().tls && answer.peer_is_tls && answer.peer_san.empty()) {
            throw Error(Error::Kind::tls,
                               fmt::format("respool::grpc: channel to '{}': the server certificate has no "
                                           "subjectAltName (a host name only in the subject CN is not "
                                           "accepted); reissue it with a SAN",
                                           target()),
                               target(), grpc_channel->GetState(false), "no subjectAltName",
                               "peer_certificate");
        }
        if (ask_health && !answer.serving) {
            throw Error(Error::Kind::unhealthy,
                               fmt::format("respool::grpc: channel to '{}' is READY but the health "
                                           "check of service '{}' answered {} (after {} ms)",
                                           target(), options().health_service, answer.description,
                                           ms_since(start)),
                               target(), grpc_channel->GetState(false), answer.description,
                               "health_check");
        }
    }
    return channel;
}

bool Adapter::is_broken(const Channel& channel) const noexcept
{
    auto& failing_since = channel.internals().failing_since;
    switch (channel.state()) {
    case GRPC_CHANNEL_READY:
    case GRPC_CHANNEL_IDLE:
        failing_since.store(0, std::memory_order_relaxed);
        return false;
    case GRPC_CHANNEL_SHUTDOWN:
        return true;
    case GRPC_CHANNEL_TRANSIENT_FAILURE: {
        const auto now = steady_ns(SteadyClock::now());
        std::int64_t since = 0;
        // The first thread to see the failure starts the grace period.
        if (failing_since.compare_exchange_strong(since, now, std::memory_order_relaxed)) since = now;
        return now - since >= options().transient_failure_grace.count() * 1'000'000;
    }
    case GRPC_CHANNEL_CONNECTING: {
        // Still failing if it was in TRANSIENT_FAILURE before this attempt.
        const std::int64_t since = failing_since.load(std::memory_order_relaxed);
        return since != 0 && steady_ns(SteadyClock::now()) - since >=
                                 options().transient_failure_grace.count() * 1'000'000;
    }
    }
    return false;
}

bool Adapter::validate(Channel& channel, respool::Deadline deadline)
{
    if (is_broken(channel)) return false;
    if (options().health_check) {
        return detail::check_health(channel.channel(), options().health_service, deadline).serving;
    }
    const auto& grpc_channel = channel.channel();
    grpc_connectivity_state state = grpc_channel->GetState(true);
    while (state != GRPC_CHANNEL_READY && state != GRPC_CHANNEL_SHUTDOWN) {
        if (SteadyClock::now() >= deadline) break;
        if (!grpc_channel->WaitForStateChange(state, detail::to_gpr(deadline))) break;
        state = grpc_channel->GetState(true);
    }
    return state == GRPC_CHANNEL_READY;
}

respool::LeaseMode Adapter::lease_mode() const noexcept
{
    return respool::LeaseMode::shared(options().max_calls_per_channel);
}

const std::string& Adapter::target() const noexcept
{
    return factory_->target();
}

const Options& Adapter::options() const noexcept
{
    return factory_->options();
}

bool Adapter::is_fatal(const std::exception& error) const noexcept
{
    const auto* e = respool::find_cause<Error>(error);
    return e != nullptr && e->fatal();
}

} // namespace respool::grpc
