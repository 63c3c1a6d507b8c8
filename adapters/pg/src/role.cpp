// Roles: to_string, Connection::role, and the checks the adapter makes with them.
#include "role.hpp"

#include <cstring>

namespace respool::pg {

std::string_view to_string(Role role) noexcept
{
    switch (role) {
    case Role::primary: return "primary";
    case Role::standby: return "standby";
    default: return "unknown";
    }
}

std::string_view to_string(TargetRole role) noexcept
{
    switch (role) {
    case TargetRole::primary: return "primary";
    case TargetRole::standby: return "standby";
    case TargetRole::prefer_standby: return "prefer_standby";
    default: return "any";
    }
}

Role Connection::role() const noexcept
{
    if (!state_ || !state_->conn) return Role::unknown;
    return detail::current_role(*state_);
}

namespace detail {

Role reported_role(const PGconn* conn) noexcept
{
    const char* v = PQparameterStatus(conn, "in_hot_standby");
    if (!v) return Role::unknown;
    return std::strcmp(v, "on") == 0 ? Role::standby : Role::primary;
}

Role current_role(const ConnState& state) noexcept
{
    Role r = reported_role(state.conn);
    return r != Role::unknown ? r : state.asked_role;
}

bool role_fits(const ConnState& state) noexcept
{
    switch (state.settings->target_role) {
    case TargetRole::primary: return current_role(state) == Role::primary;
    case TargetRole::standby: return current_role(state) == Role::standby;
    case TargetRole::prefer_standby:
        return !(state.role_at_connect == Role::standby && current_role(state) == Role::primary);
    default: return true;
    }
}

const char* session_attrs(TargetRole role) noexcept
{
    switch (role) {
    case TargetRole::primary: return "primary";
    case TargetRole::standby: return "standby";
    case TargetRole::prefer_standby: return "prefer-standby";
    default: return nullptr;
    }
}

void ask_role(Connection& connection, ConnState& state, Deadline deadline)
{
    bool in_recovery = connection.exec_until(deadline, "SELECT pg_is_in_recovery()").value<bool>();
    state.asked_role = in_recovery ? Role::standby : Role::primary;
    state.role_checked = SteadyClock::now();
}

void learn_role(Connection& connection, ConnState& state, Deadline deadline)
{
    // Only a server that does not report in_hot_standby costs a round trip,
    // and only for a pool that asked about roles: a pool with target `any`
    // behind a pooler (or a server without pg_is_in_recovery) pays nothing.
    const Settings& s = *state.settings;
    if (reported_role(state.conn) == Role::unknown &&
        (s.target_role != TargetRole::any || s.role_check_interval.count() > 0))
        ask_role(connection, state, deadline);
    state.role_checked = SteadyClock::now();
    state.role_at_connect = current_role(state);
}

} // namespace detail

} // namespace respool::pg
