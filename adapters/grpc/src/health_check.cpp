// grpc.health.v1.Health/Check through the stub generated from our health.proto.
#include "health_check.hpp"

#include <stop_token>

#include <grpcpp/client_context.h>
#include <grpcpp/security/auth_context.h>

#include <fmt/format.h>

#include "health.grpc.pb.h"

namespace respool::grpc::detail {

gpr_timespec to_gpr(respool::Deadline deadline)
{
    const auto left = respool::time_left(deadline);
    if (left > std::chrono::hours(24 * 365)) return gpr_inf_future(GPR_CLOCK_MONOTONIC);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_nanos(ns, GPR_TIMESPAN));
}

namespace {

std::string_view status_code_name(::grpc::StatusCode code)
{
    switch (code) {
    case ::grpc::StatusCode::OK: return "OK";
    case ::grpc::StatusCode::CANCELLED: return "CANCELLED";
    case ::grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case ::grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case ::grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case ::grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case ::grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case ::grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case ::grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    case ::grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case ::grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case ::grpc::StatusCode::ABORTED: return "ABORTED";
    case ::grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case ::grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case ::grpc::StatusCode::INTERNAL: return "INTERNAL";
    case ::grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case ::grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    default: return "UNKNOWN_CODE";
    }
}

std::string describe_failure(const ::grpc::Status& status, const std::string& service)
{
    switch (status.error_code()) {
    case ::grpc::StatusCode::UNIMPLEMENTED:
        return "UNIMPLEMENTED: the server has no grpc.health.v1.Health service "
               "(set Options::health_check = false to rely on the connection state)";
    case ::grpc::StatusCode::NOT_FOUND:
        return fmt::format("NOT_FOUND: the health service does not know service '{}'", service);
    default:
        return fmt::format("{}: {}", status_code_name(status.error_code()), status.error_message());
    }
}

} // namespace

HealthAnswer check_health(const std::shared_ptr<::grpc::Channel>& channel,
                          const std::string& service, respool::Deadline deadline, std::stop_token stop)
{
    using ::grpc::health::v1::HealthCheckResponse;
    if (respool::time_left(deadline) == std::chrono::nanoseconds::zero()) {
        return {.call_failed = true,
                .code = ::grpc::StatusCode::DEADLINE_EXCEEDED,
                .description = "DEADLINE_EXCEEDED: no time left for the health check"};
    }
    ::grpc::ClientContext ctx;
    ctx.set_deadline(to_gpr(deadline));
    // The pool closing: the call ends at once (CANCELLED).
    std::stop_callback cancel(stop, [&ctx] { ctx.TryCancel(); });
    ::grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    const auto stub = ::grpc::health::v1::Health::NewStub(channel);
    const ::grpc::Status status = stub->Check(&ctx, request, &response);

    HealthAnswer answer;
    answer.code = status.error_code();
    if (const auto auth = ctx.auth_context()) {
        for (const auto& v : auth->FindPropertyValues("transport_security_type"))
            answer.peer_is_tls = answer.peer_is_tls || std::string(v.data(), v.size()) == "ssl";
        for (const auto& v : auth->FindPropertyValues("x509_subject_alternative_name"))
            answer.peer_san.emplace_back(v.data(), v.size());
    }
    if (!status.ok()) {
        answer.call_failed = status.error_code() != ::grpc::StatusCode::UNIMPLEMENTED &&
                             status.error_code() != ::grpc::StatusCode::NOT_FOUND;
        answer.description = describe_failure(status, service);
        return answer;
    }
    answer.serving = response.status() == HealthCheckResponse::SERVING;
    answer.description = HealthCheckResponse::ServingStatus_Name(response.status());
    return answer;
}

} // namespace respool::grpc::detail
