// A pool of TCP connections to a line-based echo service, used by eight
// threads, with a PING probe for connections that sat idle.
//
//   build/examples/tcp_echo                  # starts its own echo server on loopback
//   build/examples/tcp_echo HOST PORT        # talks to yours (plain TCP)
//   build/examples/tcp_echo HOST PORT CA.pem # over TLS, verifying HOST against CA.pem
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <respool/pool.hpp>
#include <respool/tcp.hpp>

using namespace std::chrono_literals;

namespace {

/// A throwaway echo server so the example runs on its own: one thread per connection.
class LoopbackEcho {
public:
    LoopbackEcho() : fd_(::socket(AF_INET, SOCK_STREAM, 0))
    {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof sa;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0 || ::listen(fd_, 64) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
            throw std::runtime_error("cannot listen on 127.0.0.1");
        port_ = ntohs(sa.sin_port);
        std::thread([fd = fd_] {
            for (int c; (c = ::accept(fd, nullptr, nullptr)) >= 0;)
                std::thread([c] {
                    char buf[4096];
                    for (ssize_t n; (n = ::recv(c, buf, sizeof buf, 0)) > 0;)
                        if (::send(c, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) break;
                    ::close(c);
                }).detach();
        }).detach();  // lives until the process exits
    }
    int port() const { return port_; }

private:
    int fd_;
    int port_ = 0;
};

} // namespace

int main(int argc, char** argv)
{
    respool::tcp::Options o;
    std::unique_ptr<LoopbackEcho> local;
    if (argc >= 3) {
        o.host = argv[1];
        o.port = std::atoi(argv[2]);
        if (argc >= 4) o.tls = respool::tcp::TlsOptions{.ca_file = argv[3]};  // verification stays on
    } else {
        local = std::make_unique<LoopbackEcho>();
        o.host = "127.0.0.1";
        o.port = local->port();
    }
    // Checked on borrow after the connection sat idle (PoolOptions::validate_after_idle).
    o.probe = [](respool::tcp::Socket& s, respool::Deadline d) {
        s.write_line("PING", d);
        return s.read_line(d) == "PING";  // an echo server answers with the same line
    };

    respool::PoolOptions options;
    options.name = "echo";
    options.max_size = 4;
    options.acquire_timeout = 2s;
    options.logger = [](respool::LogLevel level, std::string_view text) {
        if (level >= respool::LogLevel::error) std::fprintf(stderr, "%.*s\n", int(text.size()), text.data());
    };
    try {
        respool::Pool pool{respool::tcp::Adapter{o}, options};
        std::atomic<int> ok{0}, failed{0};
        std::vector<std::thread> workers;
        for (int t = 0; t < 8; ++t) {
            workers.emplace_back([&, t] {
                for (int i = 0; i < 250; ++i) {
                    try {
                        auto conn = pool.acquire();
                        auto deadline = respool::deadline_after(1s);  // one deadline for the exchange
                        std::string msg = fmt::format("worker {} message {}", t, i);
                        conn->write_line(msg, deadline);
                        if (conn->read_line(deadline) == msg) ++ok;
                        else ++failed;
                    } catch (const respool::tcp::Error& e) {
                        // An I/O error on this connection: the failed Socket call
                        // marked it broken, so the pool destroys it instead of
                        // lending it again. The next acquire gets a fresh one.
                        std::fprintf(stderr, "worker %d: %s\n", t, e.what());
                        ++failed;
                    } catch (const respool::Error& e) {
                        // The pool said no (server down: CreateFailed; too busy:
                        // AcquireTimeout). This worker gives up.
                        std::fprintf(stderr, "worker %d gives up: %s\n", t, e.what());
                        ++failed;
                        return;
                    }
                }
            });
        }
        for (auto& w : workers) w.join();
        auto s = pool.stats();
        std::printf("%s:%d  round trips ok %d, failed %d; connections made %llu for %llu leases\n",
                    o.host.c_str(), o.port, ok.load(), failed.load(),
                    static_cast<unsigned long long>(s.created), static_cast<unsigned long long>(s.acquired));
        return failed == 0 ? 0 : 1;
    } catch (const respool::InvalidOptions& e) {  // e.g. port 0, an unreadable CA file
        std::fprintf(stderr, "tcp_echo: %s\n", e.what());
        return 2;
    }
}
