// respool/pg/result.hpp — an owned query result with typed accessors.
//
// `Result` owns one `PGresult` and frees it when destroyed (or `release()`s
// it to you). Values arrive in text format; `get<T>` converts to std::string,
// std::string_view (valid while the Result lives), bool, integers and
// floating point, and `std::optional<T>` for columns that may be NULL.
// Reading a NULL as a plain value, a bad conversion, or an index out of
// range throws `respool::pg::Error` (kind usage). Not thread-safe; move-only.
//
//   respool::pg::Result r = conn.exec("SELECT id, name FROM users WHERE id < $1", 10);
//   for (int row = 0; row < r.rows(); ++row)
//       fmt::print("{} {}\n", r.get<int>(row, 0), r.get<std::string_view>(row, "name"));
//   long n = conn.exec("SELECT count(*) FROM users").value<long>();
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <respool/pg/export.hpp>

struct pg_result;  // libpq's PGresult

namespace respool::pg {

namespace detail {
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};

[[noreturn]] RESPOOL_PG_API void throw_null(int row, std::string_view column);
RESPOOL_PG_API std::int64_t parse_int(std::string_view text, std::int64_t min, std::int64_t max, int row,
                       std::string_view column);
RESPOOL_PG_API std::uint64_t parse_uint(std::string_view text, std::uint64_t max, int row, std::string_view column);
RESPOOL_PG_API double parse_double(std::string_view text, int row, std::string_view column);
RESPOOL_PG_API bool parse_bool(std::string_view text, int row, std::string_view column);

template <class T>
T parse_text(std::string_view text, int row, std::string_view column)
{
    if constexpr (std::is_same_v<T, std::string>) {
        return std::string(text);
    } else if constexpr (std::is_same_v<T, std::string_view>) {
        return text;
    } else if constexpr (std::is_same_v<T, bool>) {
        return parse_bool(text, row, column);
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
        using L = std::numeric_limits<T>;
        return static_cast<T>(parse_int(text, L::min(), L::max(), row, column));
    } else if constexpr (std::is_integral_v<T>) {
        return static_cast<T>(parse_uint(text, std::numeric_limits<T>::max(), row, column));
    } else if constexpr (std::is_floating_point_v<T>) {
        return static_cast<T>(parse_double(text, row, column));
    } else {
        static_assert(sizeof(T) == 0,
                      "Result::get<T> supports std::string, std::string_view, bool, integers, "
                      "floating point and std::optional of those");
    }
}
} // namespace detail

/// An owned `PGresult`. Empty (no result) after a move or `release()`.
class RESPOOL_PG_API Result {
public:
    Result() noexcept = default;
    /// Takes ownership of `result` (may be null).
    explicit Result(pg_result* result) noexcept : result_(result) {}
    Result(Result&& other) noexcept : result_(other.release()) {}
    Result& operator=(Result&& other) noexcept;
    ~Result();
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;

    /// The libpq result, still owned by this object.
    pg_result* raw() const noexcept { return result_; }
    /// Gives up ownership; the caller must PQclear it.
    pg_result* release() noexcept;
    explicit operator bool() const noexcept { return result_ != nullptr; }

    /// Rows and columns; 0 for a command without a result set.
    int rows() const noexcept;
    int columns() const noexcept;
    /// Name of a column; throws for an index out of range.
    std::string_view column_name(int column) const;
    /// Index of the column called `name`; throws when there is none.
    int column_index(std::string_view name) const;
    /// True when the value is SQL NULL; throws for indexes out of range.
    bool is_null(int row, int column) const;
    /// The value's text ("" for NULL); valid while this Result lives.
    std::string_view text(int row, int column) const;

    /// The value converted to `T`; see the header comment for the types.
    template <class T>
    T get(int row, int column) const
    {
        if constexpr (detail::IsOptional<T>::value) {
            if (is_null(row, column)) return std::nullopt;
            return get<typename T::value_type>(row, column);
        } else {
            if (is_null(row, column)) detail::throw_null(row, column_name(column));
            return detail::parse_text<T>(text(row, column), row, column_name(column));
        }
    }
    template <class T>
    T get(int row, std::string_view column) const
    {
        return get<T>(row, column_index(column));
    }
    /// The single value of a one-row, one-column result; throws otherwise.
    template <class T>
    T value() const
    {
        require_single();
        return get<T>(0, 0);
    }

    /// Rows affected by INSERT/UPDATE/DELETE/... (PQcmdTuples); 0 when not applicable.
    std::uint64_t affected_rows() const noexcept;
    /// The command tag, e.g. "INSERT 0 1" (PQcmdStatus).
    std::string_view command_status() const noexcept;

private:
    void require_single() const;
    RESPOOL_PG_LOCAL void check_index(int row, int column) const;

    pg_result* result_ = nullptr;
};

} // namespace respool::pg
