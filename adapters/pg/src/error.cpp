#include <respool/pg/error.hpp>

#include <initializer_list>

namespace respool::pg {

std::string_view to_string(ErrorKind kind) noexcept
{
    switch (kind) {
    case ErrorKind::config: return "config";
    case ErrorKind::connect: return "connect";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::query: return "query";
    case ErrorKind::connection_lost: return "connection_lost";
    case ErrorKind::usage: return "usage";
    }
    return "unknown";
}

bool is_connection_sqlstate(std::string_view sqlstate) noexcept
{
    return sqlstate.substr(0, 2) == "08" || sqlstate == "57P01" || sqlstate == "57P02" ||
           sqlstate == "57P03";
}

bool is_fatal_sqlstate(std::string_view sqlstate) noexcept
{
    if (sqlstate.size() != 5) return false;
    const std::string_view cls = sqlstate.substr(0, 2);
    return cls == "28" || cls == "42" || sqlstate == "3D000" || sqlstate == "3F000" || sqlstate == "22023";
}

Error::Error(ErrorKind kind, const std::string& what, std::string sqlstate, std::string server_message,
             std::string detail, std::string hint)
    : std::runtime_error(what), kind_(kind), sqlstate_(std::move(sqlstate)),
      server_message_(std::move(server_message)), detail_(std::move(detail)), hint_(std::move(hint))
{
}

Error::Error(const Error& other, std::string operation, std::string endpoint) : Error(other)
{
    operation_ = std::move(operation);
    endpoint_ = std::move(endpoint);
}

bool Error::connection_error() const noexcept
{
    return kind_ == ErrorKind::connection_lost || kind_ == ErrorKind::timeout ||
           is_connection_sqlstate(sqlstate_);
}

bool Error::fatal_for_connect() const noexcept
{
    if (kind_ == ErrorKind::timeout || kind_ == ErrorKind::connection_lost) return false;
    if (!sqlstate_.empty()) return is_fatal_sqlstate(sqlstate_);
    if (kind_ != ErrorKind::connect) return false;
    // Client-side refusals with no SQLSTATE that only a configuration change
    // fixes. (libpq's own words; OpenSSL's are never translated.)
    const std::string_view text = what();
    for (std::string_view words : {"certificate verify failed", "does not match host name",
                                   "root certificate file", "no password supplied",
                                   "server does not support SSL, but SSL was required"})
        if (text.find(words) != std::string_view::npos) return true;
    return false;
}

} // namespace respool::pg
