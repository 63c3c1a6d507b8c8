#include "io.hpp"

#include <cerrno>
#include <cstring>

#include <poll.h>

#include "stop_wake.hpp"

namespace respool::tcp::detail {

bool wait_ready(int fd, short events, Deadline deadline)
{
    // Inside create(deadline, stop): also wake when the pool closes.
    const auto* stop = respool::detail::net::StopScope::current();
    pollfd p[2] = {{fd, events, 0}, {stop ? stop->fd() : -1, POLLIN, 0}};
    for (;;) {
        if (stop && stop->stopped()) return false;  // the caller checks stop_requested_here()
        timespec ts{};
        timespec* timeout = nullptr;  // Deadline::max(): no limit
        if (deadline != Deadline::max()) {
            auto left = time_left(deadline);
            ts.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
            ts.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
            timeout = &ts;
        }
        int rc = ::ppoll(p, p[1].fd >= 0 ? 2 : 1, timeout, nullptr);
        if (rc > 0 && p[0].revents != 0) return true;
        if (rc == 0 && SteadyClock::now() >= deadline) return false;
        if (rc < 0 && errno != EINTR) return true;  // let the I/O call report it
    }
}

Errc classify_errno(int err) noexcept
{
    switch (err) {
    case ECONNREFUSED: return Errc::refused;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENETDOWN:
    case EHOSTDOWN:
    case EADDRNOTAVAIL: return Errc::unreachable;
    case ETIMEDOUT: return Errc::timeout;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
    case ESHUTDOWN: return Errc::closed;
    default: return Errc::io;
    }
}

std::string errno_text(int err)
{
    char buf[256];
    // GNU strerror_r returns the message, which may or may not be `buf`.
    return ::strerror_r(err, buf, sizeof buf);
}

} // namespace respool::tcp::detail
