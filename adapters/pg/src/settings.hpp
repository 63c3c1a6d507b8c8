// settings.hpp (internal) — the adapter's options, checked and frozen.
//
// One immutable `Settings` is shared by an adapter, its copies and every
// connection it made (connections need the notice handler and query timeout
// for as long as they live), so it is held by shared_ptr<const Settings>.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <respool/pg/options.hpp>

#include "conninfo.hpp"

namespace respool::pg::detail {

struct Settings {
    ParamList params;                  ///< libpq keywords: conninfo + params + network defaults
    std::vector<std::string> secrets;  ///< values to scrub from every message
    std::string target;                ///< host/port/dbname/user, for messages
    std::vector<std::string> setup;
    std::string reset_statement;
    std::chrono::milliseconds reset_timeout{};
    std::string validation_query;
    std::chrono::milliseconds query_timeout{};
    bool transaction_pooling = false;
    TargetRole target_role = TargetRole::any;
    std::chrono::milliseconds role_check_interval{};
    NoticeHandler notice_handler;
    Resolver resolver;

    /// `text` without any secret.
    std::string scrub(std::string text) const { return redact(std::move(text), secrets); }
};

/// Parses and checks `options`; throws respool::InvalidOptions naming the field.
std::shared_ptr<const Settings> make_settings(Options options);

} // namespace respool::pg::detail
