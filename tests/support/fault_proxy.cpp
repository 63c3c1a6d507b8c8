#include "fault_proxy.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "local_servers/net_util.hpp"

namespace respool::test {

namespace {

using Clock = std::chrono::steady_clock;
using detail::Fd;

constexpr std::size_t max_buffered = std::size_t{1} << 20;  // per direction, then stop reading

struct Chunk {
    Clock::time_point ready;
    std::string data;
    std::size_t offset = 0;
};

/// One direction of a connection: bytes read from one side, owed to the other.
struct Pipe {
    std::deque<Chunk> queue;
    std::size_t bytes = 0;
    bool eof = false;    // the source sent FIN
    bool reset = false;  // the source failed (RST); owed to the destination
    bool shut = false;   // FIN passed on to the destination
};

struct Conn {
    Fd client;
    Fd upstream;
    bool connecting = false;
    Pipe up;    // client -> upstream
    Pipe down;  // upstream -> client
    bool dead = false;
};

enum class Mode { pass, delay, blackhole };

/// Reads what is available from `fd` into `pipe`; false on error.
bool read_into(int fd, Pipe& pipe, Clock::time_point ready)
{
    char buf[16384];
    while (pipe.bytes < max_buffered) {
        ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            pipe.queue.push_back({ready, std::string(buf, static_cast<std::size_t>(n))});
            pipe.bytes += static_cast<std::size_t>(n);
        } else if (n == 0) {
            pipe.eof = true;
            return true;
        } else {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        }
    }
    return true;
}

/// Writes the chunks of `pipe` that are due to `fd`; false on error.
bool flush(int fd, Pipe& pipe, Clock::time_point now, bool honour_time)
{
    while (!pipe.queue.empty()) {
        Chunk& c = pipe.queue.front();
        if (honour_time && c.ready > now) return true;
        ssize_t n = ::send(fd, c.data.data() + c.offset, c.data.size() - c.offset,
                           MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c.offset += static_cast<std::size_t>(n);
        pipe.bytes -= static_cast<std::size_t>(n);
        if (c.offset < c.data.size()) return true;
        pipe.queue.pop_front();
    }
    return true;
}

bool has_due(const Pipe& p, Clock::time_point now, bool honour_time)
{
    return !p.queue.empty() && (!honour_time || p.queue.front().ready <= now);
}

} // namespace

struct FaultProxy::Impl {
    detail::SockAddr upstream;
    Fd listener;
    std::uint16_t port = 0;
    detail::LoopCommands commands;
    Mode mode = Mode::pass;  // loop thread only
    std::chrono::milliseconds lag{0};
    std::vector<std::unique_ptr<Conn>> conns;  // loop thread only
    detail::AcceptCounter accepted;
    std::atomic<std::size_t> open{0};
    std::thread thread;

    void loop();
    void accept_new();
    void service(Conn& c, short client_events, short upstream_events, Clock::time_point now);
    void start_upstream(Conn& c);
    void forward(Conn& c, Clock::time_point now);
    int poll_timeout(Clock::time_point now) const;
    void kill(Conn& c);
    void sweep();
};

void FaultProxy::Impl::loop()
{
    std::vector<pollfd> fds;
    for (;;) {
        auto now = Clock::now();
        for (auto& c : conns)
            if (!c->upstream && mode != Mode::blackhole) start_upstream(*c);
        sweep();
        fds.assign({{commands.fd(), POLLIN, 0}, {listener.get(), POLLIN, 0}});
        bool timed = mode == Mode::delay;
        for (auto& c : conns) {
            bool fwd = mode != Mode::blackhole;
            short ce = 0, ue = 0;
            if (!c->up.eof && !c->up.reset && c->up.bytes < max_buffered) ce |= POLLIN;
            if (fwd && has_due(c->down, now, timed)) ce |= POLLOUT;
            if (c->connecting) ue |= POLLOUT;
            else if (c->upstream) {
                if (!c->down.eof && !c->down.reset && c->down.bytes < max_buffered) ue |= POLLIN;
                if (fwd && has_due(c->up, now, timed)) ue |= POLLOUT;
            }
            fds.push_back({c->client ? c->client.get() : -1, ce, 0});
            fds.push_back({c->upstream ? c->upstream.get() : -1, ue, 0});
        }
        if (::poll(fds.data(), fds.size(), poll_timeout(now)) < 0 && errno != EINTR) return;
        if (fds[0].revents) {
            if (!commands.drain()) return;
            continue;  // commands may have changed the connection table
        }
        if (fds[1].revents) accept_new();
        now = Clock::now();
        for (std::size_t i = 0; i < conns.size() && 2 + 2 * i + 1 < fds.size(); ++i)
            service(*conns[i], fds[2 + 2 * i].revents, fds[3 + 2 * i].revents, now);
    }
}

void FaultProxy::Impl::accept_new()
{
    for (;;) {
        int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        auto c = std::make_unique<Conn>();
        c->client.reset(fd);
        conns.push_back(std::move(c));
        accepted.add();
        open = conns.size();
    }
}

void FaultProxy::Impl::start_upstream(Conn& c)
{
    try {
        c.upstream = detail::connect_nonblocking(upstream);
        c.connecting = true;
    } catch (const std::exception&) {
        kill(c);  // the client sees what a refused connection looks like: a reset
    }
}

void FaultProxy::Impl::service(Conn& c, short ce, short ue, Clock::time_point now)
{
    if (c.dead) return;
    if (c.connecting && ue) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.upstream.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) return kill(c);
        c.connecting = false;
        ue = 0;
    }
    // A side that failed is closed at once so poll does not spin on it; the
    // failure is passed on when forwarding (it is held while blackholed).
    if ((ce & (POLLIN | POLLHUP | POLLERR)) && !read_into(c.client.get(), c.up, now + lag)) {
        c.up.reset = true;
        c.client.reset();
    }
    if ((ue & (POLLIN | POLLHUP | POLLERR)) && !read_into(c.upstream.get(), c.down, now + lag)) {
        c.down.reset = true;
        c.upstream.reset();
    }
    // Hang-up or error on a side we no longer read (EOF seen, buffer full).
    if (c.client && (ce & (POLLHUP | POLLERR)) && !(ce & POLLIN)) {
        c.up.reset = true;
        c.client.reset();
    }
    if (c.upstream && !c.connecting && (ue & (POLLHUP | POLLERR)) && !(ue & POLLIN)) {
        c.down.reset = true;
        c.upstream.reset();
    }
    forward(c, now);
}

void FaultProxy::Impl::forward(Conn& c, Clock::time_point now)
{
    if (mode == Mode::blackhole || c.dead) return;
    bool timed = mode == Mode::delay;
    if (c.up.reset || c.down.reset) return kill(c);
    if (c.upstream && !c.connecting && !flush(c.upstream.get(), c.up, now, timed)) return kill(c);
    if (!flush(c.client.get(), c.down, now, timed)) return kill(c);
    if (c.up.eof && c.up.queue.empty() && !c.up.shut && c.upstream && !c.connecting) {
        ::shutdown(c.upstream.get(), SHUT_WR);
        c.up.shut = true;
    }
    if (c.down.eof && c.down.queue.empty() && !c.down.shut) {
        ::shutdown(c.client.get(), SHUT_WR);
        c.down.shut = true;
    }
    if (c.up.shut && c.down.shut) {
        c.client.reset();
        c.upstream.reset();
        c.dead = true;
    }
}

int FaultProxy::Impl::poll_timeout(Clock::time_point now) const
{
    if (mode != Mode::delay) return -1;
    auto next = Clock::time_point::max();
    for (auto& c : conns) {
        if (!c->up.queue.empty()) next = std::min(next, c->up.queue.front().ready);
        if (!c->down.queue.empty()) next = std::min(next, c->down.queue.front().ready);
    }
    if (next == Clock::time_point::max()) return -1;
    if (next <= now) return 0;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
    return static_cast<int>(std::min<long long>(ms, 60'000));
}

void FaultProxy::Impl::kill(Conn& c)
{
    detail::close_with_reset(c.client);
    detail::close_with_reset(c.upstream);
    c.dead = true;
}

void FaultProxy::Impl::sweep()
{
    std::erase_if(conns, [](const auto& c) { return c->dead; });
    open = conns.size();
}

FaultProxy::FaultProxy(std::string upstream_host, std::uint16_t upstream_port)
    : impl_(std::make_unique<Impl>())
{
    impl_->upstream = detail::resolve_one(upstream_host, upstream_port);
    impl_->listener = detail::listen_loopback(128);
    impl_->port = detail::local_port(impl_->listener.get());
    impl_->thread = std::thread([impl = impl_.get()] { impl->loop(); });
}

FaultProxy::~FaultProxy()
{
    impl_->commands.request_stop();
    impl_->thread.join();
}

std::uint16_t FaultProxy::port() const noexcept { return impl_->port; }

void FaultProxy::pass()
{
    impl_->commands.run([this] { impl_->mode = Mode::pass; });
}

void FaultProxy::delay(std::chrono::milliseconds d)
{
    impl_->commands.run([this, d] {
        impl_->mode = Mode::delay;
        impl_->lag = d;
    });
}

void FaultProxy::blackhole()
{
    impl_->commands.run([this] { impl_->mode = Mode::blackhole; });
}

void FaultProxy::reset_all()
{
    impl_->commands.run([this] {
        for (auto& c : impl_->conns) impl_->kill(*c);
        impl_->sweep();
    });
}

void FaultProxy::close_all()
{
    impl_->commands.run([this] {
        for (auto& c : impl_->conns) {
            detail::close_gracefully(c->client);
            detail::close_gracefully(c->upstream);
            c->dead = true;
        }
        impl_->sweep();
    });
}

void FaultProxy::inject_garbage(std::string bytes)
{
    impl_->commands.run([this, &bytes] {
        for (auto& c : impl_->conns)
            if (c->client)
                ::send(c->client.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    });
}

void FaultProxy::set_upstream_port(std::uint16_t port)
{
    impl_->commands.run([this, port] {
        auto& a = impl_->upstream.addr;
        if (a.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6&>(a).sin6_port = htons(port);
        else reinterpret_cast<sockaddr_in&>(a).sin_port = htons(port);
    });
}

std::size_t FaultProxy::accepted() const noexcept { return impl_->accepted.count(); }
std::size_t FaultProxy::open() const noexcept { return impl_->open; }

bool FaultProxy::wait_accepted(std::size_t n, std::chrono::milliseconds timeout) const
{
    return impl_->accepted.wait_for(n, timeout);
}

} // namespace respool::test
