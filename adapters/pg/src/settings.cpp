#include "settings.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <respool/pg/error.hpp>

namespace respool::pg::detail {

namespace {

[[noreturn]] void config_error(const std::string& message)
{
    throw Error(ErrorKind::config, "respool::pg: " + message);
}

// Values libpq would only reject at the first connect are rejected here, at
// construction, where a configuration mistake belongs.
void check_values(const ParamList& params)
{
    if (const std::string* ports = find_param(params, "port")) {
        for (const auto& port : split_list(*ports)) {
            int n = 0;
            auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
            if (!port.empty() && (ec != std::errc{} || end != port.data() + port.size() || n < 1 ||
                                  n > 65535))
                config_error("port \"" + port + "\" is not a number from 1 to 65535");
        }
    }
    if (const std::string* mode = find_param(params, "sslmode")) {
        static const char* const modes[] = {"disable", "allow",     "prefer",
                                            "require", "verify-ca", "verify-full"};
        if (std::none_of(std::begin(modes), std::end(modes), [&](const char* m) { return *mode == m; }))
            config_error("sslmode \"" + *mode +
                         "\" is not one of disable, allow, prefer, require, verify-ca, verify-full");
    }
    if (const std::string* host = find_param(params, "host"); host && host->empty())
        config_error("host is empty (leave it out to use the default unix socket)");
}

void add_network_defaults(ParamList& params, const NetworkDefaults& n)
{
    if (n.keepalives_idle.count() < 1 || n.keepalives_interval.count() < 1 || n.keepalives_count < 1)
        config_error("network.keepalives_idle, keepalives_interval and keepalives_count must be at "
                     "least 1");
    if (n.tcp_user_timeout.count() < 0 || n.tcp_user_timeout.count() > 2'147'483'647)
        config_error("network.tcp_user_timeout must be from 0 to 2147483647 ms");
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
    for (auto& [key, value] : options.params) {
        check_key(key, "in Options::params");
        set_param(s->params, key, std::move(value));
    }
    check_values(s->params);
    add_network_defaults(s->params, options.network);
    for (const auto& [key, value] : s->params)
        if (is_secret_key(key) && !value.empty()) s->secrets.push_back(value);
    s->target = make_target(s->params);

    if (options.reset_timeout.count() <= 0) config_error("reset_timeout must be positive");
    if (options.query_timeout.count() < 0) config_error("query_timeout must not be negative");
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
