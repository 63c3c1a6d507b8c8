// net_util.hpp — socket plumbing shared by the test servers (internal).
//
// `Fd` owns a file descriptor; `LoopCommands` lets other threads run a
// function on a poll-loop thread and wait until it ran, which is how the test
// servers change state without locks around their sockets and without sleeps.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>

#include <sys/socket.h>

namespace respool::test::detail {

/// Owns one file descriptor; closes it on destruction. Move-only.
class Fd {
public:
    Fd() noexcept = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    ~Fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    int release() noexcept;
    void reset(int fd = -1) noexcept;

private:
    int fd_ = -1;
};

/// A non-blocking listener on 127.0.0.1, or ::1 when `ipv6` (port 0: the kernel picks one).
Fd listen_loopback(int backlog, std::uint16_t port = 0, bool ipv6 = false);

/// The local port a socket is bound to.
std::uint16_t local_port(int fd);

/// Sets O_NONBLOCK; throws std::system_error.
void set_nonblocking(int fd);

/// Closes with SO_LINGER 0 so the peer receives an RST, not a FIN.
void close_with_reset(Fd& fd) noexcept;

/// Discards unread input, then closes, so the peer receives a FIN (closing
/// with unread data would send an RST instead).
void close_gracefully(Fd& fd) noexcept;

/// First address of `host:port` (numeric or a name; blocking lookup).
struct SockAddr {
    sockaddr_storage addr{};
    socklen_t len = 0;
};
SockAddr resolve_one(const std::string& host, std::uint16_t port);

/// Starts a non-blocking connect; the returned socket is connected or connecting.
Fd connect_nonblocking(const SockAddr& to);

/// Commands for a poll loop: other threads `run` a function on the loop's
/// thread and wait for it; the loop polls `fd()` and calls `drain()`.
class LoopCommands {
public:
    LoopCommands();
    int fd() const noexcept { return event_.get(); }
    /// Runs `fn` on the loop thread and returns when it has run (rethrows).
    /// Does nothing once the loop was asked to stop.
    void run(std::function<void()> fn);
    /// Asks the loop to end; `drain` then runs what is queued and returns false.
    void request_stop();
    /// Loop thread only: runs the queued commands; false when the loop must end.
    bool drain();

private:
    std::mutex mutex_;
    std::deque<std::packaged_task<void()>> queue_;
    bool stop_ = false;
    Fd event_;
};

/// Counts accepted connections; other threads can wait for a count (no polling).
class AcceptCounter {
public:
    void add();
    std::size_t count() const;
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::size_t count_ = 0;
};

} // namespace respool::test::detail
