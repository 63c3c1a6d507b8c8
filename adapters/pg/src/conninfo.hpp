// conninfo.hpp (internal) — libpq connection strings parsed without leaking secrets.
//
// libpq's own parser (PQconninfoParse) echoes the offending token in its
// messages, and that token can be a piece of the password ("invalid
// percent-encoded token: "p%zz""). This parser accepts the same grammar —
// `key = value` pairs with single-quoted values and backslash escapes, and
// postgresql:// URIs with percent-encoding, several hosts and [IPv6] — and
// its errors name the position and the part (the URI's password, a query
// parameter, ...) but never a value.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace respool::pg::detail {

using ParamList = std::vector<std::pair<std::string, std::string>>;

/// Parses a conninfo string or URI into keyword/value pairs, keys checked.
/// Throws respool::InvalidOptions (field "conninfo").
ParamList parse_conninfo(std::string_view text);

/// Throws respool::InvalidOptions (`field`) unless `key` is a libpq connection
/// keyword. `where` says where it came from in the message ("in the URI at offset 20").
void check_key(const std::string& key, const std::string& where, const char* field);

/// True for keywords whose value is secret (libpq marks them, e.g. password).
bool is_secret_key(std::string_view key);

/// The value of `key`, or nullptr.
const std::string* find_param(const ParamList& params, std::string_view key);
/// Sets `key` to `value`, replacing an earlier value.
void set_param(ParamList& params, const std::string& key, std::string value);

/// "a,b,,c" -> {"a", "b", "", "c"}: libpq's list syntax for host, hostaddr and port.
std::vector<std::string> split_list(const std::string& list);
/// The inverse of split_list.
std::string join_list(const std::vector<std::string>& items);

/// "key=value ..." with secret values shown as ***; values quoted when needed.
std::string describe_params(const ParamList& params);

/// Secrets shorter than this cannot be told from ordinary text and are not scrubbed.
inline constexpr std::size_t min_secret_length = 4;
/// A piece of a longer secret at its start or end is scrubbed from this length on.
inline constexpr std::size_t min_piece_length = 6;

/// `text` with every occurrence of each secret (`min_secret_length` or
/// longer) replaced by "***", and every piece of one of `min_piece_length`
/// characters or more that is its beginning or its end.
std::string redact(std::string text, const std::vector<std::string>& secrets);

} // namespace respool::pg::detail
