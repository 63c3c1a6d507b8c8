#include <respool/pg/connection.hpp>

#include <poll.h>

#include <respool/pg/error.hpp>

#include "conn_state.hpp"
#include "pq_error.hpp"
#include "wait.hpp"

namespace respool::pg {

namespace detail {

namespace {

void on_notice(void* arg, const PGresult* notice)
{
    auto* state = static_cast<ConnState*>(arg);
    const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char* sqlstate = PQresultErrorField(notice, PG_DIAG_SQLSTATE);
    // A backend being terminated says so while the connection sits idle;
    // noting it here lets is_broken() catch it before the next use.
    if ((severity && std::string_view(severity) == "FATAL") ||
        (sqlstate && is_connection_sqlstate(sqlstate)))
        state->broken = true;
    if (!state->settings->notice_handler) return;
    try {
        state->settings->notice_handler(severity ? severity : "",
                                        state->settings->scrub(flatten(PQresultErrorMessage(notice))));
    } catch (...) {
        // A throwing handler must not unwind through libpq's C frames.
    }
}

// Nonblocking mode for one call, so PQflush never blocks past the deadline.
// PQexec and friends ignore the mode, so raw users see no difference.
class NonblockingScope {
public:
    explicit NonblockingScope(PGconn* conn) noexcept : conn_(conn) { PQsetnonblocking(conn_, 1); }
    ~NonblockingScope() { PQsetnonblocking(conn_, 0); }
    NonblockingScope(const NonblockingScope&) = delete;
    NonblockingScope& operator=(const NonblockingScope&) = delete;

private:
    PGconn* conn_;
};

[[noreturn]] void throw_timeout(ConnState& state, Deadline started, const char* what)
{
    cancel_in_background(state.conn);
    state.broken = true;  // a statement may still be running: the session is in an unknown state
    throw Error(ErrorKind::timeout,
                "respool::pg: " + std::string(what) + " did not finish within its deadline (" +
                    std::to_string(elapsed_ms(started)) + " ms); cancel requested, connection discarded");
}

void flush(ConnState& state, Deadline deadline, Deadline started)
{
    for (;;) {
        int rc = PQflush(state.conn);
        if (rc == 0) return;
        if (rc < 0) throw error_from_connection(state, ErrorKind::connection_lost, "sending failed");
        // Read while waiting to write: the server may be blocked sending to us.
        short ev = wait_socket(PQsocket(state.conn), POLLIN | POLLOUT, deadline);
        if (ev == 0) throw_timeout(state, started, "sending the statement");
        if ((ev & POLLIN) && !PQconsumeInput(state.conn))
            throw error_from_connection(state, ErrorKind::connection_lost, "receiving failed");
    }
}

Result collect(ConnState& state, Deadline deadline, Deadline started)
{
    Result error, last;
    for (;;) {
        while (PQisBusy(state.conn)) {
            if (wait_socket(PQsocket(state.conn), POLLIN, deadline) == 0)
                throw_timeout(state, started, "the statement");
            if (!PQconsumeInput(state.conn))
                throw error_from_connection(state, ErrorKind::connection_lost, "receiving failed");
        }
        Result r(PQgetResult(state.conn));
        if (!r) break;
        ExecStatusType status = PQresultStatus(r.raw());
        if (status == PGRES_FATAL_ERROR) {
            if (!error) error = std::move(r);  // the first error is the cause; later ones follow from it
            continue;
        }
        // COPY hands the connection to the caller, who drives it through raw().
        if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) return r;
        last = std::move(r);
    }
    if (error) throw error_from_result(state, error.raw());
    return last;
}

} // namespace

void install_notice_receiver(ConnState& state) noexcept
{
    PQsetNoticeReceiver(state.conn, &on_notice, &state);
}

} // namespace detail

Connection::Connection() noexcept = default;
Connection::Connection(std::unique_ptr<detail::ConnState> state) noexcept : state_(std::move(state)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

pg_conn* Connection::raw() const noexcept { return state_ ? state_->conn : nullptr; }

bool Connection::broken() const noexcept
{
    return !state_ || !state_->conn || state_->broken || PQstatus(state_->conn) != CONNECTION_OK;
}

void Connection::mark_broken() noexcept
{
    if (state_) state_->broken = true;
}

TransactionStatus Connection::transaction_status() const noexcept
{
    if (!state_ || !state_->conn) return TransactionStatus::unknown;
    switch (PQtransactionStatus(state_->conn)) {
    case PQTRANS_IDLE: return TransactionStatus::idle;
    case PQTRANS_ACTIVE: return TransactionStatus::active;
    case PQTRANS_INTRANS: return TransactionStatus::in_transaction;
    case PQTRANS_INERROR: return TransactionStatus::in_error;
    default: return TransactionStatus::unknown;
    }
}

int Connection::backend_pid() const noexcept { return state_ && state_->conn ? PQbackendPID(state_->conn) : 0; }

void Connection::close() noexcept { state_.reset(); }

Deadline Connection::default_deadline() const noexcept
{
    if (!state_ || state_->settings->query_timeout.count() == 0) return Deadline::max();
    return detail::deadline_in(state_->settings->query_timeout);
}

void Connection::prepare(const Sql& name, const Sql& sql)
{
    if (!state_ || !state_->conn) throw Error(ErrorKind::usage, "respool::pg: prepare on a closed connection");
    detail::ConnState& s = *state_;
    if (s.settings->transaction_pooling) {
        // A named statement would live on one server connection of the
        // pooler; each exec_prepared sends the text as an unnamed statement.
        s.client_statements[name.c_str()] = sql.c_str();
        return;
    }
    try {
        prepare_on_server(name, sql);
    } catch (const Error& e) {
        throw Error(e, "prepare", s.settings->target);
    }
}

void Connection::prepare_on_server(const Sql& name, const Sql& sql)
{
    detail::ConnState& s = *state_;
    Deadline deadline = default_deadline();
    Deadline started = SteadyClock::now();
    detail::NonblockingScope nonblocking(s.conn);
    if (!PQsendPrepare(s.conn, name.c_str(), sql.c_str(), 0, nullptr))
        throw detail::error_from_connection(s, ErrorKind::query, "cannot send the statement");
    detail::flush(s, deadline, started);
    detail::collect(s, deadline, started);
}

Result Connection::run(Protocol protocol, Deadline deadline, const char* sql, int count,
                       const char* const* values)
{
    if (!state_ || !state_->conn) throw Error(ErrorKind::usage, "respool::pg: exec on a closed connection");
    try {
        return run_on_server(protocol, deadline, sql, count, values);
    } catch (const Error& e) {
        throw Error(e, "query", state_->settings->target);
    }
}

Result Connection::run_on_server(Protocol protocol, Deadline deadline, const char* sql, int count,
                                 const char* const* values)
{
    detail::ConnState& s = *state_;
    if (s.broken)
        throw Error(ErrorKind::connection_lost, "respool::pg: exec on a connection marked broken", "08003");
    if (protocol == Protocol::prepared && s.settings->transaction_pooling) {
        auto it = s.client_statements.find(sql);
        if (it == s.client_statements.end())
            throw Error(ErrorKind::usage, "respool::pg: exec_prepared: no statement was prepared under this "
                                          "name on this connection");
        sql = it->second.c_str();
        protocol = Protocol::unnamed;
    }
    Deadline started = SteadyClock::now();
    detail::NonblockingScope nonblocking(s.conn);
    int sent = protocol == Protocol::prepared
                   ? PQsendQueryPrepared(s.conn, sql, count, values, nullptr, nullptr, 0)
               : count == 0 && protocol == Protocol::statement
                   ? PQsendQuery(s.conn, sql)
                   : PQsendQueryParams(s.conn, sql, count, nullptr, values, nullptr, nullptr, 0);
    if (!sent) throw detail::error_from_connection(s, ErrorKind::query, "cannot send the statement");
    detail::flush(s, deadline, started);
    Result result = detail::collect(s, deadline, started);
    s.last_io = SteadyClock::now();
    return result;
}

} // namespace respool::pg
