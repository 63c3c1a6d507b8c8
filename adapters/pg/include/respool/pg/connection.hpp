// respool/pg/connection.hpp — one pooled PostgreSQL connection.
//
// `Connection` is the adapter's resource: it owns a `PGconn*` (reach it with
// `raw()` for anything libpq can do) and runs statements with `exec`:
// without parameters over the simple protocol (several statements separated
// by ';' allowed; the last result is returned), with parameters over the
// extended protocol (one statement, parameters in text format). Every
// PGresult is owned by a `Result` on every path.
//
// Failures throw `respool::pg::Error`. A failure that leaves the session
// unusable — SQLSTATE class 08, 57P01-57P03, a lost socket, a client-side
// timeout — marks the connection broken by itself, so the pool destroys it
// when the lease is given back instead of handing it out again. After raw
// libpq use that goes wrong, call `mark_broken()` (or `lease.mark_broken()`).
//
// Waits are bounded: `exec_until` by its deadline, `exec` by the adapter's
// `query_timeout` when set (else by keepalives / tcp_user_timeout). When a
// deadline passes, a cancel request is sent to the server in the background
// and the connection is marked broken.
//
// Thread-safety: one thread at a time (a lease is held by one holder).
// Move-only; the destructor closes the connection (PQfinish).
//
//   respool::Lease lease = pool.acquire();
//   lease->exec("INSERT INTO events (kind, at) VALUES ($1, now())", "login");
//   auto n = lease->exec("SELECT count(*) FROM events").value<long>();
#pragma once

#include <array>
#include <memory>
#include <string>

#include <respool/deadline.hpp>
#include <respool/pg/params.hpp>
#include <respool/pg/result.hpp>
#include <respool/pg/role.hpp>
#include <respool/pg/export.hpp>

struct pg_conn;  // libpq's PGconn

namespace respool::pg {

class Adapter;

namespace detail {
struct ConnState;
}

/// libpq's transaction status of the session.
enum class TransactionStatus {
    idle,            ///< no transaction open
    active,          ///< a statement is running (a result was not read to the end)
    in_transaction,  ///< inside an open transaction block
    in_error,        ///< inside a failed transaction block
    unknown,         ///< the connection is bad
};

/// An open connection; empty when default-constructed, moved from or closed.
class RESPOOL_PG_API Connection {
public:
    Connection() noexcept;
    Connection(Connection&&) noexcept;
    Connection& operator=(Connection&&) noexcept;
    ~Connection();

    /// The libpq connection, owned by this object; null when empty.
    pg_conn* raw() const noexcept;
    explicit operator bool() const noexcept { return raw() != nullptr; }

    /// Runs `sql` with `params`, bounded by the adapter's `query_timeout` if set.
    template <class... Args>
    Result exec(const Sql& sql, const Args&... params)
    {
        return exec_until(default_deadline(), sql, params...);
    }
    /// Runs `sql` with `params`; gives up at `deadline` (throws, kind timeout).
    template <class... Args>
    Result exec_until(Deadline deadline, const Sql& sql, const Args&... params)
    {
        return with_params(Protocol::statement, deadline, sql, params...);
    }
    /// Prepares `sql` as the named statement `name` on this connection (with
    /// Options::transaction_pooling: remembers it here; nothing is sent).
    void prepare(const Sql& name, const Sql& sql);
    /// Runs the prepared statement `name` with `params` (transaction_pooling:
    /// sends its text as an unnamed statement, parsed again each time).
    template <class... Args>
    Result exec_prepared(const Sql& name, const Args&... params)
    {
        return with_params(Protocol::prepared, default_deadline(), name, params...);
    }

    /// True when the connection must not be used again: marked, or libpq
    /// says it is bad. Cheap, no I/O.
    bool broken() const noexcept;
    /// Marks the connection for destruction when it is given back.
    void mark_broken() noexcept;
    TransactionStatus transaction_status() const noexcept;
    /// The role of the server, as it last reported it (`in_hot_standby`,
    /// refreshed by every round trip; else as asked at connect or by the
    /// periodic check, which happens only with a `target_role` other than
    /// `any` or a `role_check_interval`). Role::unknown when empty or never
    /// learned. Cheap, no I/O.
    Role role() const noexcept;
    /// The server process serving this session (for pg_terminate_backend and logs); 0 when empty.
    int backend_pid() const noexcept;
    /// Closes the connection now (PQfinish); the object becomes empty.
    void close() noexcept;

private:
    friend class Adapter;
    // statement: simple protocol without parameters, else unnamed extended;
    // prepared: a named server-side statement; unnamed: always extended.
    enum class Protocol { statement, prepared, unnamed };

    RESPOOL_PG_LOCAL explicit Connection(std::unique_ptr<detail::ConnState> state) noexcept;

    template <class... Args>
    Result with_params(Protocol protocol, Deadline deadline, const Sql& sql, const Args&... params)
    {
        std::array<std::string, sizeof...(Args)> storage;
        std::size_t i = 0;
        // Braced initialisers are evaluated left to right, so storage[i] pairs with its argument.
        std::array<const char*, sizeof...(Args)> values{detail::param_text(params, storage[i++])...};
        (void)i, (void)storage;  // unused without parameters
        return run(protocol, deadline, sql.c_str(), static_cast<int>(values.size()), values.data());
    }
    Result run(Protocol protocol, Deadline deadline, const char* sql, int count,
               const char* const* values);
    RESPOOL_PG_LOCAL Result run_on_server(Protocol protocol, Deadline deadline, const char* sql, int count,
                         const char* const* values);
    RESPOOL_PG_LOCAL void prepare_on_server(const Sql& name, const Sql& sql);
    Deadline default_deadline() const noexcept;

    std::unique_ptr<detail::ConnState> state_;
};

} // namespace respool::pg
