#include "wait.hpp"

#include <atomic>
#include <cerrno>
#include <climits>
#include <thread>

#include <poll.h>

#include "stop_wake.hpp"

namespace respool::pg::detail {

short wait_socket(int fd, short events, Deadline deadline) noexcept
{
    // Inside create(deadline, stop): also wake when the pool closes.
    const auto* stop = respool::detail::net::StopScope::current();
    pollfd p[2] = {{fd, events, 0}, {stop ? stop->fd() : -1, POLLIN, 0}};
    for (;;) {
        if (stop && stop->stopped()) return 0;  // create() says why (stop_requested_here)
        int timeout_ms = -1;
        if (deadline != Deadline::max()) {
            auto left = time_left(deadline);
            if (left <= std::chrono::nanoseconds::zero()) return 0;
            // Round up: waking a little early would spin until the deadline.
            auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
            timeout_ms = ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
        }
        p[0].revents = p[1].revents = 0;
        int n = ::poll(p, p[1].fd >= 0 ? 2 : 1, timeout_ms);
        if (n > 0 && p[0].revents != 0) return p[0].revents;
        if (n < 0 && errno != EINTR) return POLLERR;
        // Timed out, interrupted or stopped: loop, so the deadline or the stop decides.
    }
}

Deadline deadline_in(std::chrono::milliseconds timeout, Deadline now) noexcept
{
    if (timeout <= std::chrono::milliseconds::zero()) return now;
    // Compared in milliseconds, where neither side can overflow.
    if (timeout >= std::chrono::floor<std::chrono::milliseconds>(Deadline::max() - now)) return Deadline::max();
    return now + timeout;
}

long long elapsed_ms(Deadline start) noexcept
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
}

namespace {
constexpr int max_cancels_in_flight = 4;
std::atomic<int> cancels_in_flight{0};
} // namespace

void cancel_in_background(PGconn* conn) noexcept
{
    if (cancels_in_flight.fetch_add(1) >= max_cancels_in_flight) {
        cancels_in_flight.fetch_sub(1);
        return;
    }
    PGcancel* cancel = PQgetCancel(conn);  // a copy of address and key: outlives PQfinish
    if (cancel == nullptr) {
        cancels_in_flight.fetch_sub(1);
        return;
    }
    try {
        std::thread([cancel] {
            char err[256];
            PQcancel(cancel, err, sizeof err);
            PQfreeCancel(cancel);
            cancels_in_flight.fetch_sub(1);
        }).detach();
    } catch (...) {
        PQfreeCancel(cancel);
        cancels_in_flight.fetch_sub(1);
    }
}

} // namespace respool::pg::detail
