// Private: turns (target, ChannelOptions) into grpc channels. Built once per
// adapter and shared, immutable, by its copies and by every hook thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <respool/grpc/channel_options.hpp>

namespace respool::grpc::detail {

/// The channel argument holding each channel's process-unique id.
inline constexpr const char* channel_id_arg = "respool.channel_id";

class ChannelFactory {
public:
    /// Checks the options (throws respool::InvalidOptions) and prepares the
    /// arguments and credentials every channel shares.
    ChannelFactory(std::string target, ChannelOptions options);

    /// A new channel with a connection of its own; does not connect yet.
    /// `shutdown` receives the handle whose release shuts the channel's
    /// sockets down for good (see connection_guard.hpp).
    std::shared_ptr<::grpc::Channel> make(std::uint64_t id, std::shared_ptr<const void>& shutdown) const;

    /// The least time grpc gives one connection attempt (see connection_guard.hpp).
    std::chrono::milliseconds connect_timeout() const;

    const std::string& target() const noexcept { return target_; }
    const ChannelOptions& options() const noexcept { return options_; }

private:
    std::string target_;
    ChannelOptions options_;
    ::grpc::ChannelArguments args_;
    std::shared_ptr<::grpc::ChannelCredentials> credentials_;
};

} // namespace respool::grpc::detail
