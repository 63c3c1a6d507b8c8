#include "json_writer.hpp"

#include <cmath>

#include <fmt/format.h>

#include <respool/listeners.hpp>

namespace demo {

std::string json_quote(std::string_view s)
{
    return respool::json_string(s);
}

void JsonWriter::newline()
{
    out_ += '\n';
    out_.append(2 * has_items_.size(), ' ');
}

void JsonWriter::before_value()
{
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!has_items_.empty()) {
        if (has_items_.back()) out_ += ',';
        has_items_.back() = true;
        newline();
    }
}

void JsonWriter::open(char c)
{
    before_value();
    out_ += c;
    has_items_.push_back(false);
}

void JsonWriter::close(char c)
{
    const bool had_items = has_items_.back();
    has_items_.pop_back();
    if (had_items) newline();
    out_ += c;
    if (has_items_.empty()) out_ += '\n';
}

void JsonWriter::key(std::string_view k)
{
    before_value();
    out_ += json_quote(k) + ": ";
    after_key_ = true;
}

void JsonWriter::value(std::string_view s)
{
    before_value();
    out_ += json_quote(s);
}

void JsonWriter::value(double d)
{
    before_value();
    out_ += std::isfinite(d) ? fmt::format("{}", d) : "null";
}

void JsonWriter::value(std::uint64_t n)
{
    before_value();
    out_ += std::to_string(n);
}

void JsonWriter::value(bool b)
{
    before_value();
    out_ += b ? "true" : "false";
}

void JsonWriter::null()
{
    before_value();
    out_ += "null";
}

} // namespace demo
