// grpc_test_util.hpp — small helpers shared by the gRPC adapter tests.
//
// `say` makes one Echo call with a deadline on any channel; `Stopwatch` and
// `within` express the project's timing windows [T, T + tolerance]; `wait_for`
// polls a condition until a bound, for states grpc reaches asynchronously.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>

#include <respool/grpc.hpp>

#include "echo.grpc.pb.h"

// LeakSanitizer: c-ares (grpc's DNS resolver) keeps its library state until
// exit and grpc never frees it; not ours to fix. Defined here, in the one
// translation unit of each test program.
extern "C" const char* __lsan_default_suppressions()
{
    return "leak:libcares.so\n";
}

namespace respool::test {

using namespace std::chrono_literals;
using SteadyTime = std::chrono::steady_clock::time_point;

/// Loopback tests leave room for a loaded 2-core machine, never less.
inline constexpr std::chrono::milliseconds timing_tolerance{150};

/// Plaintext options with defaults otherwise, as most tests use.
inline respool::grpc::Options insecure_options()
{
    respool::grpc::Options o;
    o.insecure = true;
    return o;
}

/// The adapter for `target` with options `o` (its target set to `target`).
inline respool::grpc::Adapter adapter_for(std::string target, respool::grpc::Options o)
{
    o.target = std::move(target);
    return respool::grpc::Adapter{std::move(o)};
}

struct EchoResult {
    ::grpc::Status status;
    EchoReply reply;
};

/// One Echo/Say call on `channel`, given up after `timeout`.
inline EchoResult say(const std::shared_ptr<::grpc::Channel>& channel, const std::string& message,
                      std::chrono::milliseconds timeout = 2s, int sleep_ms = 0)
{
    auto stub = Echo::NewStub(channel);
    ::grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    EchoRequest request;
    request.set_message(message);
    request.set_sleep_ms(sleep_ms);
    EchoResult result;
    result.status = stub->Say(&ctx, request, &result.reply);
    return result;
}

class Stopwatch {
public:
    std::chrono::milliseconds elapsed() const
    {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                     start_);
    }

private:
    SteadyTime start_ = std::chrono::steady_clock::now();
};

/// True when `d` lies in [low, high + timing_tolerance].
inline bool within(std::chrono::milliseconds d, std::chrono::milliseconds low,
                   std::chrono::milliseconds high)
{
    return d >= low && d <= high + timing_tolerance;
}

/// Polls `done` every 10 ms until it is true or `bound` passed; returns `done()`.
inline bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds bound)
{
    const auto until = std::chrono::steady_clock::now() + bound;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= until) return done();
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

} // namespace respool::test
