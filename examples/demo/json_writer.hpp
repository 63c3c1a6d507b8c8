// demo/json_writer.hpp — a small streaming JSON writer for the --json summary.
//
// Writes objects, arrays, strings (escaped, control characters as \uXXXX,
// invalid UTF-8 as U+FFFD),
// numbers (non-finite ones as null), booleans and null, two spaces of
// indentation per level. Commas are inserted by the writer; keys are given
// with `key` before each member's value. Not thread-safe (one owner).
//
//   JsonWriter w;
//   w.begin_object(); w.key("ok"); w.value(true); w.end_object();
//   std::string text = w.str();
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace demo {

class JsonWriter {
public:
    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }
    void key(std::string_view k);

    void value(std::string_view s);
    void value(const char* s) { value(std::string_view(s)); }
    void value(const std::string& s) { value(std::string_view(s)); }
    void value(double d);
    void value(std::uint64_t n);
    void value(bool b);
    void null();

    /// key(k) then value(v).
    template <class T>
    void member(std::string_view k, const T& v)
    {
        key(k);
        value(v);
    }

    const std::string& str() const noexcept { return out_; }

private:
    void open(char c);
    void close(char c);
    void before_value();
    void newline();

    std::string out_;
    std::vector<bool> has_items_;  // per open level
    bool after_key_ = false;
};

/// `s` as a JSON string literal, quotes included (respool's own escaping).
std::string json_quote(std::string_view s);

} // namespace demo
