// The in-process gRPC echo server: a sync Echo service plus grpc's default
// health service, rebuilt on the same port by each start().
#include "grpc_echo_server.hpp"

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <sstream>
#include <mutex>
#include <set>
#include <stdexcept>

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "echo.grpc.pb.h"

namespace respool::test {
namespace {

// What the service shares with the server object; guarded by `mutex`.
struct EchoState {
    std::mutex mutex;
    std::condition_variable wake;
    bool stopping = false;
    GrpcEchoStats stats;
    std::set<std::string> peers;
};

class EchoService final : public Echo::Service {
public:
    explicit EchoService(EchoState& state) : state_(state) {}

    ::grpc::Status Say(::grpc::ServerContext* ctx, const EchoRequest* request,
                       EchoReply* reply) override
    {
        std::unique_lock lock{state_.mutex};
        auto& stats = state_.stats;
        ++stats.calls;
        stats.max_in_flight = std::max(stats.max_in_flight, ++stats.in_flight);
        state_.peers.insert(ctx->peer());
        stats.distinct_peers = state_.peers.size();
        hold(lock, ctx, std::chrono::milliseconds(request->sleep_ms()));
        --stats.in_flight;
        lock.unlock();
        reply->set_message(request->message());
        reply->set_peer(ctx->peer());
        return ::grpc::Status::OK;
    }

private:
    // Sleeps, but returns early when the call is cancelled (the client gave
    // up) or the server stops, so shutdown never waits for sleepers.
    void hold(std::unique_lock<std::mutex>& lock, ::grpc::ServerContext* ctx,
              std::chrono::milliseconds sleep)
    {
        const auto until = std::chrono::steady_clock::now() + sleep;
        while (!state_.stopping && std::chrono::steady_clock::now() < until) {
            if (ctx->IsCancelled()) return;
            const auto slice = std::min(until, std::chrono::steady_clock::now() +
                                                   std::chrono::milliseconds(20));
            state_.wake.wait_until(lock, slice);
        }
    }

    EchoState& state_;
};

// Its own file reading keeps this server free of the other support files, so
// examples can link it alone.
std::string read_pem(const std::string& path)
{
    std::ifstream in{path, std::ios::binary};
    if (!in) throw std::runtime_error("GrpcEchoServer: cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::shared_ptr<::grpc::ServerCredentials> make_credentials(const GrpcEchoServerOptions& o)
{
    if (o.cert_file.empty() && o.key_file.empty()) return ::grpc::InsecureServerCredentials();
    if (o.cert_file.empty() || o.key_file.empty()) {
        throw std::invalid_argument("GrpcEchoServer: TLS needs both cert_file and key_file");
    }
    ::grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({read_pem(o.key_file), read_pem(o.cert_file)});
    if (!o.client_ca_file.empty()) {
        ssl.pem_root_certs = read_pem(o.client_ca_file);
        ssl.client_certificate_request =
            GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    return ::grpc::SslServerCredentials(ssl);
}

} // namespace

struct GrpcEchoServer::Impl {
    GrpcEchoServerOptions options;
    EchoState state;
    std::unique_ptr<EchoService> service;  // a fresh one per server built
    mutable std::mutex control;  // serialises start/shutdown; guards server, port, serving
    std::unique_ptr<::grpc::Server> server;
    std::uint16_t port = 0;
    bool serving = true;

    void apply_serving()
    {
        auto* health = server->GetHealthCheckService();
        health->SetServingStatus("", serving);
        health->SetServingStatus(service_name(), serving);
    }
};

GrpcEchoServer::GrpcEchoServer(GrpcEchoServerOptions options) : impl_(std::make_unique<Impl>())
{
    impl_->options = std::move(options);
    impl_->port = impl_->options.port;
    start();
}

GrpcEchoServer::~GrpcEchoServer()
{
    shutdown();
}

void GrpcEchoServer::start()
{
    std::lock_guard control{impl_->control};
    if (impl_->server) return;
    const auto& o = impl_->options;
    // A process-wide switch read when a server is built; harmless to repeat.
    ::grpc::EnableDefaultHealthCheckService(true);
    ::grpc::ServerBuilder builder;
    int bound = 0;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(impl_->port), make_credentials(o),
                             &bound);
    impl_->service = std::make_unique<EchoService>(impl_->state);
    builder.RegisterService(impl_->service.get());
    if (o.max_concurrent_streams > 0) {
        builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, o.max_concurrent_streams);
    }
    if (o.permit_keepalive) {
        builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
        builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 100);
        builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
    }
    {
        std::lock_guard lock{impl_->state.mutex};
        impl_->state.stopping = false;
    }
    auto server = builder.BuildAndStart();
    if (!server || bound == 0) {
        throw std::runtime_error("GrpcEchoServer: cannot listen on 127.0.0.1:" +
                                 std::to_string(impl_->port));
    }
    impl_->server = std::move(server);
    impl_->port = static_cast<std::uint16_t>(bound);
    impl_->apply_serving();
}

void GrpcEchoServer::shutdown()
{
    std::lock_guard control{impl_->control};
    if (!impl_->server) return;
    {
        std::lock_guard lock{impl_->state.mutex};
        impl_->state.stopping = true;
    }
    impl_->state.wake.notify_all();
    // A deadline of now cancels the calls in flight instead of waiting for them.
    impl_->server->Shutdown(std::chrono::system_clock::now());
    impl_->server->Wait();
    impl_->server.reset();
}

void GrpcEchoServer::restart()
{
    shutdown();
    start();
}

bool GrpcEchoServer::running() const
{
    std::lock_guard control{impl_->control};
    return impl_->server != nullptr;
}

std::uint16_t GrpcEchoServer::port() const noexcept
{
    std::lock_guard control{impl_->control};
    return impl_->port;
}

std::string GrpcEchoServer::address() const
{
    return "127.0.0.1:" + std::to_string(port());
}

void GrpcEchoServer::set_serving(bool serving)
{
    std::lock_guard control{impl_->control};
    impl_->serving = serving;
    if (impl_->server) impl_->apply_serving();
}

GrpcEchoStats GrpcEchoServer::stats() const
{
    std::lock_guard lock{impl_->state.mutex};
    return impl_->state.stats;
}

std::vector<std::string> GrpcEchoServer::peers() const
{
    std::lock_guard lock{impl_->state.mutex};
    return {impl_->state.peers.begin(), impl_->state.peers.end()};
}

void GrpcEchoServer::reset_counters()
{
    std::lock_guard lock{impl_->state.mutex};
    const int in_flight = impl_->state.stats.in_flight;
    impl_->state.stats = GrpcEchoStats{};
    impl_->state.stats.in_flight = in_flight;
    impl_->state.stats.max_in_flight = in_flight;
    impl_->state.peers.clear();
}

const char* GrpcEchoServer::service_name() noexcept
{
    return "respool.test.Echo";
}

} // namespace respool::test
