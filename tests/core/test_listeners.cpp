// <respool/listeners.hpp>: JSON lines parsed back with a small strict checker
// (fields, escaping, valid UTF-8, whole lines under concurrency), the logging
// listener's levels and lines, and the fan-out.
#include <doctest/doctest.h>

#include <algorithm>

#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <respool/format.hpp>
#include <respool/listeners.hpp>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {

// ------------------------------------------------------- a tiny JSON checker

using JsonValue = std::variant<std::string, double>;
using JsonObject = std::map<std::string, JsonValue>;

/// Parses one flat JSON object of string and number values; nullopt (and
/// `error`) for anything RFC 8259 does not allow, or repeated keys.
class JsonChecker {
public:
    explicit JsonChecker(std::string_view text) : s_(text) {}

    std::optional<JsonObject> object()
    {
        JsonObject out;
        if (!eat('{')) return fail("expected '{'");
        if (!eat('}')) {
            do {
                auto key = string();
                if (!key) return std::nullopt;
                if (!eat(':')) return fail("expected ':'");
                std::optional<JsonValue> value;
                if (peek() == '"') {
                    if (auto str = string()) value = *str;
                } else {
                    value = number();
                }
                if (!value) return std::nullopt;
                if (!out.emplace(*key, *value).second) return fail("repeated key " + *key);
            } while (eat(','));
            if (!eat('}')) return fail("expected ',' or '}'");
        }
        if (i_ != s_.size()) return fail("text after the object");
        return out;
    }
    std::string error;

private:
    std::nullopt_t fail(std::string why)
    {
        if (error.empty()) error = why + " at " + std::to_string(i_);
        return std::nullopt;
    }
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    bool eat(char c)
    {
        if (peek() != c) return false;
        ++i_;
        return true;
    }
    static void put_utf8(std::string& out, unsigned cp)
    {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    std::optional<unsigned> hex4()
    {
        if (i_ + 4 > s_.size()) return fail("short \\u escape");
        unsigned v = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = s_[i_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= c - '0';
            else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
            else return fail("bad hex digit");
        }
        return v;
    }
    std::optional<std::string> string()
    {
        if (!eat('"')) return fail("expected a string");
        std::string out;
        for (;;) {
            if (i_ >= s_.size()) return fail("unterminated string");
            const unsigned char c = static_cast<unsigned char>(s_[i_++]);
            if (c == '"') return out;
            if (c < 0x20) return fail("raw control character in a string");
            if (c >= 0x80) {
                // Raw bytes must be well-formed UTF-8.
                const int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : -1;
                if (n < 0 || c > 0xF4 || i_ + n > s_.size()) return fail("invalid UTF-8");
                out += static_cast<char>(c);
                for (int k = 0; k < n; ++k) {
                    const unsigned char d = static_cast<unsigned char>(s_[i_++]);
                    if ((d & 0xC0) != 0x80) return fail("invalid UTF-8");
                    out += static_cast<char>(d);
                }
                continue;
            }
            if (c != '\\') {
                out += static_cast<char>(c);
                continue;
            }
            const char e = peek();
            ++i_;
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                auto cp = hex4();
                if (!cp) return std::nullopt;
                if (*cp >= 0xD800 && *cp <= 0xDBFF) {
                    if (!eat('\\') || !eat('u')) return fail("lone high surrogate");
                    auto lo = hex4();
                    if (!lo || *lo < 0xDC00 || *lo > 0xDFFF) return fail("bad low surrogate");
                    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*lo - 0xDC00);
                } else if (*cp >= 0xDC00 && *cp <= 0xDFFF) {
                    return fail("lone low surrogate");
                }
                put_utf8(out, *cp);
                break;
            }
            default: return fail("bad escape");
            }
        }
    }
    std::optional<JsonValue> number()
    {
        static const std::regex grammar(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
        const std::size_t start = i_;
        while (i_ < s_.size() && std::string_view("+-0123456789.eE").find(s_[i_]) != std::string_view::npos) ++i_;
        const std::string text(s_.substr(start, i_ - start));
        if (!std::regex_match(text, grammar)) return fail("bad number '" + text + "'");
        return std::stod(text);
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

JsonObject parse_json(const std::string& line)
{
    JsonChecker checker(line);
    auto object = checker.object();
    INFO("line: " << line);
    REQUIRE_MESSAGE(object.has_value(), checker.error);
    return *object;
}

const std::string& str(const JsonObject& o, const std::string& key)
{
    static const std::string missing = "<missing>";
    auto it = o.find(key);
    if (it == o.end() || !std::holds_alternative<std::string>(it->second)) return missing;
    return std::get<std::string>(it->second);
}

double num(const JsonObject& o, const std::string& key)
{
    auto it = o.find(key);
    if (it == o.end() || !std::holds_alternative<double>(it->second)) return -1;
    return std::get<double>(it->second);
}

bool is_iso8601_ms_utc(const std::string& ts)
{
    static const std::regex re(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
    return std::regex_match(ts, re);
}

/// A sink that keeps every line.
struct Lines {
    std::mutex mu;
    std::vector<std::string> lines;
    JsonLinesListener::Sink sink()
    {
        return [this](std::string_view line) {
            std::lock_guard lk(mu);
            lines.emplace_back(line);
        };
    }
    std::vector<JsonObject> objects()
    {
        std::lock_guard lk(mu);
        std::vector<JsonObject> out;
        for (const auto& l : lines) out.push_back(parse_json(l));
        return out;
    }
};

std::vector<JsonObject> of_kind(const std::vector<JsonObject>& all, const std::string& kind)
{
    std::vector<JsonObject> out;
    for (const auto& o : all)
        if (str(o, "event") == kind) out.push_back(o);
    return out;
}

} // namespace

TEST_CASE("the checker accepts JSON and rejects what is not")
{
    JsonChecker good(R"({"a":"x\"\\\n\u00e9\ud83d\ude00","b":-1.5e3,"c":0})");
    auto o = good.object();
    REQUIRE(o);
    CHECK(std::get<std::string>(o->at("a")) == "x\"\\\n\xc3\xa9\xf0\x9f\x98\x80");
    CHECK(std::get<double>(o->at("b")) == -1500);
    for (const char* bad : {R"({"a":"x)", "{\"a\":\"\n\"}", R"({"a":01})", R"({"a":"\x"})", R"({"a":1,"a":2})",
                            R"({"a":1} )", "{\"a\":\"\xff\"}", R"({"a":"\udc00"})", R"({"a":1,})"}) {
        CAPTURE(bad);
        CHECK_FALSE(JsonChecker(bad).object().has_value());
    }
}

TEST_CASE("to_json: fixed fields, ISO-8601 UTC with milliseconds, only the fields that apply")
{
    using namespace std::chrono;
    const auto ts = system_clock::time_point(milliseconds(1714564803127));  // 2024-05-01T12:00:03.127Z
    const auto here = respool::SourceLocation::current();

    auto destroyed = parse_json(JsonLinesListener::to_json(
        Event{.kind = EventKind::destroyed, .pool = "orders", .resource_id = 3, .reason = DestroyReason::broken}, ts));
    CHECK(str(destroyed, "ts") == "2024-05-01T12:00:03.127Z");
    CHECK(str(destroyed, "pool") == "orders");
    CHECK(str(destroyed, "event") == "destroyed");
    CHECK(num(destroyed, "resource_id") == 3);
    CHECK(str(destroyed, "reason") == "broken");
    CHECK(destroyed.size() == 5);  // no duration, message, site or thread

    auto leak = parse_json(JsonLinesListener::to_json(
        Event{.kind = EventKind::leak_suspected, .pool = "orders", .resource_id = 9, .duration = 12345678us,
              .site = here, .thread = std::this_thread::get_id()},
        ts));
    CHECK(num(leak, "duration_ms") == doctest::Approx(12345.678));
    CHECK(str(leak, "site") == format_site(here));
    CHECK(str(leak, "site").ends_with(":" + std::to_string(here.line())));
    std::ostringstream thread;
    thread << std::this_thread::get_id();
    CHECK(str(leak, "thread") == thread.str());
    CHECK(leak.count("reason") == 0);
    CHECK(leak.count("message") == 0);

    auto closed = parse_json(JsonLinesListener::to_json(Event{.kind = EventKind::pool_closed, .pool = "p"}, ts));
    CHECK(closed.size() == 3);  // ts, pool, event

    const auto epoch = parse_json(JsonLinesListener::to_json(Event{.pool = "p"}, system_clock::time_point{}));
    CHECK(str(epoch, "ts") == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("messages and names are JSON-escaped, and invalid UTF-8 becomes U+FFFD")
{
    const std::string nasty = "say \"hi\"\\ \n\r\t\b\f \x01\x1f\x7f caf\xc3\xa9 \xf0\x9f\x90\x98 bad:\xff\xc3 end";
    const std::string pool = "p\"o\\l\nl";
    const std::string line = JsonLinesListener::to_json(
        Event{.kind = EventKind::create_failed, .pool = pool, .message = nasty}, std::chrono::system_clock::now());
    CAPTURE(line);
    CHECK(line.find('\n') == std::string::npos);
    const auto o = parse_json(line);
    CHECK(str(o, "pool") == pool);
    CHECK(str(o, "message") ==
          "say \"hi\"\\ \n\r\t\b\f \x01\x1f\x7f caf\xc3\xa9 \xf0\x9f\x90\x98 bad:\xef\xbf\xbd\xef\xbf\xbd end");
    CHECK(line.find("\\u0001") != std::string::npos);
    CHECK(line.find("\\u007f") != std::string::npos);

    // Overlong forms and surrogates encoded in UTF-8 are not UTF-8 either.
    const std::string bad = "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80";
    const auto b = parse_json(JsonLinesListener::to_json(Event{.pool = "p", .message = bad}, {}));
    CHECK(str(b, "message").find('\xc0') == std::string::npos);
    CHECK(str(b, "message").find("\xef\xbf\xbd") != std::string::npos);
}

TEST_CASE("a JSON-lines listener on a real pool: created, destroyed, timeout, failed create")
{
    Fixture f;
    auto lines = std::make_shared<Lines>();
    PoolOptions o = f.options(1);
    o.name = "orders";
    o.listener = std::make_shared<JsonLinesListener>(lines->sink());
    o.logger = [](LogLevel, std::string_view) {};
    int timeout_line = 0;
    {
        FakePool pool{f.adapter(), o};
        {
            auto lease = pool.acquire();
            timeout_line = __LINE__ + 1;
            CHECK_THROWS_AS((void)pool.acquire({.timeout = 1ms}), AcquireTimeout);
            lease.mark_broken();
        }
        f.fake->fail_next_creates_fatally(1, "refused: \"db\"\n");  // fatal: fails the acquire at once
        CHECK_THROWS_AS((void)pool.acquire(), CreateFailed);
    }
    const auto all = lines->objects();
    for (const auto& e : all) {
        CHECK(is_iso8601_ms_utc(str(e, "ts")));
        CHECK(str(e, "pool") == "orders");
    }
    REQUIRE(of_kind(all, "created").size() == 1);
    CHECK(num(of_kind(all, "created")[0], "resource_id") >= 1);
    CHECK(num(of_kind(all, "created")[0], "duration_ms") >= 0);

    const auto destroyed = of_kind(all, "destroyed");
    REQUIRE(destroyed.size() == 1);
    CHECK(str(destroyed[0], "reason") == "broken");

    const auto timeouts = of_kind(all, "acquire_timeout");
    REQUIRE(timeouts.size() == 1);
    CHECK(str(timeouts[0], "site").ends_with("test_listeners.cpp:" + std::to_string(timeout_line)));
    CHECK(str(timeouts[0], "message").find("timed out") != std::string::npos);
    CHECK(num(timeouts[0], "duration_ms") == doctest::Approx(1.0));
    CHECK(!str(timeouts[0], "thread").empty());

    const auto failed = of_kind(all, "create_failed");
    REQUIRE(failed.size() == 1);
    CHECK(str(failed[0], "message") == "refused: \"db\"\n");
    CHECK(of_kind(all, "pool_closed").size() == 1);
}

TEST_CASE("a JSON-lines listener on a FILE*: one whole line per event, also from many threads")
{
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    constexpr int threads = 8, per_thread = 200;
    {
        const std::string message(300, 'x');  // long lines make torn writes likely if they can happen
        JsonLinesListener listener(file);
        std::vector<std::jthread> workers;  // declared last: joined before the rest is destroyed
        for (int t = 0; t < threads; ++t)
            workers.emplace_back([&, t] {
                for (int i = 0; i < per_thread; ++i)
                    listener.on_event(Event{.kind = EventKind::created, .pool = "p",
                                            .resource_id = static_cast<std::uint64_t>(t * per_thread + i + 1),
                                            .message = message});
            });
    }
    std::rewind(file);
    std::string text;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, file)) > 0;) text.append(buf, n);
    std::fclose(file);

    REQUIRE(!text.empty());
    CHECK(text.back() == '\n');
    std::set<double> ids;
    std::size_t count = 0;
    for (std::size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
        const auto o = parse_json(text.substr(start, end - start));
        ids.insert(num(o, "resource_id"));
        ++count;
    }
    CHECK(count == threads * per_thread);
    CHECK(ids.size() == threads * per_thread);
}

TEST_CASE("a sink that throws loses its line, never the pool's thread")
{
    JsonLinesListener listener([](std::string_view) { throw std::runtime_error("disk full"); });
    listener.on_event(Event{.kind = EventKind::created, .pool = "p"});  // must not throw (noexcept anyway)
    LoggingListener logging([](LogLevel, std::string_view) { throw std::runtime_error("no"); });
    logging.on_event(Event{.kind = EventKind::leak_at_close, .pool = "p"});
    CHECK(true);
}

TEST_CASE("the logging listener: one line per event at a level that fits, filtered by min_level")
{
    struct Logged {
        LogLevel level;
        std::string line;
    };
    std::vector<Logged> logged;
    std::mutex mu;
    auto logger = [&](LogLevel level, std::string_view line) {
        std::lock_guard lk(mu);
        logged.push_back({level, std::string(line)});
    };

    CHECK(LoggingListener::level_of(Event{.kind = EventKind::created}) == LogLevel::debug);
    CHECK(LoggingListener::level_of(Event{.kind = EventKind::destroyed, .reason = DestroyReason::idle}) ==
          LogLevel::debug);
    CHECK(LoggingListener::level_of(Event{.kind = EventKind::destroyed, .reason = DestroyReason::broken}) ==
          LogLevel::info);
    CHECK(LoggingListener::level_of(Event{.kind = EventKind::create_failed}) == LogLevel::warning);
    CHECK(LoggingListener::level_of(Event{.kind = EventKind::acquire_timeout}) == LogLevel::warning);
    CHECK(LoggingListener::level_of(Event{.kind = EventKind::leak_suspected}) == LogLevel::warning);
    CHECK(LoggingListener::level_of(Event{.kind = EventKind::leak_at_close}) == LogLevel::error);
    CHECK(LoggingListener::level_of(Event{.kind = EventKind::circuit_opened}) == LogLevel::error);
    CHECK(LoggingListener::level_of(Event{.kind = EventKind::pool_closed}) == LogLevel::info);

    Fixture f;
    PoolOptions o = f.options(1);
    o.name = "orders";
    o.listener = std::make_shared<LoggingListener>(logger, LogLevel::info);
    o.logger = [](LogLevel, std::string_view) {};
    {
        FakePool pool{f.adapter(), o};
        auto lease = pool.acquire();
        CHECK_THROWS_AS((void)pool.acquire({.timeout = 1ms}), AcquireTimeout);
        lease.mark_broken();
    }
    std::lock_guard lk(mu);
    std::vector<std::string> lines;
    for (const auto& l : logged) {
        CHECK(l.level >= LogLevel::info);  // "created" (debug) was filtered out
        CHECK(l.line.starts_with("[orders] "));
        CHECK_MESSAGE(l.line.find('\n') == std::string::npos, l.line);
        lines.push_back(l.line);
    }
    REQUIRE(logged.size() == 3);
    auto find = [&](std::string_view part) {
        for (const auto& l : logged)
            if (l.line.find(part) != std::string::npos) return std::optional<LogLevel>(l.level);
        return std::optional<LogLevel>();
    };
    CHECK(find("acquire timed out after 1.0 ms at ") == LogLevel::warning);
    CHECK(find("destroyed (broken)") == LogLevel::info);
    CHECK(find("pool closed") == LogLevel::info);
}

TEST_CASE("fan-out passes every event to each listener in order, skipping null entries")
{
    struct Recorder final : EventListener {
        std::mutex mu;
        std::vector<std::string> seen;
        void on_event(const Event& e) noexcept override
        {
            std::lock_guard lk(mu);
            seen.push_back(fmt::format("{}", e));
        }
    };
    auto a = std::make_shared<Recorder>();
    auto b = std::make_shared<Recorder>();
    auto lines = std::make_shared<Lines>();
    auto fan = std::make_shared<FanOutListener>(std::vector<std::shared_ptr<EventListener>>{
        a, nullptr, std::make_shared<JsonLinesListener>(lines->sink()), b});

    Fixture f;
    PoolOptions o = f.options(2);
    o.listener = fan;
    {
        FakePool pool{f.adapter(), o};
        auto x = pool.acquire();
        x.mark_broken();
    }
    std::scoped_lock lk(a->mu, b->mu);
    CHECK(a->seen.size() == 3);  // created, destroyed, pool_closed
    // Events from the creator thread and this one may interleave differently
    // for each listener; each must see the same events.
    auto sorted = [](auto v) {
        std::sort(v.begin(), v.end());
        return v;
    };
    CHECK(sorted(a->seen) == sorted(b->seen));
    CHECK(lines->objects().size() == a->seen.size());
}

TEST_CASE("json_string quotes and escapes as the JSON-lines listener does")
{
    CHECK(respool::json_string("a\"b\\c\n\t") == R"("a\"b\\c\n\t")");
    CHECK(respool::json_string(std::string_view("\x01", 1)) == R"("\u0001")");
    CHECK(respool::json_string("caf\xc3\xa9") == "\"caf\xc3\xa9\"");  // valid UTF-8 kept
    CHECK(respool::json_string("bad \xff byte") == R"("bad \ufffd byte")");
    const std::string line = R"({"k":)" + respool::json_string("x\xc3\x28y") + "}";
    JsonChecker checker(line);
    CHECK(checker.object().has_value());
}
