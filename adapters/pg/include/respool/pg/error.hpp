// respool/pg/error.hpp — the one exception type of the PostgreSQL adapter.
//
// `respool::pg::Error` carries what went wrong (`kind()`), the server's
// SQLSTATE and message when the server said something, and whether the
// connection is now unusable. Like every adapter's errors it derives from
// `respool::AdapterError` (a std::system_error, so also a
// std::runtime_error): `code()` is in `respool::pg::error_category()` (one
// value per `ErrorKind`, so `e.code() == respool::pg::ErrorKind::timeout`
// works), `operation()` and `endpoint()` say what it did where, and
// `fatal()` whether a new connection can get past it. It is not a
// `respool::Error`: those codes describe the pool (timeouts, closing,
// exhaustion), and a failed query is not a pool error. When `create` fails,
// the pool's `CreateFailed` carries this exception as its cause, so
// `sqlstate()` survives (e.g. 28P01 for a wrong password).
//
// Every error names the `operation()` that failed ("connect", "resolve",
// "setup", "query", "prepare", "reset", ...) and the `endpoint()` it talked to
// (the adapter's target, no secrets), the same shape as the TCP and gRPC
// adapters' errors. Bad options are not a pg::Error: the Adapter constructor
// throws `respool::InvalidOptions` naming the field.
//
// Messages never contain a password: the adapter builds them from parts that
// hold none, and scrubs the configured password (and pieces of it of 6
// characters or more at its start or end, e.g. from a statement the server
// shortened) from anything libpq or the server returns. Control characters
// from the server (ESC sequences, newlines) are shown as \xNN, so a message
// is safe to put into a log line.
//
//   try { conn.exec("INSERT INTO t VALUES ($1)", 1); }
//   catch (const respool::pg::Error& e) {
//       if (e.sqlstate() == "23505") { /* unique violation */ }
//   }
#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include <respool/adapter_error.hpp>
#include <respool/pg/export.hpp>

namespace respool::pg {

/// What failed, coarsely; `sqlstate()` says precisely when the server answered.
enum class ErrorKind {
    config,           ///< unused since options are checked by the constructor (respool::InvalidOptions); kept for ABI
    connect,          ///< the connection could not be made (refused, auth, unknown database, TLS, DNS)
    timeout,          ///< a deadline passed (connect, resolve, query, validation)
    query,            ///< the server rejected a statement; the connection stays usable
    connection_lost,  ///< the connection broke or the server ended the session
    usage,            ///< misuse: a closed connection, a NULL read as a value, a bad conversion
};

/// "config", "connect", ...
RESPOOL_PG_API std::string_view to_string(ErrorKind kind) noexcept;

/// The category of `pg::Error::code()`, named "respool.pg": the value is the
/// `ErrorKind` plus one (0 means no error), its message `to_string(kind)`.
RESPOOL_PG_API const std::error_category& error_category() noexcept;

/// `kind` as an error code of `error_category()`.
inline std::error_code make_error_code(ErrorKind kind) noexcept
{
    return {static_cast<int>(kind) + 1, error_category()};
}

/// True for SQLSTATEs after which the session is gone: class 08 (connection
/// exception) and 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now).
RESPOOL_PG_API bool is_connection_sqlstate(std::string_view sqlstate) noexcept;

/// True for SQLSTATEs that a new connection cannot get past by retrying:
/// class 28 (invalid authorization: 28P01 wrong password, 28000 unknown role
/// or a pg_hba.conf reject), 3D000 (unknown database), 3F000 (unknown
/// schema), 22023 (invalid parameter value) and class 42 (e.g. 42704 an
/// unrecognised setting in `options`, 42501 no CONNECT privilege, a setup
/// statement with a syntax error). Not 57P03 (starting up), 53300 (too many
/// connections) or class 08: those pass.
RESPOOL_PG_API bool is_fatal_sqlstate(std::string_view sqlstate) noexcept;

/// An error of the PostgreSQL adapter. Copyable, cheap to catch by reference.
class RESPOOL_PG_API Error : public respool::AdapterError {
public:
    /// `what` must already be free of secrets.
    Error(ErrorKind kind, const std::string& what, std::string sqlstate = {},
          std::string server_message = {}, std::string detail = {}, std::string hint = {});
    /// The same error, said to have happened in `operation` against `endpoint`.
    Error(const Error& other, std::string operation, std::string endpoint);

    ErrorKind kind() const noexcept { return kind_; }
    /// Five-character SQLSTATE, or "" when the server sent none. A connection
    /// lost without a word from the server reports "08006" (connection_failure).
    const std::string& sqlstate() const noexcept { return sqlstate_; }
    /// The server's primary message ("" for client-side errors).
    const std::string& server_message() const noexcept { return server_message_; }
    /// The server's DETAIL and HINT fields, "" when absent.
    const std::string& detail() const noexcept { return detail_; }
    const std::string& hint() const noexcept { return hint_; }
    // operation(): "connect", "resolve", "setup" (a setup statement), "query",
    // "prepare", "reset", or "" when not known. endpoint(): the server, as
    // `Adapter::target()` shows it ("host=db port=5432 dbname=app user=app"),
    // "" when none. Both from respool::AdapterError.

    /// True when the connection that raised it (if any) can no longer be used:
    /// connection lost, a connection-class SQLSTATE, or a client-side timeout.
    bool connection_error() const noexcept;
    /// The same as `fatal()`: making a connection failed in a way retrying
    /// cannot fix (`Adapter::is_fatal` asks this) — a fatal SQLSTATE
    /// (`is_fatal_sqlstate`), a missing password, or a TLS certificate that
    /// does not verify (libpq's messages in the C locale). False for refused,
    /// timed out, starting up and every other error.
    bool fatal_for_connect() const noexcept { return fatal(); }

private:
    ErrorKind kind_;
    std::string sqlstate_;
    std::string server_message_;
    std::string detail_;
    std::string hint_;
};

} // namespace respool::pg

template <>
struct std::is_error_code_enum<respool::pg::ErrorKind> : std::true_type {};
