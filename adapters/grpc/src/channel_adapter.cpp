// ChannelAdapter: create (wait for READY, then health), is_broken, validate.
#include <respool/grpc/channel_adapter.hpp>

#include <atomic>
#include <cstdio>
#include <string_view>

#include <fmt/format.h>

#include <respool/error.hpp>

#include "channel_factory.hpp"
#include "health_check.hpp"

namespace respool::grpc {
namespace {

// Process-wide, so two pools (or two adapters) never build channels with
// equal arguments that grpc could merge.
std::atomic<std::uint64_t> next_channel_id{1};

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

void warn(const ChannelOptions& o, const std::string& message) noexcept
{
    try {
        if (o.logger) o.logger(respool::LogLevel::warning, message);
        else std::fprintf(stderr, "respool warning: %s\n", message.c_str());
    } catch (...) {
        // A throwing logger must not fail the construction.
    }
}

} // namespace

ChannelAdapter::ChannelAdapter(std::string target, ChannelOptions options)
    : factory_(std::make_shared<const detail::ChannelFactory>(std::move(target), std::move(options)))
{
    if (this->options().insecure)
        warn(this->options(), fmt::format("grpc '{}': insecure = true: plaintext HTTP/2, no encryption and no "
                                          "server authentication; anyone on the path can read and impersonate",
                                          this->target()));
}

Channel ChannelAdapter::create(respool::Deadline deadline)
{
    const auto start = SteadyClock::now();
    const std::uint64_t id = next_channel_id.fetch_add(1, std::memory_order_relaxed);
    std::shared_ptr<const void> shutdown;
    // On any throw below, ~Channel shuts the channel's sockets down: an
    // attempt still under way must not connect after we gave up (item 1).
    Channel channel{factory_->make(id, shutdown), id, std::move(shutdown)};
    const auto& grpc_channel = channel.channel();

    std::string reason;
    grpc_connectivity_state state = grpc_channel->GetState(true);
    while (state != GRPC_CHANNEL_READY && state != GRPC_CHANNEL_SHUTDOWN) {
        // Loopback can connect within a wait that returns at once; still, a
        // passed deadline means no channel, as the contract says.
        if (SteadyClock::now() >= deadline) break;
        if (state == GRPC_CHANNEL_TRANSIENT_FAILURE) {
            if (auto r = failure_reason(channel, deadline); !r.empty()) reason = std::move(r);
            if (is_tls_failure(reason)) {
                throw ChannelError(ChannelError::Kind::tls,
                                   fmt::format("respool::grpc: channel to '{}': TLS failed after {} ms "
                                               "(not retried): {}",
                                               target(), ms_since(start), reason),
                                   target(), state, reason);
            }
        }
        if (!grpc_channel->WaitForStateChange(state, detail::to_gpr(deadline))) break;
        state = grpc_channel->GetState(true);
    }
    if (state != GRPC_CHANNEL_READY) {
        throw ChannelError(ChannelError::Kind::not_ready,
                           fmt::format("respool::grpc: channel to '{}' not READY after {} ms: "
                                       "last state {}{}{}",
                                       target(), ms_since(start), state_name(state),
                                       reason.empty() ? "" : ": ", reason),
                           target(), state, reason);
    }
    const bool ask_health = options().health_check;
    // Over our TLS, one call also shows the server certificate grpc accepted:
    // grpc falls back to the subject CN when it has no subjectAltName, which
    // RFC 6125 (and the TCP adapter) reject. Without health_check the answer
    // itself does not count.
    if (ask_health || options().tls) {
        auto answer = detail::check_health(grpc_channel, ask_health ? options().health_service : "", deadline);
        if (options().tls && answer.peer_is_tls && answer.peer_san.empty()) {
            throw ChannelError(ChannelError::Kind::tls,
                               fmt::format("respool::grpc: channel to '{}': the server certificate has no "
                                           "subjectAltName (a host name only in the subject CN is not "
                                           "accepted); reissue it with a SAN",
                                           target()),
                               target(), grpc_channel->GetState(false), "no subjectAltName",
                               "peer_certificate");
        }
        if (ask_health && !answer.serving) {
            throw ChannelError(ChannelError::Kind::unhealthy,
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

bool ChannelAdapter::is_broken(const Channel& channel) const noexcept
{
    auto& failing_since = channel.health().failing_since;
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

bool ChannelAdapter::validate(Channel& channel, respool::Deadline deadline)
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

respool::LeaseMode ChannelAdapter::lease_mode() const noexcept
{
    return respool::LeaseMode::shared(options().max_calls_per_channel);
}

const std::string& ChannelAdapter::target() const noexcept
{
    return factory_->target();
}

const ChannelOptions& ChannelAdapter::options() const noexcept
{
    return factory_->options();
}

std::string_view to_string(ChannelError::Kind kind) noexcept
{
    switch (kind) {
    case ChannelError::Kind::not_ready: return "not_ready";
    case ChannelError::Kind::unhealthy: return "unhealthy";
    case ChannelError::Kind::tls: return "tls";
    }
    return "unknown";
}

std::string_view state_name(grpc_connectivity_state state) noexcept
{
    switch (state) {
    case GRPC_CHANNEL_IDLE: return "IDLE";
    case GRPC_CHANNEL_CONNECTING: return "CONNECTING";
    case GRPC_CHANNEL_READY: return "READY";
    case GRPC_CHANNEL_TRANSIENT_FAILURE: return "TRANSIENT_FAILURE";
    case GRPC_CHANNEL_SHUTDOWN: return "SHUTDOWN";
    }
    return "UNKNOWN";
}

bool ChannelAdapter::is_fatal(const std::exception& error) const noexcept
{
    const auto* channel = respool::find_cause<ChannelError>(error);
    return channel != nullptr && channel->kind() == ChannelError::Kind::tls;
}

} // namespace respool::grpc
