// wait.hpp (internal) — waiting on libpq's socket without outliving a deadline.
#pragma once

#include <libpq-fe.h>

#include <respool/deadline.hpp>

namespace respool::pg::detail {

/// Waits until `fd` has one of `events` (POLLIN/POLLOUT) or `deadline`
/// passes. Returns poll's revents (errors and hang-ups included), or 0 when
/// the deadline passed first. Deadline::max() waits without limit. Inside a
/// StopScope (create with a stop token) it also returns 0 once stop is requested.
short wait_socket(int fd, short events, Deadline deadline) noexcept;

/// `now + timeout` for the adapter's millisecond options, saturating:
/// milliseconds::max() (or anything beyond the clock's range) is
/// Deadline::max(), "no deadline", instead of an overflow (core's
/// deadline_after converts to nanoseconds first, which overflows for it).
Deadline deadline_in(std::chrono::milliseconds timeout, Deadline now = SteadyClock::now()) noexcept;

/// Milliseconds from `start` to now, for messages.
long long elapsed_ms(Deadline start) noexcept;

/// Asks the server to cancel what `conn` is running, on a background thread:
/// PQcancel opens a new connection and blocks without a timeout, which must
/// never delay the caller. At most a few run at once; beyond that the
/// request is skipped (the connection is being discarded anyway).
void cancel_in_background(PGconn* conn) noexcept;

} // namespace respool::pg::detail
