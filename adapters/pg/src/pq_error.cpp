#include "pq_error.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace respool::pg::detail {

namespace {

std::string trim(std::string_view s)
{
    std::size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return std::string(s.substr(b, e - b));
}

bool is_sqlstate(std::string_view s)
{
    if (s.size() != 5) return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c)))
            return false;
    return true;
}

std::string with_sqlstate(std::string what, const std::string& sqlstate)
{
    return sqlstate.empty() ? what : what + " (SQLSTATE " + sqlstate + ")";
}

} // namespace

std::string sanitize(std::string_view text)
{
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7f) {
            out += c;
        } else if (c == '\t') {
            out += ' ';
        } else {
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

std::string flatten(std::string_view message)
{
    std::string out;
    std::vector<std::string> seen;
    std::size_t start = 0;
    while (start < message.size()) {
        std::size_t end = message.find('\n', start);
        if (end == std::string_view::npos) end = message.size();
        std::string line = sanitize(trim(message.substr(start, end - start)));
        start = end + 1;
        if (line.empty() || line == "^" || line.rfind("LOCATION:", 0) == 0) continue;
        // libpq repeats a failed attempt's words when it tries again
        // (sslmode=prefer: with TLS, then without): say them once.
        if (std::find(seen.begin(), seen.end(), line) != seen.end()) continue;
        seen.push_back(line);
        if (!out.empty()) out += "; ";
        out += line;
    }
    return out;
}

Error error_from_result(ConnState& state, const PGresult* result)
{
    auto field = [&](int code) {
        const char* v = PQresultErrorField(result, code);
        return v ? state.settings->scrub(sanitize(v)) : std::string();
    };
    std::string sqlstate = field(PG_DIAG_SQLSTATE);
    bool lost = PQstatus(state.conn) == CONNECTION_BAD;
    if (sqlstate.empty() && lost) sqlstate = "08006";  // connection_failure: no word from the server
    bool gone = lost || is_connection_sqlstate(sqlstate);
    if (gone) state.broken = true;
    // 25006 read_only_sql_transaction on a connection that must be on the
    // primary: the server may have become a standby (or sits behind a pooler
    // that moved). Retiring the connection costs one reconnect, and libpq
    // then finds the primary through the host list.
    if (sqlstate == "25006" && state.settings->target_role == TargetRole::primary) state.broken = true;
    std::string text = flatten(PQresultErrorMessage(result));
    if (text.empty()) text = flatten(PQerrorMessage(state.conn));
    std::string what = std::string("respool::pg: ") + (gone ? "connection lost: " : "query failed: ") + text;
    return Error(gone ? ErrorKind::connection_lost : ErrorKind::query,
                 state.settings->scrub(with_sqlstate(what, sqlstate)), sqlstate,
                 field(PG_DIAG_MESSAGE_PRIMARY), field(PG_DIAG_MESSAGE_DETAIL),
                 field(PG_DIAG_MESSAGE_HINT));
}

Error error_from_connection(ConnState& state, ErrorKind kind, std::string_view context)
{
    std::string sqlstate;
    if (PQstatus(state.conn) == CONNECTION_BAD) {
        state.broken = true;
        kind = ErrorKind::connection_lost;
        sqlstate = "08006";
    }
    std::string text = flatten(PQerrorMessage(state.conn));
    std::string what = "respool::pg: " + std::string(context) + (text.empty() ? "" : ": " + text);
    return Error(kind, state.settings->scrub(with_sqlstate(what, sqlstate)), sqlstate);
}

Error connect_error(const Settings& settings, PGconn* conn)
{
    std::string message = conn ? PQerrorMessage(conn) : "out of memory";
    // "...failed: FATAL:  28P01: password authentication failed...": the last
    // SQLSTATE wins (with several hosts, the last attempt is the one that mattered).
    std::string sqlstate;
    std::size_t server_at = std::string::npos;  // where the server's own words start
    for (std::size_t at = message.find(":  "); at != std::string::npos; at = message.find(":  ", at + 1)) {
        std::string_view rest = std::string_view(message).substr(at + 3);
        if (rest.size() >= 7 && is_sqlstate(rest.substr(0, 5)) && rest.substr(5, 2) == ": ") {
            sqlstate = std::string(rest.substr(0, 5));
            message.erase(at + 3, 7);
            server_at = at + 3;
        }
    }
    std::string server;
    if (server_at != std::string::npos)
        server = sanitize(
            trim(std::string_view(message).substr(server_at, message.find('\n', server_at) - server_at)));
    std::string what = "respool::pg: cannot connect to " + settings.target + ": " + flatten(message);
    return Error(ErrorKind::connect, settings.scrub(with_sqlstate(what, sqlstate)), sqlstate,
                 settings.scrub(server));
}

} // namespace respool::pg::detail
