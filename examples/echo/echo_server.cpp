// The examples' echo server: a sync Echo service plus grpc's default health
// service, rebuilt on the same port by each start().
#include "echo_server.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "echo.grpc.pb.h"

namespace example {
namespace {

// Set by shutdown so that sleeping calls return at once; guarded by `mutex`.
struct Stopping {
    std::mutex mutex;
    std::condition_variable wake;
    bool stopping = false;
};

class EchoService final : public Echo::Service {
public:
    EchoService(Stopping& stop, std::atomic<std::uint64_t>& calls) : stop_(stop), calls_(calls) {}

    ::grpc::Status Say(::grpc::ServerContext* ctx, const EchoRequest* request, EchoReply* reply) override
    {
        ++calls_;
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(request->sleep_ms());
        std::unique_lock lock{stop_.mutex};
        // Wake every 20 ms to notice a client that gave up (IsCancelled).
        while (!stop_.stopping && !ctx->IsCancelled() && std::chrono::steady_clock::now() < until)
            stop_.wake.wait_until(lock, std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(20)));
        lock.unlock();
        reply->set_message(request->message());
        reply->set_peer(ctx->peer());
        return ::grpc::Status::OK;
    }

private:
    Stopping& stop_;
    std::atomic<std::uint64_t>& calls_;
};

} // namespace

struct EchoServer::Impl {
    EchoServerOptions options;
    Stopping stop;
    std::atomic<std::uint64_t> calls{0};
    mutable std::mutex control;  // serialises start/shutdown; guards the members below
    std::unique_ptr<EchoService> service;  // a fresh one per server built
    std::unique_ptr<::grpc::Server> server;
    bool serving = true;

    void apply_serving()
    {
        auto* health = server->GetHealthCheckService();
        health->SetServingStatus("", serving);
        health->SetServingStatus("example.Echo", serving);
    }
};

EchoServer::EchoServer(EchoServerOptions options) : impl_(std::make_unique<Impl>())
{
    impl_->options = options;
    start();
}

EchoServer::~EchoServer()
{
    shutdown();
}

void EchoServer::start()
{
    std::lock_guard control{impl_->control};
    if (impl_->server) return;
    ::grpc::EnableDefaultHealthCheckService(true);  // read when a server is built
    ::grpc::ServerBuilder builder;
    int bound = 0;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(impl_->options.port),
                             ::grpc::InsecureServerCredentials(), &bound);
    impl_->service = std::make_unique<EchoService>(impl_->stop, impl_->calls);
    builder.RegisterService(impl_->service.get());
    if (impl_->options.max_concurrent_streams > 0)
        builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, impl_->options.max_concurrent_streams);
    // Accept the pool's keepalive pings however often it is configured to
    // send them (a grpc server answers pings more frequent than every 5 min
    // with GOAWAY "too_many_pings"); see docs/adapters/grpc.md.
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 100);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
    {
        std::lock_guard lock{impl_->stop.mutex};
        impl_->stop.stopping = false;
    }
    auto server = builder.BuildAndStart();
    if (!server || bound == 0)
        throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(impl_->options.port));
    impl_->server = std::move(server);
    impl_->options.port = static_cast<std::uint16_t>(bound);  // the same port after a restart
    impl_->apply_serving();
}

void EchoServer::shutdown()
{
    std::lock_guard control{impl_->control};
    if (!impl_->server) return;
    {
        std::lock_guard lock{impl_->stop.mutex};
        impl_->stop.stopping = true;
    }
    impl_->stop.wake.notify_all();
    // A deadline of now cancels the calls in flight instead of waiting for them.
    impl_->server->Shutdown(std::chrono::system_clock::now());
    impl_->server->Wait();
    impl_->server.reset();
}

std::uint16_t EchoServer::port() const
{
    std::lock_guard control{impl_->control};
    return impl_->options.port;
}

std::string EchoServer::address() const
{
    return "127.0.0.1:" + std::to_string(port());
}

void EchoServer::set_serving(bool serving)
{
    std::lock_guard control{impl_->control};
    impl_->serving = serving;
    if (impl_->server) impl_->apply_serving();
}

std::uint64_t EchoServer::calls() const
{
    return impl_->calls.load();
}

} // namespace example
