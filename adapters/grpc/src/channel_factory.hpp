// Private: turns (target, ChannelOptions) into grpc channels. Built once per
// adapter and shared, immutable, by its copies and by every hook thread.
#pragma once

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
    std::shared_ptr<::grpc::Channel> make(std::uint64_t id) const;

    const std::string& target() const noexcept { return target_; }
    const ChannelOptions& options() const noexcept { return options_; }

private:
    std::string target_;
    ChannelOptions options_;
    ::grpc::ChannelArguments args_;
    std::shared_ptr<::grpc::ChannelCredentials> credentials_;
};

} // namespace respool::grpc::detail
