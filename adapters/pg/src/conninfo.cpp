#include "conninfo.hpp"

#include <algorithm>
#include <cctype>

#include <libpq-fe.h>

#include <respool/error.hpp>
#include <respool/pg/error.hpp>

namespace respool::pg::detail {

namespace {

struct Keyword {
    std::string name;
    bool secret = false;
};

// libpq's own list, so the adapter accepts exactly what the linked libpq does.
const std::vector<Keyword>& keywords()
{
    static const std::vector<Keyword> list = [] {
        std::vector<Keyword> out;
        PQconninfoOption* opts = PQconndefaults();
        for (PQconninfoOption* o = opts; o && o->keyword; ++o)
            out.push_back({o->keyword, o->dispchar && o->dispchar[0] == '*'});
        PQconninfoFree(opts);
        if (out.empty()) out.push_back({"password", true});  // out of memory: stay safe
        return out;
    }();
    return list;
}

[[noreturn]] void config_error(const std::string& message, const char* field = "conninfo")
{
    throw InvalidOptions("respool::pg: Options::" + std::string(field) + ": " + message, field);
}

std::size_t edit_distance(std::string_view a, std::string_view b)
{
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

bool is_keyword(std::string_view key)
{
    const auto& list = keywords();
    return std::any_of(list.begin(), list.end(), [&](const Keyword& k) { return k.name == key; });
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// Decodes one URI component; `offset` is where it starts in the whole URI.
std::string percent_decode(std::string_view part, const char* what, std::size_t offset)
{
    std::string out;
    for (std::size_t i = 0; i < part.size(); ++i) {
        if (part[i] != '%') {
            out += part[i];
            continue;
        }
        bool complete = i + 2 < part.size();
        int hi = complete ? hex_value(part[i + 1]) : -1;
        int lo = complete ? hex_value(part[i + 2]) : -1;
        if (hi < 0 || lo < 0)
            config_error("bad percent-escape in the URI's " + std::string(what) + " at offset " +
                         std::to_string(offset + i) + ": '%' must be followed by two hex digits");
        if (hi == 0 && lo == 0)
            config_error("the URI's " + std::string(what) + " contains %00 at offset " +
                         std::to_string(offset + i) + " (NUL is not allowed)");
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

ParamList parse_key_values(std::string_view s)
{
    ParamList params;
    std::size_t i = 0;
    auto skip_spaces = [&] {
        while (i < s.size() && is_space(s[i])) ++i;
    };
    // After `password=two words` the next "key" is the password's second
    // word: never show it, whatever it looks like.
    bool after_unquoted_secret = false;
    for (;;) {
        skip_spaces();
        if (i == s.size()) break;
        std::size_t key_at = i;
        while (i < s.size() && !is_space(s[i]) && s[i] != '=') ++i;
        std::string key(s.substr(key_at, i - key_at));
        skip_spaces();
        // The word is never echoed: after a mis-quoted password it is part of the password.
        if (i == s.size() || s[i] != '=')
            config_error("connection string: expected \"=\" after the word at offset " +
                         std::to_string(key_at) + " (values with spaces need single quotes)");
        ++i;
        skip_spaces();
        std::string value;
        bool quoted = i < s.size() && s[i] == '\'';
        std::size_t value_at = i;
        if (quoted) ++i;
        bool closed = !quoted;
        while (i < s.size()) {
            char c = s[i];
            if (c == '\\' && i + 1 < s.size()) {
                value += s[i + 1];
                i += 2;
            } else if (quoted && c == '\'') {
                closed = true;
                ++i;
                break;
            } else if (!quoted && is_space(c)) {
                break;
            } else {
                value += c;
                ++i;
            }
        }
        if (!closed)
            config_error("connection string: unterminated quoted value starting at offset " +
                         std::to_string(value_at) +
                         (is_keyword(key) ? " (option \"" + key + "\")" : std::string()));
        if (after_unquoted_secret && !is_keyword(key))
            config_error("connection string: unknown connection option at offset " +
                         std::to_string(key_at) +
                         " (not shown: it follows an unquoted password, so it may be part of it; "
                         "values with spaces need single quotes)");
        check_key(key, "in the connection string at offset " + std::to_string(key_at), "conninfo");
        after_unquoted_secret = !quoted && is_secret_key(key);
        set_param(params, key, std::move(value));
    }
    return params;
}

// postgresql://[user[:password]@][host][:port][,...][/dbname][?key=value&...]
ParamList parse_uri(std::string_view s, std::size_t i)
{
    ParamList params;
    // The user info ends at the LAST '@' before the query: a host name never
    // contains '@', so an unencoded '@' or '/' belongs to the password (libpq
    // would split the password there and put its tail into the host or the
    // database name, and from there into every log line).
    std::size_t query = s.find('?', i);
    std::size_t end = s.rfind('@', query == std::string_view::npos ? std::string_view::npos : query);
    if (end != std::string_view::npos && end >= i) {
        std::string_view userinfo = s.substr(i, end - i);
        std::size_t colon = userinfo.find(':');
        std::string user = percent_decode(userinfo.substr(0, colon), "user name", i);
        if (!user.empty()) set_param(params, "user", user);
        if (colon != std::string_view::npos)
            set_param(params, "password",
                      percent_decode(userinfo.substr(colon + 1), "password", i + colon + 1));
        i = end + 1;
    }
    std::vector<std::string> hosts, ports;
    for (;;) {
        std::string host;
        if (i < s.size() && s[i] == '[') {
            std::size_t close = s.find(']', i);
            if (close == std::string_view::npos)
                config_error("URI: missing ']' after the IPv6 address starting at offset " +
                             std::to_string(i));
            host = percent_decode(s.substr(i + 1, close - i - 1), "host", i + 1);
            i = close + 1;
        } else {
            std::size_t stop = std::min(s.find_first_of(":/?,", i), s.size());
            host = percent_decode(s.substr(i, stop - i), "host", i);
            i = stop;
        }
        std::string port;
        if (i < s.size() && s[i] == ':') {
            std::size_t stop = std::min(s.find_first_of("/?,", i + 1), s.size());
            port = percent_decode(s.substr(i + 1, stop - i - 1), "port", i + 1);
            i = stop;
        }
        hosts.push_back(std::move(host));
        ports.push_back(std::move(port));
        if (i < s.size() && s[i] == ',') {
            ++i;
            continue;
        }
        break;
    }
    if (std::any_of(hosts.begin(), hosts.end(), [](auto& h) { return !h.empty(); }))
        set_param(params, "host", join_list(hosts));
    if (std::any_of(ports.begin(), ports.end(), [](auto& p) { return !p.empty(); }))
        set_param(params, "port", join_list(ports));
    if (i < s.size() && s[i] != '/' && s[i] != '?')
        config_error("URI: unexpected character at offset " + std::to_string(i) +
                     " after the host list (not shown)");
    if (i < s.size() && s[i] == '/') {
        std::size_t stop = std::min(s.find('?', i + 1), s.size());
        std::string db = percent_decode(s.substr(i + 1, stop - i - 1), "database name", i + 1);
        if (!db.empty()) set_param(params, "dbname", db);
        i = stop;
    }
    if (i < s.size() && s[i] == '?') {
        ++i;
        while (i < s.size()) {
            std::size_t stop = std::min(s.find('&', i), s.size());
            std::string_view item = s.substr(i, stop - i);
            std::size_t eq = item.find('=');
            if (eq == std::string_view::npos || item.find('=', eq + 1) != std::string_view::npos)
                config_error("URI: the query parameter at offset " + std::to_string(i) +
                             " must have the form key=value");
            std::string key = percent_decode(item.substr(0, eq), "query parameter name", i);
            std::string value =
                percent_decode(item.substr(eq + 1), "query parameter value", i + eq + 1);
            if (key == "ssl" && value == "true") {  // JDBC spelling that libpq accepts too
                key = "sslmode";
                value = "require";
            }
            check_key(key, "in the URI's query at offset " + std::to_string(i), "conninfo");
            set_param(params, key, std::move(value));
            i = stop + 1;
        }
    }
    return params;
}

} // namespace

ParamList parse_conninfo(std::string_view text)
{
    for (std::string_view scheme : {"postgresql://", "postgres://"}) {
        if (text.substr(0, scheme.size()) == scheme) return parse_uri(text, scheme.size());
    }
    return parse_key_values(text);
}

void check_key(const std::string& key, const std::string& where, const char* field)
{
    if (is_keyword(key)) return;
    // Show the word only when it is clearly a misspelt option: an arbitrary
    // word may be a piece of a password that was not quoted.
    const Keyword* best = nullptr;
    std::size_t best_distance = 3;
    for (const auto& k : keywords()) {
        std::size_t d = edit_distance(key, k.name);
        if (d < best_distance) {
            best_distance = d;
            best = &k;
        }
    }
    if (best && key.size() >= 4)
        config_error("unknown connection option \"" + key + "\" " + where + " (did you mean \"" +
                         best->name + "\"?)",
                     field);
    config_error("unknown connection option " + where +
                     " (name not shown in case it is part of a password; see the libpq documentation "
                     "for the known options)",
                 field);
}

bool is_secret_key(std::string_view key)
{
    for (const auto& k : keywords())
        if (k.name == key) return k.secret;
    return false;
}

const std::string* find_param(const ParamList& params, std::string_view key)
{
    for (const auto& [k, v] : params)
        if (k == key) return &v;
    return nullptr;
}

void set_param(ParamList& params, const std::string& key, std::string value)
{
    for (auto& [k, v] : params) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    params.emplace_back(key, std::move(value));
}

std::vector<std::string> split_list(const std::string& list)
{
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        std::size_t comma = list.find(',', start);
        out.push_back(list.substr(start, comma - start));
        if (comma == std::string::npos) return out;
        start = comma + 1;
    }
}

std::string join_list(const std::vector<std::string>& items)
{
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
    return out;
}

std::string describe_params(const ParamList& params)
{
    std::string out;
    for (const auto& [k, v] : params) {
        if (!out.empty()) out += ' ';
        out += k + '=';
        if (is_secret_key(k)) {
            out += "***";
            continue;
        }
        // Every character libpq's parser treats as a separator (isspace: space,
        // \t \n \v \f \r) or as quoting forces quotes, so the output parses back.
        bool plain = !v.empty() && v.find_first_of(" \t\n\v\f\r'\\") == std::string::npos;
        if (plain) {
            out += v;
            continue;
        }
        out += '\'';
        for (char c : v) {
            if (c == '\'' || c == '\\') out += '\\';
            out += c;
        }
        out += '\'';
    }
    return out;
}

namespace {

// Length of the longest piece of `text` at `at` that is the beginning of
// `secret`, or else its end; 0 when shorter than `min`.
std::size_t piece_at(std::string_view text, std::size_t at, std::string_view secret, std::size_t min)
{
    std::size_t most = std::min(secret.size(), text.size() - at);
    std::size_t prefix = 0;
    while (prefix < most && text[at + prefix] == secret[prefix]) ++prefix;
    if (prefix >= min) return prefix;
    for (std::size_t n = most; n >= min; --n)
        if (text[at] == secret[secret.size() - n] && text.substr(at, n) == secret.substr(secret.size() - n))
            return n;
    return 0;
}

} // namespace

std::string redact(std::string text, const std::vector<std::string>& secrets)
{
    for (const auto& secret : secrets) {
        if (secret.size() < min_secret_length) continue;
        for (std::size_t at = text.find(secret); at != std::string::npos;
             at = text.find(secret, at + 3))
            text.replace(at, secret.size(), "***");
        // The server shortens a long statement in its messages ("LINE 1:
        // ...ORD 'Long-Secret-" or "...cret-4711' ..."): a piece at either end of
        // the password counts once it is long enough to be worth hiding.
        if (secret.size() <= min_piece_length) continue;
        for (std::size_t at = 0; at < text.size(); ++at) {
            std::size_t n = piece_at(text, at, secret, min_piece_length);
            if (n == 0) continue;
            text.replace(at, n, "***");
            at += 2;
        }
    }
    return text;
}

} // namespace respool::pg::detail
