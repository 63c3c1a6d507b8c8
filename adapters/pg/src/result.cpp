#include <respool/pg/result.hpp>

#include <charconv>
#include <cstdlib>
#include <limits>

#include <libpq-fe.h>

#include <respool/pg/error.hpp>

namespace respool::pg {

namespace detail {

namespace {

[[noreturn]] void usage_error(const std::string& message)
{
    throw Error(ErrorKind::usage, "respool::pg: " + message);
}

[[noreturn]] void conversion_error(std::string_view text, const char* type, int row,
                                   std::string_view column)
{
    // Cut long values: the message is for finding the column, not for the data.
    std::string shown(text.substr(0, 40));
    if (text.size() > 40) shown += "...";
    usage_error("column \"" + std::string(column) + "\" row " + std::to_string(row) + ": \"" + shown +
                "\" is not a valid " + type);
}

template <class T>
T parse_number(std::string_view text, const char* type, int row, std::string_view column)
{
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
        conversion_error(text, type, row, column);
    return value;
}

} // namespace

void throw_null(int row, std::string_view column)
{
    usage_error("column \"" + std::string(column) + "\" row " + std::to_string(row) +
                " is NULL; read it as std::optional<T>");
}

std::int64_t parse_int(std::string_view text, std::int64_t min, std::int64_t max, int row,
                       std::string_view column)
{
    auto v = parse_number<std::int64_t>(text, "integer", row, column);
    if (v < min || v > max) conversion_error(text, "integer of the requested width", row, column);
    return v;
}

std::uint64_t parse_uint(std::string_view text, std::uint64_t max, int row, std::string_view column)
{
    auto v = parse_number<std::uint64_t>(text, "unsigned integer", row, column);
    if (v > max) conversion_error(text, "unsigned integer of the requested width", row, column);
    return v;
}

double parse_double(std::string_view text, int row, std::string_view column)
{
    // PostgreSQL spells the special values its own way.
    if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (text == "Infinity") return std::numeric_limits<double>::infinity();
    if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
    return parse_number<double>(text, "floating point number", row, column);
}

bool parse_bool(std::string_view text, int row, std::string_view column)
{
    if (text == "t" || text == "true") return true;
    if (text == "f" || text == "false") return false;
    conversion_error(text, "boolean", row, column);
}

} // namespace detail

Result& Result::operator=(Result&& other) noexcept
{
    if (this != &other) {
        PQclear(result_);
        result_ = other.release();
    }
    return *this;
}

Result::~Result() { PQclear(result_); }

pg_result* Result::release() noexcept
{
    pg_result* r = result_;
    result_ = nullptr;
    return r;
}

int Result::rows() const noexcept { return result_ ? PQntuples(result_) : 0; }
int Result::columns() const noexcept { return result_ ? PQnfields(result_) : 0; }

std::string_view Result::column_name(int column) const
{
    if (column < 0 || column >= columns())
        detail::usage_error("column " + std::to_string(column) + " is out of range (" +
                            std::to_string(columns()) + " columns)");
    return PQfname(result_, column);
}

int Result::column_index(std::string_view name) const
{
    for (int c = 0; c < columns(); ++c)
        if (name == PQfname(result_, c)) return c;
    detail::usage_error("the result has no column \"" + std::string(name) + "\"");
}

bool Result::is_null(int row, int column) const
{
    check_index(row, column);
    return PQgetisnull(result_, row, column) != 0;
}

std::string_view Result::text(int row, int column) const
{
    check_index(row, column);
    return {PQgetvalue(result_, row, column),
            static_cast<std::size_t>(PQgetlength(result_, row, column))};
}

std::uint64_t Result::affected_rows() const noexcept
{
    const char* n = result_ ? PQcmdTuples(result_) : "";
    return *n ? std::strtoull(n, nullptr, 10) : 0;
}

std::string_view Result::command_status() const noexcept
{
    const char* s = result_ ? PQcmdStatus(result_) : nullptr;
    return s ? s : "";
}

void Result::require_single() const
{
    if (rows() != 1 || columns() != 1)
        detail::usage_error("value() needs exactly one row and one column, the result has " +
                            std::to_string(rows()) + " rows and " + std::to_string(columns()) +
                            " columns");
}

void Result::check_index(int row, int column) const
{
    if (column < 0 || column >= columns() || row < 0 || row >= rows())
        detail::usage_error("row " + std::to_string(row) + ", column " + std::to_string(column) +
                            " is out of range (" + std::to_string(rows()) + " rows, " +
                            std::to_string(columns()) + " columns)");
}

} // namespace respool::pg
