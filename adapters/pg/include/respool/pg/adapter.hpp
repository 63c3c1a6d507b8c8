// respool/pg/adapter.hpp — makes, checks and recycles PostgreSQL connections for a pool.
//
// `respool::pg::Adapter` implements the `respool::Adapter` contract:
// - `create(deadline, stop)` connects with PQconnectStartParams/PQconnectPoll
//   and poll(), resolving host names on a helper thread, so an unanswered SYN,
//   a silent server or a hanging DNS ends at the deadline, or at once when the
//   pool closes (it requests `stop`); then runs the setup
//   statements. Failures throw `pg::Error` (SQLSTATE kept: 28P01 wrong
//   password, 3D000 unknown database, ...; operation() "resolve", "connect"
//   or "setup"), with no password in the text.
// - `is_broken` (every borrow and return): no round trip — the broken mark,
//   PQstatus, the transaction status, and a non-blocking read of anything the
//   server sent meanwhile (a terminated backend's FATAL and EOF).
// - `validate` (borrow after `validate_after_idle`): a real round trip bounded
//   by the deadline, because after a server restart an idle connection still
//   looks fine until it is used; on expiry the query is cancelled.
// - `reset` (every return): rolls back an open or failed transaction and runs
//   `reset_statement` if configured; any failure throws, so the pool destroys
//   the connection instead of handing it out.
// - `destroy`: PQfinish; never blocks.
// - `is_fatal`: a wrong password, unknown role or database, an option the
//   server rejects, or a TLS certificate that does not verify fails the
//   pool's waiters at once; anything else is retried while they wait.
//
// Thread-safety: the pool calls these from many threads at once; the adapter
// holds only immutable shared settings, so copies are cheap and independent.
//
//   respool::Pool pool{respool::pg::Adapter{"host=db dbname=app user=app"}, opts};
//   auto lease = pool.acquire();
//   lease->exec("UPDATE stock SET n = n - $1 WHERE id = $2", 1, item);
#pragma once

#include <memory>
#include <stop_token>
#include <string>

#include <respool/adapter.hpp>
#include <respool/deadline.hpp>
#include <respool/error.hpp>
#include <respool/pg/connection.hpp>
#include <respool/pg/options.hpp>
#include <respool/pg/export.hpp>

namespace respool::pg {

namespace detail {
struct Settings;
}

/// The PostgreSQL adapter. Copyable; copies share their immutable settings.
class RESPOOL_PG_API Adapter {
public:
    using Resource = Connection;

    /// From a conninfo string or URI, with default options. Throws
    /// respool::InvalidOptions (field "conninfo") for a malformed string or
    /// an unknown keyword, saying where and why but never a piece of a password.
    explicit Adapter(std::string conninfo);
    /// From full options; validated here, not at the first connect. Throws
    /// respool::InvalidOptions whose field() names the Options field.
    explicit Adapter(Options options);

    /// Opens a connection by `deadline` and runs the setup statements.
    Connection create(Deadline deadline);
    /// The same, also ending early (throwing pg::Error) once `stop` is
    /// requested: the pool requests it when it closes, so shutting down
    /// during an outage does not wait out `create_timeout`.
    Connection create(Deadline deadline, std::stop_token stop);
    /// Cheap check on borrow and return; never blocks.
    bool is_broken(const Connection& connection) const noexcept;
    /// A round trip by `deadline`; false (and the connection marked) on failure.
    bool validate(Connection& connection, Deadline deadline) noexcept;
    /// Cleans a returned connection; throws pg::Error when it cannot.
    void reset(Connection& connection);
    /// Closes the connection.
    void destroy(Connection& connection) noexcept;
    /// Classifies a failed `create` for the pool: fatal (every waiter fails at
    /// once) for a `pg::Error` whose `fatal_for_connect()` is true — wrong
    /// password (28P01), unknown role or pg_hba reject (28000), unknown
    /// database (3D000), an invalid option the server rejects (22023, 42704),
    /// TLS verification; transient (retried while callers wait) otherwise:
    /// refused, timed out, starting up (57P03), too many connections (53300).
    bool is_fatal(const std::exception& error) const noexcept;

    /// The target without secrets, e.g. "host=db port=5432 dbname=app user=app".
    const std::string& target() const noexcept;
    /// Every libpq parameter the adapter connects with, password shown as "***".
    std::string describe() const;

private:
    Connection create_within(Deadline deadline);  // create's steps; a StopScope may be active

    std::shared_ptr<const detail::Settings> settings_;
};

static_assert(respool::Adapter<Adapter>);
static_assert(respool::detail::HasIsBroken<Adapter> && respool::detail::HasValidate<Adapter> &&
              respool::detail::HasReset<Adapter> && respool::detail::HasDestroy<Adapter> &&
              respool::detail::HasIsFatal<Adapter> &&
              respool::detail::HasStoppableCreate<Adapter>);

} // namespace respool::pg
