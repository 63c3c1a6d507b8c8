// The gRPC target: the in-process echo server with the standard health
// service (examples/echo/echo_server) and a pool of channels, each its
// own HTTP/2 connection carrying up to two calls at once. Its fault: the
// server shuts down (calls in flight are cancelled, connections close), and
// later starts again on the same port.
#include <respool/grpc.hpp>

#include <grpcpp/client_context.h>
#include <fmt/format.h>

#include "echo.grpc.pb.h"
#include "echo/echo_server.hpp"
#include "pooled_target.hpp"
#include "targets.hpp"

namespace demo {

namespace {

// Shared leases: a channel multiplexes calls, so the pool lends each one to
// this many calls at once before it opens another connection.
constexpr std::size_t calls_per_channel = 2;

std::unique_ptr<example::EchoServer> start_server(std::uint16_t port)
{
    try {
        return std::make_unique<example::EchoServer>(example::EchoServerOptions{.port = port});
    } catch (const std::exception& e) {
        if (port != 0 && port_in_use(port))
            throw StartError(fmt::format("cannot start the gRPC echo server: port {} is in use by another "
                                         "process. Choose another --grpc-port, or 0 for a free one",
                                         port));
        throw StartError(std::string("cannot start the gRPC echo server: ") + e.what());
    }
}

class GrpcTarget final : public PooledTarget<respool::grpc::Adapter> {
public:
    GrpcTarget(const DemoConfig& config, std::shared_ptr<respool::EventListener> listener)
        : server_(start_server(config.grpc_port))
    {
        respool::grpc::Options o;
        o.target = server_->address();
        o.insecure = true;  // loopback; see docs/adapters/grpc.md for TLS
        o.max_calls_per_channel = calls_per_channel;
        respool::PoolOptions po = demo_pool_options("grpc", config.pool_size, std::move(listener));
        // A channel on loopback is READY in a few ms. Against a dead server
        // `create` waits for READY until its deadline, so a short one lets the
        // breaker open within a second of the outage instead of after several.
        po.create_timeout = std::chrono::milliseconds(250);
        start_pool(respool::grpc::Adapter{o}, std::move(po));
    }
    ~GrpcTarget() override { stop_pool(); }

    std::string_view name() const noexcept override { return "grpc"; }
    std::string server() const override
    {
        return fmt::format("gRPC echo server with health service on {}, {} calls per channel",
                           server_->address(), calls_per_channel);
    }
    std::string work() const override
    {
        return fmt::format("Echo/Say, the server holding the call {} ms", hold_time.count());
    }

    std::string fault() const override { return "server shut down, later started again on the same port"; }
    void begin_fault() override { server_->shutdown(); }
    void end_fault() override
    {
        try {
            server_->start();
        } catch (const std::exception& e) {
            if (port_in_use(server_->port()))
                throw std::runtime_error(fmt::format(
                    "cannot restart the gRPC server: port {} was taken by another process during the outage",
                    server_->port()));
            throw std::runtime_error(std::string("cannot restart the gRPC server: ") + e.what());
        }
    }

protected:
    void use(Lease& lease, std::uint64_t n) override
    {
        auto stub = respool::grpc::make_stub<example::Echo>(lease);
        ::grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + request_timeout);
        example::EchoRequest request;
        request.set_message(std::to_string(n));
        request.set_sleep_ms(static_cast<int>(hold_time.count()));
        example::EchoReply reply;
        const ::grpc::Status status = stub->Say(&ctx, request, &reply);
        // No mark_broken: UNAVAILABLE may come from a healthy connection; the
        // pool checks the channel's state when the lease comes back.
        if (!status.ok())
            throw std::runtime_error(fmt::format("grpc: Say failed: {} ({})", status.error_message(),
                                                 static_cast<int>(status.error_code())));
        if (reply.message() != request.message()) throw std::runtime_error("grpc: wrong answer");
    }

private:
    std::unique_ptr<example::EchoServer> server_;
};

} // namespace

std::unique_ptr<Target> make_grpc_target(const DemoConfig& config, std::shared_ptr<respool::EventListener> listener)
{
    return std::make_unique<GrpcTarget>(config, std::move(listener));
}

} // namespace demo
