#include "connect.hpp"

#include <cerrno>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <respool/tcp/error.hpp>

#include "io.hpp"

namespace respool::tcp::detail {

namespace {

void set_option(int fd, int level, int name, int value, const char* what, const std::string& endpoint)
{
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
        int err = errno;
        ::close(fd);
        throw Error(Errc::io, "tcp " + endpoint + ": setsockopt " + what + ": " + errno_text(err), err, "connect", endpoint);
    }
}

/// TCP_NODELAY, keepalive and TCP_USER_TIMEOUT as configured; closes `fd` and throws on failure.
void apply_options(int fd, const Options& o, const std::string& endpoint)
{
    if (o.no_delay) set_option(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY", endpoint);
    if (o.keepalive.enabled) {
        set_option(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE", endpoint);
        set_option(fd, IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(o.keepalive.idle.count()),
                   "TCP_KEEPIDLE", endpoint);
        set_option(fd, IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(o.keepalive.interval.count()),
                   "TCP_KEEPINTVL", endpoint);
        set_option(fd, IPPROTO_TCP, TCP_KEEPCNT, o.keepalive.count, "TCP_KEEPCNT", endpoint);
    }
    if (o.user_timeout.count() > 0)
        set_option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(o.user_timeout.count()),
                   "TCP_USER_TIMEOUT", endpoint);
}

/// Connects `fd` to `a` by `deadline`: 0, an errno, or ETIMEDOUT when the deadline passed.
int connect_one(int fd, const Address& a, Deadline deadline)
{
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.length) == 0) return 0;
    if (errno != EINPROGRESS) return errno;
    if (!wait_ready(fd, POLLOUT, deadline)) return ETIMEDOUT;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
}

} // namespace

Connected connect_any(const std::vector<Address>& addresses, const Options& options,
                      Deadline deadline, const std::string& endpoint)
{
    std::string tried;  // "addr: reason; addr: reason"
    bool all_refused = true;
    int last_err = 0;
    for (const Address& a : addresses) {
        int fd = ::socket(a.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last_err = errno;
        } else {
            apply_options(fd, options, endpoint);
            last_err = connect_one(fd, a, deadline);
            if (last_err == 0) return {fd, a.text};
            ::close(fd);
        }
        if (last_err == ETIMEDOUT && SteadyClock::now() >= deadline) {
            throw Error(Errc::timeout, "tcp " + endpoint + ": connecting to " + a.text +
                                           " did not complete before the deadline" +
                                           (tried.empty() ? "" : " (before: " + tried + ")"),
                        last_err, "connect", endpoint);
        }
        all_refused = all_refused && last_err == ECONNREFUSED;
        tried += (tried.empty() ? "" : "; ") + a.text + ": " + errno_text(last_err);
    }
    Errc kind = all_refused ? Errc::refused : classify_errno(last_err);
    std::string summary = all_refused ? "connection refused" : "cannot connect";
    throw Error(kind, "tcp " + endpoint + ": " + summary + " (" + tried + ")", last_err, "connect", endpoint);
}

} // namespace respool::tcp::detail
