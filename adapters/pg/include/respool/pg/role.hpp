// respool/pg/role.hpp — which server of a primary/standby set a connection is on.
//
// `Role` is what a connection knows about its server: a primary (accepts
// writes) or a hot standby (read-only, replaying the primary's WAL). The
// adapter reads it at connect for free from the `in_hot_standby` parameter
// the server reports (PostgreSQL 14+), and keeps it current from every later
// report; for older servers, or a pooler that does not pass the parameter on,
// it asks `SELECT pg_is_in_recovery()` once at connect — only when the pool
// wants a role (`Options::target_role` not `any`) or checks it periodically
// (`Options::role_check_interval`); otherwise the role stays Role::unknown.
//
// `TargetRole` is what a pool wants (`Options::target_role`): it is passed to
// libpq as `target_session_attrs`, so with a multi-host conninfo
// ("host=a,b port=5432,5432") libpq tries the hosts in order and keeps the
// first that fits; and a connection whose server no longer fits is reported
// broken, so the pool replaces it. See docs/topologies.md.
//
//   respool::pg::Options o;
//   o.conninfo = "host=db1,db2 dbname=app user=app";
//   o.target_role = respool::pg::TargetRole::primary;   // writes never reach a standby
#pragma once

#include <string_view>

#include <respool/pg/export.hpp>

namespace respool::pg {

/// The role of the server a connection is on.
enum class Role {
    primary,  ///< accepts writes (not in recovery)
    standby,  ///< a hot standby: read-only, in recovery
    unknown,  ///< an empty or closed connection
};

/// The role a pool's connections must have.
enum class TargetRole {
    any,             ///< whatever server answers first (no `target_session_attrs` added)
    primary,         ///< only a primary (`target_session_attrs=primary`)
    standby,         ///< only a hot standby (`target_session_attrs=standby`)
    prefer_standby,  ///< a standby when one answers, else the primary (`prefer-standby`)
};

/// "primary", "standby", "unknown".
RESPOOL_PG_API std::string_view to_string(Role role) noexcept;
/// "any", "primary", "standby", "prefer_standby".
RESPOOL_PG_API std::string_view to_string(TargetRole role) noexcept;

} // namespace respool::pg
