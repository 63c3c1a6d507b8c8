#include "settings.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <functional>

#include <respool/error.hpp>
#include <respool/pg/error.hpp>

#include <libpq-fe.h>

#include "role.hpp"

namespace respool::pg::detail {

namespace {

[[noreturn]] void config_error(const std::string& field, const std::string& message)
{
    throw InvalidOptions("respool::pg: Options::" + field + ": " + message, field);
}

bool all_digits(std::string_view s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Values libpq would only reject at the first connect are rejected here, at
// construction, where a configuration mistake belongs. `origin` says which
// Options field a keyword's value came from.
void check_values(const ParamList& params, const std::function<std::string(std::string_view)>& origin)
{
    if (const std::string* ports = find_param(params, "port")) {
        auto list = split_list(*ports);
        for (std::size_t i = 0; i < list.size(); ++i) {
            const std::string& port = list[i];
            int n = 0;
            auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
            if (port.empty() || (ec == std::errc{} && end == port.data() + port.size() && n >= 1 && n <= 65535))
                continue;
            // A port that is not digits is shown by position only: an unencoded
            // character in a URI's password can push part of it into the port.
            std::string which = list.size() > 1 ? "port " + std::to_string(i + 1) + " of " +
                                                      std::to_string(list.size())
                                                : std::string("port");
            config_error(origin("port"), all_digits(port) ? which + " \"" + port + "\" is not from 1 to 65535"
                                                          : which + " is not a number (value not shown)");
        }
    }
    if (const std::string* mode = find_param(params, "sslmode")) {
        static const char* const modes[] = {"disable", "allow",     "prefer",
                                            "require", "verify-ca", "verify-full"};
        if (std::none_of(std::begin(modes), std::end(modes), [&](const char* m) { return *mode == m; }))
            config_error(origin("sslmode"),
                         "sslmode is not one of disable, allow, prefer, require, verify-ca, verify-full");
    }
    if (const std::string* host = find_param(params, "host"); host && host->empty())
        config_error(origin("host"), "host is empty (leave it out to use the default unix socket)");
}

void add_network_defaults(ParamList& params, const NetworkDefaults& n)
{
    if (n.keepalives_idle.count() < 1) config_error("network.keepalives_idle", "must be at least 1 s");
    if (n.keepalives_idle.count() > 2'147'483'647)
        config_error("network.keepalives_idle", "must be at most 2147483647 s");
    if (n.keepalives_interval.count() < 1) config_error("network.keepalives_interval", "must be at least 1 s");
    if (n.keepalives_interval.count() > 2'147'483'647)
        config_error("network.keepalives_interval", "must be at most 2147483647 s");
    if (n.keepalives_count < 1) config_error("network.keepalives_count", "must be at least 1");
    if (n.tcp_user_timeout.count() < 0 || n.tcp_user_timeout.count() > 2'147'483'647)
        config_error("network.tcp_user_timeout", "must be from 0 to 2147483647 ms");
    auto set_default = [&](const char* key, std::string value) {
        if (!find_param(params, key)) set_param(params, key, std::move(value));
    };
    set_default("keepalives", n.keepalives ? "1" : "0");
    set_default("keepalives_idle", std::to_string(n.keepalives_idle.count()));
    set_default("keepalives_interval", std::to_string(n.keepalives_interval.count()));
    set_default("keepalives_count", std::to_string(n.keepalives_count));
    if (n.tcp_user_timeout.count() > 0)
        set_default("tcp_user_timeout", std::to_string(n.tcp_user_timeout.count()));
    set_default("fallback_application_name", "respool");
}

// The wanted role becomes libpq's target_session_attrs (values of libpq 14+).
void apply_target_role(ParamList& params, TargetRole role)
{
    const char* attrs = session_attrs(role);
    if (!attrs) return;
    if (PQlibVersion() < 140000)
        config_error("target_role", "needs libpq 14 or later (target_session_attrs=" + std::string(attrs) +
                                        "); this libpq is " + std::to_string(PQlibVersion()));
    if (const std::string* given = find_param(params, "target_session_attrs"); given && *given != attrs)
        config_error("target_role", "is " + std::string(to_string(role)) + ", but the conninfo sets "
                                    "target_session_attrs=" + *given + " (leave it out, or set it to " +
                                    attrs + ")");
    set_param(params, "target_session_attrs", attrs);
}

std::string make_target(const ParamList& params)
{
    ParamList shown;
    for (const char* key : {"host", "hostaddr", "port", "dbname", "user"})
        if (const std::string* v = find_param(params, key)) shown.emplace_back(key, *v);
    if (!find_param(params, "host") && !find_param(params, "hostaddr")) {
        const char* env = std::getenv("PGHOST");
        shown.insert(shown.begin(), {"host", env && *env ? env : "(default unix socket)"});
    }
    return describe_params(shown);
}

} // namespace

std::shared_ptr<const Settings> make_settings(Options options)
{
    auto s = std::make_shared<Settings>();
    s->params = parse_conninfo(options.conninfo);
    std::vector<std::string> from_params;
    for (std::size_t i = 0; i < options.params.size(); ++i) {
        auto& [key, value] = options.params[i];
        check_key(key, "(entry " + std::to_string(i + 1) + ")", "params");
        from_params.push_back(key);
        set_param(s->params, key, std::move(value));
    }
    check_values(s->params, [&](std::string_view key) {
        return std::find(from_params.begin(), from_params.end(), key) != from_params.end() ? "params"
                                                                                           : "conninfo";
    });
    add_network_defaults(s->params, options.network);
    apply_target_role(s->params, options.target_role);
    if (options.role_check_interval.count() < 0)
        config_error("role_check_interval", "must not be negative (0 means off)");
    s->target_role = options.target_role;
    s->role_check_interval = options.role_check_interval;
    for (const auto& [key, value] : s->params)
        if (is_secret_key(key) && !value.empty()) s->secrets.push_back(value);
    s->target = make_target(s->params);

    if (options.reset_timeout.count() <= 0) config_error("reset_timeout", "must be positive");
    if (options.query_timeout.count() < 0)
        config_error("query_timeout", "must not be negative (0 means no timeout)");
    if (options.transaction_pooling) {
        // Session state would configure whichever server connection ran it.
        if (!options.setup.empty())
            config_error("setup", "must be empty with transaction_pooling (a pooler in transaction mode "
                                  "runs each transaction on any server connection; use SET LOCAL inside "
                                  "transactions)");
        if (!options.reset_statement.empty())
            config_error("reset_statement", "must be empty with transaction_pooling (the pooler "
                                            "resets server connections itself)");
    }
    for (std::size_t i = 0; i < options.setup.size(); ++i)
        if (options.setup[i].empty()) config_error("setup", "statement " + std::to_string(i + 1) + " is empty");
    s->transaction_pooling = options.transaction_pooling;
    s->setup = std::move(options.setup);
    s->reset_statement = std::move(options.reset_statement);
    s->reset_timeout = options.reset_timeout;
    s->validation_query = std::move(options.validation_query);
    s->query_timeout = options.query_timeout;
    s->notice_handler = std::move(options.notice_handler);
    s->resolver = std::move(options.resolver);
    return s;
}

} // namespace respool::pg::detail
