// Private: one grpc.health.v1.Health/Check call, the only user of the code
// generated from proto/health.proto.
#pragma once

#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include <grpc/support/time.h>

#include <grpcpp/channel.h>

#include <respool/deadline.hpp>

namespace respool::grpc::detail {

struct HealthAnswer {
    bool serving = false;      ///< the call succeeded and said SERVING
    bool call_failed = false;  ///< no answer at all (UNAVAILABLE, deadline, ...)
    ::grpc::StatusCode code = ::grpc::StatusCode::OK;
    std::string description;   ///< "SERVING", "NOT_SERVING", or grpc's error
    /// Over TLS, the server certificate's subjectAltName entries grpc saw
    /// (its auth context); empty for plaintext or when the call never left.
    std::vector<std::string> peer_san;
    /// The auth context named a TLS peer ("ssl" transport security).
    bool peer_is_tls = false;
};

/// Asks `service` ("" = the whole server) within `deadline`. With
/// `wait_for_ready` false a channel in TRANSIENT_FAILURE fails at once, with
/// grpc's reason for the failure in `description`.
/// A stop request on `stop` cancels the call at once.
HealthAnswer check_health(const std::shared_ptr<::grpc::Channel>& channel,
                          const std::string& service, respool::Deadline deadline, std::stop_token stop = {});

/// `deadline` as grpc's monotonic clock time: grpc takes it as is, so a jump
/// of the wall clock cannot move it (a system_clock deadline would move).
gpr_timespec to_gpr(respool::Deadline deadline);

} // namespace respool::grpc::detail
