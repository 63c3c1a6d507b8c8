// pq_error.hpp (internal) — respool::pg::Error from what libpq reports.
//
// Every message passes through `Settings::scrub`, so no configured secret
// reaches an exception even if libpq (or the server) ever echoed it.
#pragma once

#include <string>
#include <string_view>

#include <libpq-fe.h>

#include <respool/pg/error.hpp>

#include "conn_state.hpp"

namespace respool::pg::detail {

/// `text` safe for a log line: control characters (ESC sequences, CR, NUL,
/// DEL, newlines) shown as \xNN, a tab as a space.
std::string sanitize(std::string_view text);

/// libpq's multi-line message on one line: lines joined by "; ", LOCATION
/// lines and the caret under a syntax error dropped, whitespace trimmed,
/// repeated lines said once, control characters as in `sanitize`.
std::string flatten(std::string_view message);

/// The error of a failed statement; marks `state` broken when the session is gone.
Error error_from_result(ConnState& state, const PGresult* result);

/// An error described by PQerrorMessage (nothing from the server), prefixed
/// by `context`; marks `state` broken when libpq says the connection is bad.
Error error_from_connection(ConnState& state, ErrorKind kind, std::string_view context);

/// The error of a failed connect. With PQERRORS_VERBOSE set during the
/// connect, libpq writes the SQLSTATE into the message; it is moved into
/// `sqlstate()` and the LOCATION line dropped.
Error connect_error(const Settings& settings, PGconn* conn);

} // namespace respool::pg::detail
