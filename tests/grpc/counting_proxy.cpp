#include "counting_proxy.hpp"

#include <atomic>
#include <condition_variable>
#include <cerrno>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "local_servers/net_util.hpp"

namespace respool::test {

namespace {

using detail::Fd;

struct Conn {
    Fd client;
    Fd upstream;  // empty: stalled (or the upstream refused and it is closing)
};

/// Our side of `fd` is still ESTABLISHED: the client has not sent FIN or RST.
bool client_open(int fd)
{
    tcp_info info{};
    socklen_t len = sizeof info;
    return ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 && info.tcpi_state == TCP_ESTABLISHED;
}

/// Blocking connect to 127.0.0.1:port (loopback: immediate); empty on failure.
Fd connect_upstream(std::uint16_t port)
{
    Fd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (!fd) return {};
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) return {};
    return fd;
}

/// Copies what `from` has to `to`; false when either side ended.
bool copy(int from, int to)
{
    char buf[65536];
    const ssize_t n = ::recv(from, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    for (ssize_t sent = 0; sent < n;) {
        const ssize_t m = ::send(to, buf + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
        if (m < 0) return errno == EINTR;
        sent += m;
    }
    return true;
}

} // namespace

struct CountingProxy::Impl {
    std::uint16_t upstream_port;
    std::atomic<Mode> mode;
    Fd listener;
    std::string address;
    mutable std::mutex mutex;
    std::vector<std::unique_ptr<Conn>> conns;  // guarded by mutex (only the loop changes it)
    std::size_t accepted = 0;                   // guarded by mutex
    std::size_t max_open = 0;                   // guarded by mutex
    std::atomic<bool> stop{false};
    std::atomic<bool> close_all{false};
    std::condition_variable close_all_done;
    std::thread thread;

    std::size_t open_locked() const
    {
        std::size_t n = 0;
        for (const auto& c : conns) n += client_open(c->client.get()) ? 1 : 0;
        return n;
    }

    void accept_all()
    {
        for (;;) {
            Fd fd{::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC)};
            if (!fd) return;  // EAGAIN: the listener is non-blocking
            auto c = std::make_unique<Conn>();
            c->client = std::move(fd);
            const Mode m = mode.load();
            if (m == Mode::forward) {
                c->upstream = connect_upstream(upstream_port);
                if (!c->upstream) detail::close_gracefully(c->client);  // refused: the client sees it closed
            } else if (m == Mode::refuse) {
                detail::close_gracefully(c->client);
            }
            std::lock_guard lock(mutex);
            ++accepted;
            if (c->client) {
                conns.push_back(std::move(c));
                max_open = std::max(max_open, open_locked());
            }
        }
    }

    void run()
    {
        while (!stop.load()) {
            std::vector<pollfd> fds{{listener.get(), POLLIN, 0}};
            {
                std::lock_guard lock(mutex);
                for (const auto& c : conns) {
                    fds.push_back({c->client.get(), POLLIN, 0});
                    fds.push_back({c->upstream ? c->upstream.get() : -1, POLLIN, 0});
                }
            }
            if (::poll(fds.data(), fds.size(), close_all.load() ? 0 : 20) < 0) continue;
            if (fds[0].revents) accept_all();
            std::lock_guard lock(mutex);
            if (close_all.exchange(false)) {
                for (auto& c : conns) {
                    detail::close_with_reset(c->client);
                    if (c->upstream) detail::close_with_reset(c->upstream);
                }
                conns.clear();
                close_all_done.notify_all();
                continue;
            }
            for (std::size_t i = 0; i + 1 < fds.size(); i += 2) {
                Conn& c = *conns[i / 2];
                bool alive = true;
                if (fds[i + 1].revents) {
                    if (c.upstream) alive = copy(c.client.get(), c.upstream.get());
                    else {
                        char sink[4096];  // stalled: read and drop, to see the client's FIN
                        alive = ::recv(c.client.get(), sink, sizeof sink, MSG_DONTWAIT) != 0;
                    }
                }
                if (alive && fds[i + 2].revents) alive = copy(c.upstream.get(), c.client.get());
                if (!alive) {
                    detail::close_gracefully(c.client);
                    if (c.upstream) detail::close_gracefully(c.upstream);
                }
            }
            std::erase_if(conns, [](const std::unique_ptr<Conn>& c) { return !c->client; });
        }
    }
};

CountingProxy::CountingProxy(std::uint16_t upstream_port, Mode mode) : impl_(std::make_unique<Impl>())
{
    impl_->upstream_port = upstream_port;
    impl_->mode = mode;
    impl_->listener = detail::listen_loopback(128);
    impl_->address = "127.0.0.1:" + std::to_string(port());
    impl_->thread = std::thread([this] { impl_->run(); });
}

CountingProxy::~CountingProxy()
{
    impl_->stop = true;
    impl_->thread.join();
}

std::uint16_t CountingProxy::port() const noexcept { return detail::local_port(impl_->listener.get()); }
std::string_view CountingProxy::address() const noexcept { return impl_->address; }
void CountingProxy::set_mode(Mode mode) noexcept { impl_->mode = mode; }

void CountingProxy::reset_all()
{
    std::unique_lock lock(impl_->mutex);
    impl_->close_all = true;
    impl_->close_all_done.wait(lock, [&] { return !impl_->close_all.load(); });
}

std::size_t CountingProxy::accepted() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->accepted;
}

std::size_t CountingProxy::max_open() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->max_open;
}

std::size_t CountingProxy::open() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->open_locked();
}

void CountingProxy::reset_max()
{
    std::lock_guard lock(impl_->mutex);
    impl_->max_open = impl_->open_locked();
}

} // namespace respool::test
