// respool/pg/params.hpp — query parameters and statement text for Connection::exec.
//
// Parameters travel in libpq's text format, so any SQL type the server can
// parse from text works: pass strings, bool, integers, floating point,
// nullptr / std::nullopt (SQL NULL) or std::optional of those.
// `Sql` is a statement's text; it accepts a C string, std::string (no copy)
// or std::string_view (copied, because libpq needs a terminating NUL).
#pragma once

#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace respool::pg {

/// Statement text (or a prepared statement's name) as libpq needs it.
/// Lives for one call (take it as `const Sql&`); neither copyable nor movable.
class Sql {
public:
    Sql(const char* text) noexcept : text_(text) {}                          // NOLINT: implicit on purpose
    Sql(const std::string& text) noexcept : text_(text.c_str()) {}           // NOLINT
    Sql(std::string_view text) : owned_(text), text_(owned_.c_str()) {}      // NOLINT
    Sql(const Sql&) = delete;
    Sql& operator=(const Sql&) = delete;

    const char* c_str() const noexcept { return text_; }

private:
    std::string owned_;
    const char* text_;
};

namespace detail {

// Text of one parameter, or nullptr for SQL NULL. Conversions that need
// memory write into `storage`, which the caller keeps alive for the call.
inline const char* param_text(std::nullptr_t, std::string&) noexcept { return nullptr; }
inline const char* param_text(std::nullopt_t, std::string&) noexcept { return nullptr; }
inline const char* param_text(const char* text, std::string&) noexcept { return text; }
inline const char* param_text(const std::string& text, std::string&) noexcept { return text.c_str(); }
inline const char* param_text(std::string_view text, std::string& storage)
{
    storage.assign(text);
    return storage.c_str();
}
inline const char* param_text(bool value, std::string&) noexcept { return value ? "t" : "f"; }

template <class T>
    requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>)
const char* param_text(T value, std::string& storage)
{
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    storage.assign(buf, end);
    return storage.c_str();
}

template <class T>
const char* param_text(const std::optional<T>& value, std::string& storage)
{
    return value ? param_text(*value, storage) : nullptr;
}

} // namespace detail
} // namespace respool::pg
