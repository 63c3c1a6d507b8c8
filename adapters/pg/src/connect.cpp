// Adapter::create: deadline-bound connect and the setup statements.
#include <respool/pg/adapter.hpp>

#include <poll.h>

#include <respool/pg/error.hpp>

#include "conn_state.hpp"
#include "pq_error.hpp"
#include "resolve.hpp"
#include "role.hpp"
#include "stop_wake.hpp"
#include "wait.hpp"

namespace respool::pg {

namespace {

// Where a connect was when its deadline passed: tells a silent server
// (startup) from a slow TLS handshake or a slow backend start.
const char* connect_stage(PGconn* conn) noexcept
{
    switch (PQstatus(conn)) {
    case CONNECTION_STARTED: return "waiting for the TCP connection to be accepted";
    case CONNECTION_MADE: return "sending the startup message";
    case CONNECTION_AWAITING_RESPONSE: return "waiting for the server to answer the startup message";
    case CONNECTION_AUTH_OK: return "waiting for the server process to become ready";
    case CONNECTION_SSL_STARTUP: return "negotiating TLS (SSL request or handshake)";
    case CONNECTION_GSS_STARTUP: return "negotiating GSSAPI encryption";
    case CONNECTION_CONSUME: return "reading the rest of the server's answer";
    case CONNECTION_CHECK_WRITABLE:
    case CONNECTION_CHECK_TARGET:
    case CONNECTION_CHECK_STANDBY: return "checking target_session_attrs";
    default: return "connecting";
    }
}

[[noreturn]] void throw_connect_timeout(const detail::Settings& s, PGconn* conn, Deadline started)
{
    std::string server;
    if (const char* host = PQhost(conn); host && *host) {
        server = std::string(" (server at \"") + host + "\"";
        if (const char* addr = PQhostaddr(conn); addr && *addr && std::string_view(addr) != host)
            server += std::string(" (") + addr + ")";
        server += std::string(", port ") + PQport(conn) + ")";
    }
    throw Error(ErrorKind::timeout,
                s.scrub("respool::pg: connecting to " + s.target + " timed out after " +
                        std::to_string(detail::elapsed_ms(started)) + " ms " + connect_stage(conn) +
                        server));
}

void poll_until_connected(const detail::Settings& s, PGconn* conn, Deadline deadline, Deadline started)
{
    if (PQstatus(conn) == CONNECTION_BAD) throw detail::connect_error(s, conn);
    // libpq's rule: after PQconnectStart, act as if PQconnectPoll said "writing".
    PostgresPollingStatusType status = PGRES_POLLING_WRITING;
    for (;;) {
        if (status == PGRES_POLLING_OK) return;
        if (status == PGRES_POLLING_FAILED) throw detail::connect_error(s, conn);
        int fd = PQsocket(conn);  // changes when libpq moves on to the next host
        if (fd >= 0 &&
            detail::wait_socket(fd, status == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline) == 0)
            throw_connect_timeout(s, conn, started);
        status = PQconnectPoll(conn);
    }
}

} // namespace

Connection Adapter::create(Deadline deadline) { return create(deadline, std::stop_token{}); }

Connection Adapter::create(Deadline deadline, std::stop_token stop)
{
    // Every wait below (the lookup, libpq's connect loop, the setup
    // statements) also ends when the pool closes and requests the stop.
    const respool::detail::net::StopScope scope(std::move(stop));
    try {
        return create_within(deadline);
    } catch (const Error& e) {
        if (!scope.stopped()) throw;
        throw Error(Error(ErrorKind::connect, "respool::pg: creation abandoned: the pool is closing (" +
                                                  std::string(e.what()) + ")"),
                    "connect", settings_->target);
    }
}

Connection Adapter::create_within(Deadline deadline)
{
    const detail::Settings& s = *settings_;
    Deadline started = SteadyClock::now();
    detail::ParamList params = s.params;
    try {
        detail::resolve_hosts(params, s, deadline, started);
    } catch (const Error& e) {
        if (!s.resolver) throw Error(e, "resolve", s.target);
        // The user's hook did the lookup (and may be what failed): say so.
        throw Error(Error(e.kind(), std::string(e.what()) + " (lookup by the Options::resolver hook)", e.sqlstate()),
                    "resolve", s.target);
    }
    std::vector<const char*> keys, values;
    for (const auto& [k, v] : params) {
        keys.push_back(k.c_str());
        values.push_back(v.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);

    auto state = std::make_unique<detail::ConnState>(settings_);
    state->conn = PQconnectStartParams(keys.data(), values.data(), 0);
    if (state->conn == nullptr)
        throw Error(Error(ErrorKind::connect, "respool::pg: out of memory starting a connection"), "connect",
                    s.target);
    detail::install_notice_receiver(*state);
    // Verbose errors carry the SQLSTATE of a refused login (see connect_error).
    PQsetErrorVerbosity(state->conn, PQERRORS_VERBOSE);
    try {
        poll_until_connected(s, state->conn, deadline, started);
    } catch (const Error& e) {
        throw Error(e, "connect", s.target);
    }
    PQsetErrorVerbosity(state->conn, PQERRORS_DEFAULT);
    state->last_io = SteadyClock::now();

    detail::ConnState& st = *state;
    Connection conn(std::move(state));
    try {
        detail::learn_role(conn, st, deadline);
    } catch (const Error& e) {
        throw Error(e, "connect", s.target);
    }
    // libpq checked target_session_attrs already; this catches a pooler in
    // between that answers for a server of another role.
    if (!detail::role_fits(st))
        throw Error(Error(ErrorKind::connect, "respool::pg: the server is a " +
                                                  std::string(to_string(detail::current_role(st))) +
                                                  ", but Options::target_role is " +
                                                  std::string(to_string(s.target_role))),
                    "connect", s.target);
    for (std::size_t i = 0; i < s.setup.size(); ++i) {
        try {
            conn.exec_until(deadline, s.setup[i]);
        } catch (const Error& e) {
            // Said to be the user's setup, not the connect: the server was reached.
            std::string what = e.what();
            if (what.rfind("respool::pg: ", 0) == 0) what.erase(0, 13);
            throw Error(Error(e.kind(),
                              "respool::pg: setup statement " + std::to_string(i + 1) + " of " +
                                  std::to_string(s.setup.size()) + " (Options::setup) failed: " + what,
                              e.sqlstate(), e.server_message(), e.detail(), e.hint()),
                        "setup", s.target);
        }
    }
    return conn;
}

} // namespace respool::pg
