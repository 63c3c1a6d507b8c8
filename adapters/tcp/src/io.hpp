// io.hpp — waiting on a socket until a deadline, and naming errno values (internal).
#pragma once

#include <string>

#include <respool/deadline.hpp>
#include <respool/tcp/error.hpp>

namespace respool::tcp::detail {

/// Waits until `fd` is ready for `events` (POLLIN / POLLOUT) or `deadline`
/// passes; true when ready (an error or hang-up counts as ready: the next
/// call reports it). Resumes after EINTR. Inside a StopScope (create with a
/// stop token) it also returns false once stop is requested.
bool wait_ready(int fd, short events, Deadline deadline);

/// The kind of failure an errno value means on a socket.
Errc classify_errno(int err) noexcept;

/// strerror_r as a string.
std::string errno_text(int err);

} // namespace respool::tcp::detail
