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

namespace {

class Category : public std::error_category {
public:
    const char* name() const noexcept override { return "respool.pg"; }
    std::string message(int code) const override
    {
        if (code < 1 || code > static_cast<int>(ErrorKind::usage) + 1) return "unknown respool.pg error";
        return std::string(to_string(static_cast<ErrorKind>(code - 1)));
    }
};

// Whether a new connection can get past this error (fatal()).
bool fatal_connect_error(ErrorKind kind, std::string_view what, std::string_view sqlstate) noexcept
{
    if (kind == ErrorKind::timeout || kind == ErrorKind::connection_lost) return false;
    if (!sqlstate.empty()) return is_fatal_sqlstate(sqlstate);
    if (kind != ErrorKind::connect) return false;
    // Client-side refusals with no SQLSTATE that only a configuration change
    // fixes. (libpq's own words; OpenSSL's are never translated.)
    for (std::string_view words : {"certificate verify failed", "does not match host name",
                                   "root certificate file", "no password supplied",
                                   "server does not support SSL, but SSL was required"})
        if (what.find(words) != std::string_view::npos) return true;
    return false;
}

} // namespace

const std::error_category& error_category() noexcept
{
    static const Category category;
    return category;
}

Error::Error(ErrorKind kind, const std::string& what, std::string sqlstate, std::string server_message,
             std::string detail, std::string hint)
    : AdapterError(make_error_code(kind), what, {}, {}, fatal_connect_error(kind, what, sqlstate)), kind_(kind),
      sqlstate_(std::move(sqlstate)), server_message_(std::move(server_message)), detail_(std::move(detail)),
      hint_(std::move(hint))
{
}

Error::Error(const Error& other, std::string operation, std::string endpoint)
    : AdapterError(other.code(), other.what(), std::move(operation), std::move(endpoint), other.fatal()),
      kind_(other.kind_), sqlstate_(other.sqlstate_), server_message_(other.server_message_),
      detail_(other.detail_), hint_(other.hint_)
{
}

bool Error::connection_error() const noexcept
{
    return kind_ == ErrorKind::connection_lost || kind_ == ErrorKind::timeout ||
           is_connection_sqlstate(sqlstate_);
}

} // namespace respool::pg
