// Private: turns Options into grpc channels. Built once per
// adapter and shared, immutable, by its copies and by every hook thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <respool/grpc/options.hpp>

#include "connection_guard.hpp"

namespace respool::grpc::detail {

/// The channel argument holding each channel's process-unique id.
inline constexpr const char* channel_id_arg = "respool.channel_id";

class ChannelFactory {
public:
    /// Checks the options (throws respool::InvalidOptions) and prepares the
    /// arguments and credentials every channel shares.
    explicit ChannelFactory(Options options);

    /// A new channel with a connection of its own; does not connect yet.
    /// `guard` receives the channel's sockets' guard (connection_guard.hpp).
    std::shared_ptr<::grpc::Channel> make(std::uint64_t id, std::shared_ptr<ConnectionGuard>& guard) const;

    /// The least time grpc gives one connection attempt (see connection_guard.hpp).
    std::chrono::milliseconds connect_timeout() const;

    const std::string& target() const noexcept { return options_.target; }
    const Options& options() const noexcept { return options_; }

private:
    Options options_;
    ::grpc::ChannelArguments args_;
    std::shared_ptr<::grpc::ChannelCredentials> credentials_;
};

} // namespace respool::grpc::detail
