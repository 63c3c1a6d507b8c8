#include "net_util.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace respool::test::detail {

namespace {
[[noreturn]] void throw_errno(const std::string& what)
{
    throw std::system_error(errno, std::generic_category(), what);
}
} // namespace

Fd& Fd::operator=(Fd&& o) noexcept
{
    if (this != &o) reset(o.release());
    return *this;
}

int Fd::release() noexcept
{
    int fd = fd_;
    fd_ = -1;
    return fd;
}

void Fd::reset(int fd) noexcept
{
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

Fd listen_loopback(int backlog, std::uint16_t port, bool ipv6)
{
    Fd fd(::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("socket");
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len;
    if (ipv6) {
        auto& sa = reinterpret_cast<sockaddr_in6&>(ss);
        sa.sin6_family = AF_INET6;
        sa.sin6_port = htons(port);
        sa.sin6_addr = in6addr_loopback;
        len = sizeof sa;
    } else {
        auto& sa = reinterpret_cast<sockaddr_in&>(ss);
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof sa;
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
        throw_errno(std::string("bind ") + (ipv6 ? "[::1]:" : "127.0.0.1:") + std::to_string(port));
    if (::listen(fd.get(), backlog) != 0) throw_errno("listen");
    return fd;
}

std::uint16_t local_port(int fd)
{
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) throw_errno("getsockname");
    if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

void set_nonblocking(int fd)
{
    int flags = ::fcntl(fd, F_GETFL, 0);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) throw_errno("fcntl O_NONBLOCK");
}

void close_with_reset(Fd& fd) noexcept
{
    if (!fd) return;
    linger lg{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    fd.reset();
}

void close_gracefully(Fd& fd) noexcept
{
    if (!fd) return;
    char buf[4096];
    while (::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
    ::shutdown(fd.get(), SHUT_WR);
    fd.reset();
}

SockAddr resolve_one(const std::string& host, std::uint16_t port)
{
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
    if (rc != 0 || res == nullptr)
        throw std::runtime_error("cannot resolve " + host + ": " + ::gai_strerror(rc));
    SockAddr out;
    std::memcpy(&out.addr, res->ai_addr, res->ai_addrlen);
    out.len = res->ai_addrlen;
    ::freeaddrinfo(res);
    return out;
}

Fd connect_nonblocking(const SockAddr& to)
{
    Fd fd(::socket(to.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("socket");
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to.addr), to.len) != 0 &&
        errno != EINPROGRESS)
        throw_errno("connect");
    return fd;
}

LoopCommands::LoopCommands() : event_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC))
{
    if (!event_) throw_errno("eventfd");
}

void LoopCommands::run(std::function<void()> fn)
{
    std::future<void> done;
    {
        std::lock_guard lock(mutex_);
        if (stop_) return;
        queue_.emplace_back(std::move(fn));
        done = queue_.back().get_future();
    }
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(event_.get(), &one, sizeof one);
    done.get();
}

void LoopCommands::request_stop()
{
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(event_.get(), &one, sizeof one);
}

bool LoopCommands::drain()
{
    std::uint64_t count;
    [[maybe_unused]] auto n = ::read(event_.get(), &count, sizeof count);
    std::deque<std::packaged_task<void()>> batch;
    bool stop;
    {
        std::lock_guard lock(mutex_);
        batch.swap(queue_);
        stop = stop_;
    }
    for (auto& task : batch) task();
    return !stop;
}

void AcceptCounter::add()
{
    {
        std::lock_guard lock(mutex_);
        ++count_;
    }
    changed_.notify_all();
}

std::size_t AcceptCounter::count() const
{
    std::lock_guard lock(mutex_);
    return count_;
}

bool AcceptCounter::wait_for(std::size_t n, std::chrono::milliseconds timeout) const
{
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return count_ >= n; });
}

} // namespace respool::test::detail
