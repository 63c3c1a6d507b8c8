// respool/pg/options.hpp — how the PostgreSQL adapter connects and cleans up.
//
// `Options` is a plain struct. The connection itself is described the libpq
// way — a conninfo string ("host=db port=5432 dbname=app") or a URI
// ("postgresql://app@db/app?sslmode=verify-full") plus optional key/value
// `params` that override it — and checked when the adapter is constructed:
// unknown keys, unterminated quotes, bad percent-escapes, out-of-range ports
// and bad adapter options throw `respool::InvalidOptions` whose `field()`
// names the Options field ("conninfo", "params", "query_timeout", ...) and
// whose message says where and why, never a piece of the password.
//
//   respool::pg::Options o;
//   o.conninfo = "postgresql://app@db.internal/orders?sslmode=verify-full";
//   o.params = {{"password", secret}};                // kept out of every message
//   o.setup = {"SET statement_timeout = '5s'"};
//   o.reset_statement = "DISCARD ALL";               // costs a round trip per return
//   respool::Pool pool{respool::pg::Adapter{o}, pool_options};
//
// The adapter copies the options; changing them later has no effect.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <respool/pg/role.hpp>

namespace respool::pg {

/// TCP settings applied unless the conninfo sets the same libpq keyword.
/// libpq's own defaults leave a connection to a vanished peer hanging for
/// the OS's minutes (keepalive after 2 h, retransmissions for ~15 min); these
/// bound it to 10 s: an idle connection, or one waiting for a reply, is
/// probed after 4 s of silence, then every 2 s, and dropped once 10 s pass
/// unanswered (Linux lets tcp_user_timeout end the probing; measured 10 s in
/// tests/pg/pg_netfault_test). They do nothing on unix sockets.
struct NetworkDefaults {
    bool keepalives = true;                        ///< `keepalives`
    std::chrono::seconds keepalives_idle{4};       ///< idle time before the first probe
    std::chrono::seconds keepalives_interval{2};   ///< between unanswered probes
    int keepalives_count = 3;                      ///< unanswered probes before the connection dies
    std::chrono::milliseconds tcp_user_timeout{10'000};  ///< unacknowledged data aborts after this; 0 = OS default
};

/// Receives a server notice (NOTICE, WARNING, or the FATAL a dying backend sends).
using NoticeHandler = std::function<void(std::string_view severity, std::string_view message)>;

/// Looks a host name up and returns numeric addresses. Runs on a helper
/// thread, so `create` ends at its deadline even when this hangs.
using Resolver = std::function<std::vector<std::string>(const std::string& host)>;

/// Everything the adapter needs to make and recycle connections.
struct Options {
    /// A libpq conninfo string or a postgresql:// URI; may be empty (libpq's
    /// defaults and PG* environment variables then apply).
    std::string conninfo;
    /// libpq keywords and values; override the same keys of `conninfo`.
    std::vector<std::pair<std::string, std::string>> params;

    /// Statements run in order on every new connection, within the create
    /// deadline (e.g. "SET application_name = 'billing'"). A failure fails the create.
    std::vector<std::string> setup;
    /// Run on every return after the rollback, e.g. "DISCARD ALL" or
    /// "RESET ALL"; empty means none (a return then costs no round trip unless
    /// a transaction was left open).
    std::string reset_statement;
    /// Bound of the rollback and `reset_statement` when a connection is returned.
    /// Must be positive; milliseconds::max() means no bound.
    std::chrono::milliseconds reset_timeout{5'000};
    /// Sent by `validate`; the empty query is the cheapest real round trip.
    std::string validation_query;
    /// Client-side bound of `Connection::exec` without an explicit deadline;
    /// 0 (or milliseconds::max()) = none (then a dead peer is found by
    /// keepalives / tcp_user_timeout).
    std::chrono::milliseconds query_timeout{0};

    /// Set when a pooler in transaction mode (PgBouncer `pool_mode =
    /// transaction`) sits between the pool and the server: consecutive
    /// transactions may then run on different server connections. The
    /// adapter keeps no session state: `setup` and `reset_statement` must be
    /// empty (checked at construction), and `Connection::prepare` only
    /// remembers the statement on the client, `exec_prepared` sending it as
    /// an unnamed statement with each call, so no named prepared statement
    /// can vanish. See docs/adapters/postgresql.md, "Behind PgBouncer".
    bool transaction_pooling = false;

    /// Which server the pool's connections must be on (see role.hpp and
    /// docs/topologies.md). Not `any`: passed to libpq as
    /// `target_session_attrs` (a conninfo that sets it differently is
    /// rejected, field "target_role"), checked again after the connect, and a
    /// connection whose server stops fitting — the server reports
    /// `in_hot_standby` changed, a write fails with SQLSTATE 25006 on a
    /// `primary` connection, or the periodic check says so — reports broken
    /// on its next borrow or return, so the pool reconnects.
    TargetRole target_role = TargetRole::any;
    /// How often `validate` asks the server's role when the server does not
    /// report `in_hot_standby` (before 14, some poolers): then it runs
    /// `SELECT pg_is_in_recovery()` instead of `validation_query`. The pool
    /// calls `validate` on borrow after `validate_after_idle` and on idle
    /// connections every `keepalive_interval`. With the parameter reported,
    /// every round trip refreshes the role for free. 0 = off; not negative.
    std::chrono::milliseconds role_check_interval{0};

    NetworkDefaults network;
    /// Receives server notices; by default they are dropped (libpq would print them to stderr).
    NoticeHandler notice_handler;
    /// Host name lookup; default getaddrinfo. A seam for tests (a resolver that hangs).
    Resolver resolver;
};

} // namespace respool::pg
