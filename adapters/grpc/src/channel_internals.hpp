// Private: what the adapter keeps per channel (Channel::Internals), out of
// the public header so it can change in a patch release.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <grpcpp/channel.h>

#include <respool/grpc/channel.hpp>

#include "connection_guard.hpp"

namespace respool::grpc {

struct Channel::Internals {
    Internals(std::shared_ptr<::grpc::Channel> c, std::uint64_t i, std::shared_ptr<detail::ConnectionGuard> g)
        : channel(std::move(c)), id(i), guard(std::move(g))
    {
    }
    /// Shuts the sockets down before the grpc channel goes (and waits until
    /// none can be established: the pool frees the place after this).
    ~Internals()
    {
        if (guard) guard->shut_down();
    }
    Internals(const Internals&) = delete;
    Internals& operator=(const Internals&) = delete;

    std::shared_ptr<::grpc::Channel> channel;
    std::uint64_t id = 0;
    std::shared_ptr<detail::ConnectionGuard> guard;
    /// Steady-clock nanoseconds since the channel was first seen failing
    /// (TRANSIENT_FAILURE, or CONNECTING after one); 0 while healthy.
    std::atomic<std::int64_t> failing_since{0};
};

} // namespace respool::grpc
