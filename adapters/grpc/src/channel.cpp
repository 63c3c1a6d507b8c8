// Channel: the pooled resource's few members, and state names.
#include <respool/grpc/channel.hpp>

#include "channel_internals.hpp"

namespace respool::grpc {

Channel::Channel(std::unique_ptr<Internals> internals) noexcept : internals_(std::move(internals)) {}
Channel::Channel(Channel&&) noexcept = default;
Channel& Channel::operator=(Channel&&) noexcept = default;
Channel::~Channel() = default;

const std::shared_ptr<::grpc::Channel>& Channel::channel() const noexcept { return internals_->channel; }
std::uint64_t Channel::id() const noexcept { return internals_->id; }
grpc_connectivity_state Channel::state() const { return internals_->channel->GetState(false); }

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

} // namespace respool::grpc
