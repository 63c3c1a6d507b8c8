// conn_state.hpp (internal) — what a Connection owns, at a stable address.
//
// libpq's notice receiver gets a raw pointer to this state, so it lives on
// the heap and a Connection only moves the pointer.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include <libpq-fe.h>

#include <respool/deadline.hpp>
#include <respool/pg/role.hpp>

#include "settings.hpp"

namespace respool::pg::detail {

struct ConnState {
    explicit ConnState(std::shared_ptr<const Settings> s) : settings(std::move(s)) {}
    ~ConnState()
    {
        if (conn) PQfinish(conn);
    }
    ConnState(const ConnState&) = delete;
    ConnState& operator=(const ConnState&) = delete;

    PGconn* conn = nullptr;
    /// Set by a connection-class failure, a timeout, a FATAL notice or the user.
    bool broken = false;
    /// When the connection last talked to the server (connect or statement).
    SteadyClock::time_point last_io{};
    std::shared_ptr<const Settings> settings;
    /// The role when the server does not report in_hot_standby: asked at
    /// connect and by the periodic check (role.cpp).
    Role asked_role = Role::unknown;
    /// The role at connect: a standby promoted later is told from a primary.
    Role role_at_connect = Role::unknown;
    /// When the role was last asked (the periodic check in validate).
    SteadyClock::time_point role_checked{};
    /// With transaction_pooling: statements "prepared" on the client, by name.
    std::unordered_map<std::string, std::string> client_statements;
};

/// Routes notices to the settings' handler and marks the connection broken
/// when the server announces it is ending the session (FATAL, 57P0x).
void install_notice_receiver(ConnState& state) noexcept;

} // namespace respool::pg::detail
