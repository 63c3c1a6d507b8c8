// Private: one grpc.health.v1.Health/Check call, the only user of the code
// generated from proto/health.proto.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include <respool/deadline.hpp>

namespace respool::grpc::detail {

struct HealthAnswer {
    bool serving = false;      ///< the call succeeded and said SERVING
    bool call_failed = false;  ///< no answer at all (UNAVAILABLE, deadline, ...)
    ::grpc::StatusCode code = ::grpc::StatusCode::OK;
    std::string description;   ///< "SERVING", "NOT_SERVING", or grpc's error
};

/// Asks `service` ("" = the whole server) within `deadline`. With
/// `wait_for_ready` false a channel in TRANSIENT_FAILURE fails at once, with
/// grpc's reason for the failure in `description`.
HealthAnswer check_health(const std::shared_ptr<::grpc::Channel>& channel,
                          const std::string& service, respool::Deadline deadline);

/// `deadline` on the system clock, which is what grpc takes.
std::chrono::system_clock::time_point to_system(respool::Deadline deadline);

} // namespace respool::grpc::detail
