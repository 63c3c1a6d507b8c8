// Adapter: construction and the hooks the pool calls on borrow and return.
#include <respool/pg/adapter.hpp>

#include <poll.h>

#include <respool/pg/error.hpp>

#include "conn_state.hpp"
#include "role.hpp"
#include "wait.hpp"

namespace respool::pg {

namespace {
Options from_conninfo(std::string conninfo)
{
    Options o;
    o.conninfo = std::move(conninfo);
    return o;
}
} // namespace

Adapter::Adapter(std::string conninfo) : Adapter(from_conninfo(std::move(conninfo))) {}

Adapter::Adapter(Options options) : settings_(detail::make_settings(std::move(options))) {}

bool Adapter::is_broken(const Connection& connection) const noexcept
{
    if (connection.broken()) return true;
    detail::ConnState& s = *connection.state_;
    auto ts = PQtransactionStatus(s.conn);
    if (ts == PQTRANS_ACTIVE || ts == PQTRANS_UNKNOWN || PQpipelineStatus(s.conn) != PQ_PIPELINE_OFF)
        return true;
    // The role as last reported: no I/O, and nothing at all for `any`.
    if (s.settings->target_role != TargetRole::any && !detail::role_fits(s)) return true;
    // Read, without blocking, what the server sent while nobody asked: a
    // terminated backend's FATAL notice and EOF show up here, so the pool
    // discards the connection before anyone uses it. Not for a connection
    // that talked to the server within the last millisecond (every return,
    // and borrows under load): the poll() would cost ~1 us per call, a few
    // percent of a short query, to catch a race that is open anyway.
    if (SteadyClock::now() - s.last_io < std::chrono::milliseconds(1)) return false;
    for (int round = 0; round < 4; ++round) {
        pollfd p{PQsocket(s.conn), POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) break;
        if (!PQconsumeInput(s.conn)) return true;
        PQisBusy(s.conn);  // parses what arrived; notices run the receiver
        if (s.broken || PQstatus(s.conn) != CONNECTION_OK) return true;
        // A promoted standby says so here (ParameterStatus in_hot_standby).
        if (!detail::role_fits(s)) return true;
    }
    return false;
}

bool Adapter::validate(Connection& connection, Deadline deadline) noexcept
{
    if (is_broken(connection) || connection.transaction_status() != TransactionStatus::idle) {
        connection.mark_broken();
        return false;
    }
    if (time_left(deadline) == std::chrono::nanoseconds::zero()) return false;
    try {
        detail::ConnState& s = *connection.state_;
        const auto interval = settings_->role_check_interval;
        if (interval.count() > 0 && detail::reported_role(s.conn) == Role::unknown &&
            SteadyClock::now() - s.role_checked >= interval) {
            detail::ask_role(connection, s, deadline);  // the round trip validate owes anyway
        } else {
            connection.run(Connection::Protocol::statement, deadline, settings_->validation_query.c_str(), 0,
                           nullptr);
        }
        // Any round trip refreshed in_hot_standby: a promoted standby shows here.
        if (!detail::role_fits(s)) {
            connection.mark_broken();
            return false;
        }
        return true;
    } catch (...) {
        connection.mark_broken();
        return false;
    }
}

void Adapter::reset(Connection& connection)
{
    if (connection.broken())
        throw Error(Error(ErrorKind::connection_lost, "respool::pg: connection given back broken", "08003"),
                    "reset", settings_->target);
    Deadline deadline = detail::deadline_in(settings_->reset_timeout);
    try {
        switch (connection.transaction_status()) {
        case TransactionStatus::idle: break;
        case TransactionStatus::in_transaction:
        case TransactionStatus::in_error: connection.exec_until(deadline, "ROLLBACK"); break;
        default:
            throw Error(ErrorKind::usage, "respool::pg: connection given back with a statement still "
                                          "running (unread results, COPY or pipeline mode)");
        }
        if (!settings_->reset_statement.empty()) connection.exec_until(deadline, settings_->reset_statement);
    } catch (const Error& e) {
        connection.mark_broken();  // never handed out half-reset, whatever the pool does next
        throw Error(e, "reset", settings_->target);
    } catch (...) {
        connection.mark_broken();
        throw;
    }
}

void Adapter::destroy(Connection& connection) noexcept { connection.close(); }

const std::string& Adapter::target() const noexcept { return settings_->target; }

std::string Adapter::describe() const { return detail::describe_params(settings_->params); }

bool Adapter::is_fatal(const std::exception& error) const noexcept
{
    // The classification lives with the error (Error::fatal(), error.cpp).
    const auto* pg = respool::find_cause<Error>(error);
    return pg != nullptr && pg->fatal();
}

} // namespace respool::pg
