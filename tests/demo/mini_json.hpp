// mini_json.hpp — a strict little JSON reader for the demo's --json summary.
//
// `parse_json` reads a whole document into a `Json` tree (objects keep their
// members by name) and throws std::runtime_error naming the offset of the
// first thing that is not JSON, trailing garbage included. Numbers become
// doubles. Enough for a test; not for untrusted megabytes.
#pragma once

#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace demo_test {

struct Json;
using JsonObject = std::map<std::string, Json, std::less<>>;
using JsonArray = std::vector<Json>;

struct Json {
    std::variant<std::nullptr_t, bool, double, std::string, JsonArray, JsonObject> v;

    bool is_null() const { return std::holds_alternative<std::nullptr_t>(v); }
    bool boolean() const { return std::get<bool>(v); }
    double number() const { return std::get<double>(v); }
    const std::string& str() const { return std::get<std::string>(v); }
    const JsonArray& array() const { return std::get<JsonArray>(v); }
    const JsonObject& object() const { return std::get<JsonObject>(v); }
    /// The member `key`; throws std::out_of_range naming it when absent.
    const Json& operator[](std::string_view key) const
    {
        const auto& o = object();
        auto it = o.find(key);
        if (it == o.end()) throw std::out_of_range("no member '" + std::string(key) + "'");
        return it->second;
    }
    bool has(std::string_view key) const { return object().find(key) != object().end(); }
};

class JsonParser {
public:
    explicit JsonParser(std::string_view text) : s_(text) {}

    Json document()
    {
        Json j = value();
        space();
        if (i_ != s_.size()) fail("trailing characters");
        return j;
    }

private:
    [[noreturn]] void fail(const char* what) const
    {
        throw std::runtime_error("not JSON at offset " + std::to_string(i_) + ": " + what);
    }
    void space()
    {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
    }
    bool eat(std::string_view word)
    {
        if (s_.substr(i_, word.size()) != word) return false;
        i_ += word.size();
        return true;
    }
    void expect(char c)
    {
        space();
        if (i_ >= s_.size() || s_[i_] != c) fail("unexpected character");
        ++i_;
    }

    Json value()
    {
        space();
        if (i_ >= s_.size()) fail("unexpected end");
        const char c = s_[i_];
        if (c == '{') return {object()};
        if (c == '[') return {array()};
        if (c == '"') return {string()};
        if (eat("null")) return {nullptr};
        if (eat("true")) return {true};
        if (eat("false")) return {false};
        return {number()};
    }

    JsonObject object()
    {
        JsonObject o;
        expect('{');
        space();
        if (i_ < s_.size() && s_[i_] == '}') { ++i_; return o; }
        for (;;) {
            space();
            std::string k = string();
            expect(':');
            if (!o.emplace(std::move(k), value()).second) fail("duplicate key");
            space();
            if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
            expect('}');
            return o;
        }
    }

    JsonArray array()
    {
        JsonArray a;
        expect('[');
        space();
        if (i_ < s_.size() && s_[i_] == ']') { ++i_; return a; }
        for (;;) {
            a.push_back(value());
            space();
            if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
            expect(']');
            return a;
        }
    }

    std::string string()
    {
        if (i_ >= s_.size() || s_[i_] != '"') fail("expected a string");
        std::string out;
        for (++i_; i_ < s_.size(); ++i_) {
            const char c = s_[i_];
            if (c == '"') { ++i_; return out; }
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
            if (c != '\\') { out += c; continue; }
            if (++i_ >= s_.size()) break;
            switch (s_[i_]) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'u':
                if (i_ + 4 >= s_.size()) fail("short \\u escape");
                out += static_cast<char>(std::strtol(std::string(s_.substr(i_ + 1, 4)).c_str(), nullptr, 16) & 0x7f);
                i_ += 4;
                break;
            default: fail("bad escape");
            }
        }
        fail("unterminated string");
    }

    double number()
    {
        const std::size_t start = i_;
        while (i_ < s_.size() && std::string_view("+-0123456789.eE").find(s_[i_]) != std::string_view::npos) ++i_;
        if (i_ == start) fail("expected a value");
        const std::string text(s_.substr(start, i_ - start));
        char* end = nullptr;
        const double d = std::strtod(text.c_str(), &end);
        if (end != text.c_str() + text.size()) fail("bad number");
        return d;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

inline Json parse_json(std::string_view text)
{
    return JsonParser(text).document();
}

} // namespace demo_test
