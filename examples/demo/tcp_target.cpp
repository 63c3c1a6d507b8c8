// The TCP target: a TLS echo server (local_servers/echo_server) with
// certificates from a throwaway CA (local_servers/test_pki), and a pool of
// verified TLS connections. Its fault: the server drops every connection
// (RST), again every quarter second for the whole outage, as a server does
// that restarts in a loop or a load balancer that drains it.
#include <respool/tcp.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "pooled_target.hpp"
#include "local_servers/echo_server.hpp"
#include "local_servers/test_pki.hpp"
#include "targets.hpp"

namespace demo {

namespace {

using namespace std::chrono_literals;

constexpr auto drop_every = 250ms;

std::unique_ptr<respool::test::TestPki> make_pki()
{
    try {
        return std::make_unique<respool::test::TestPki>();
    } catch (const std::exception& e) {
        throw StartError(std::string("cannot make the TLS test certificates: ") + e.what());
    }
}

std::unique_ptr<respool::test::EchoServer> start_server(const respool::test::TestPki& pki)
{
    try {
        return std::make_unique<respool::test::EchoServer>(respool::test::EchoServerOptions{
            .tls = true, .cert_file = pki.server_cert, .key_file = pki.server_key});
    } catch (const std::exception& e) {
        throw StartError(std::string("cannot start the TLS echo server: ") + e.what());
    }
}

class TcpTarget final : public PooledTarget<respool::tcp::Adapter> {
public:
    TcpTarget(const DemoConfig& config, std::shared_ptr<respool::EventListener> listener)
        : pki_(make_pki()), server_(start_server(*pki_))
    {
        respool::tcp::Options o;
        o.host = "127.0.0.1";
        o.port = server_->port();
        o.tls = respool::tcp::TlsOptions{.ca_file = pki_->ca_cert};  // verifies chain and IP
        // Checked on borrow when a connection sat idle (validate_after_idle).
        o.probe = [](respool::tcp::Socket& s, respool::Deadline d) {
            s.write_line("PING", d);
            return s.read_line(d) == "PING";
        };
        start_pool(respool::tcp::Adapter{o}, demo_pool_options("tcp", config.pool_size, std::move(listener)));
    }
    ~TcpTarget() override
    {
        end_fault();
        stop_pool();
    }

    std::string_view name() const noexcept override { return "tcp"; }
    std::string server() const override
    {
        return fmt::format("TLS echo server on 127.0.0.1:{}, certificate from a throwaway CA", server_->port());
    }
    std::string work() const override
    {
        return fmt::format("one line echoed over TLS, the client holding the connection {} ms", hold_time.count());
    }

    std::string fault() const override
    {
        return fmt::format("the server drops every connection (RST), every {} ms", drop_every.count());
    }
    void begin_fault() override
    {
        server_->reset_all();
        dropper_ = std::jthread([this](std::stop_token stop) {
            std::mutex m;
            std::condition_variable_any cv;
            std::unique_lock lock(m);
            for (;;) {
                cv.wait_for(lock, stop, drop_every, [] { return false; });  // wakes early on stop
                if (stop.stop_requested()) return;
                server_->reset_all();
            }
        });
    }
    void end_fault() override
    {
        if (dropper_.joinable()) {
            dropper_.request_stop();
            dropper_.join();
        }
    }

protected:
    void use(Lease& lease, std::uint64_t n) override
    {
        const auto deadline = respool::deadline_after(request_timeout);
        const std::string line = fmt::format("request {}", n);
        // The work a client does with its connection; the echo server itself answers at once.
        std::this_thread::sleep_for(hold_time);
        lease->write_line(line, deadline);
        if (lease->read_line(deadline) != line) throw std::runtime_error("tcp: wrong answer");
    }

private:
    std::unique_ptr<respool::test::TestPki> pki_;
    std::unique_ptr<respool::test::EchoServer> server_;
    std::jthread dropper_;  // drops every connection while the fault lasts
};

} // namespace

std::unique_ptr<Target> make_tcp_target(const DemoConfig& config, std::shared_ptr<respool::EventListener> listener)
{
    return std::make_unique<TcpTarget>(config, std::move(listener));
}

} // namespace demo
