// role.hpp (internal) — the server's role as a connection knows it, and
// whether it still fits what the pool wants.
//
// PostgreSQL 14+ reports `in_hot_standby` at connect and again after any
// command once a standby is promoted (ParameterStatus), so libpq always
// holds the latest value: reading it costs no I/O. Servers that do not
// report it are asked with `SELECT pg_is_in_recovery()`, once at connect and
// then by the periodic check; the answer is kept in ConnState::asked_role.
#pragma once

#include <respool/deadline.hpp>
#include <respool/pg/connection.hpp>
#include <respool/pg/role.hpp>

#include "conn_state.hpp"

namespace respool::pg::detail {

/// The role from the reported `in_hot_standby`; Role::unknown when the server does not report it.
Role reported_role(const PGconn* conn) noexcept;
/// The reported role, else the one last asked.
Role current_role(const ConnState& state) noexcept;
/// True when the connection's server still fits `settings->target_role`:
/// always for `any`; for `prefer_standby`, false once a standby it connected
/// to was promoted (a reconnect then prefers a standby again).
bool role_fits(const ConnState& state) noexcept;
/// libpq's `target_session_attrs` for `role`; nullptr for `any`.
const char* session_attrs(TargetRole role) noexcept;

/// Learns the role of a new connection (asks when not reported) and records
/// it as the role at connect. Throws pg::Error from the query.
void learn_role(Connection& connection, ConnState& state, Deadline deadline);
/// Asks `SELECT pg_is_in_recovery()` by `deadline` and records the answer.
void ask_role(Connection& connection, ConnState& state, Deadline deadline);

} // namespace respool::pg::detail
