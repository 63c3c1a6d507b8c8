#include <respool/pg/error.hpp>

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

} // namespace respool::pg
