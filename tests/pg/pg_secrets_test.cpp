// The secrets sweep (issue 12, TESTPLAN "secrets"): over many failure cases
// against a real server, the configured password appears in NO output —
// neither whole nor as any 8-character piece — of: exceptions (what(),
// CreateFailed::last_error, the pg::Error cause with its server fields),
// the pool's logger, a JSON-lines and a logging listener, the Prometheus
// text, to_string(stats), leases(), describe(), target(), notices, and the
// pool's name when it is made from target(). Also: server text with ESC
// sequences reaches no output raw.
#include <doctest/doctest.h>

#include <functional>
#include <mutex>

#include <respool/format.hpp>
#include <respool/listeners.hpp>
#include <respool/pg.hpp>
#include <respool/pool.hpp>
#include <respool/prometheus.hpp>

#include "pg_test_util.hpp"
#include "local_servers/temp_dir.hpp"

using namespace respool::test;
using respool::pg::Adapter;
using respool::pg::Options;

namespace {

PgCluster& cluster() { return owned_cluster("need roles with known passwords"); }

// Everything a pool and its adapter said, from every channel.
class Outputs {
public:
    void add(std::string_view text)
    {
        std::lock_guard lock(mutex_);
        text_ += text;
        text_ += '\n';
    }
    void add_exception(std::exception_ptr e)
    {
        try {
            if (e) std::rethrow_exception(e);
        } catch (const respool::CreateFailed& f) {
            add(f.what());
            add(f.last_error());
            add_exception(f.cause());
        } catch (const respool::pg::Error& p) {
            add(p.what());
            add(p.server_message());
            add(p.detail());
            add(p.hint());
            add(p.endpoint());
        } catch (const std::exception& x) {
            add(x.what());
        }
    }
    std::string text() const
    {
        std::lock_guard lock(mutex_);
        return text_;
    }

private:
    mutable std::mutex mutex_;
    std::string text_;
};

// Runs `action` on a pool over `o`, capturing every output into `out`.
void exercise(Outputs& out, Options o, const std::function<void(respool::Pool<Adapter>&, Outputs&)>& action)
{
    o.notice_handler = [&out](std::string_view, std::string_view message) { out.add(message); };
    try {
        Adapter adapter{o};
        out.add(adapter.describe());
        out.add(adapter.target());
        respool::PoolOptions po;
        po.name = adapter.target();  // as a user might: the pool's name reaches labels and events
        po.max_size = 2;
        po.create_timeout = 3s;
        po.acquire_timeout = 3s;
        po.logger = [&out](respool::LogLevel, std::string_view line) { out.add(line); };
        auto json = std::make_shared<respool::JsonLinesListener>([&out](std::string_view line) { out.add(line); });
        auto logs = std::make_shared<respool::LoggingListener>(
            [&out](respool::LogLevel, std::string_view line) { out.add(line); }, respool::LogLevel::debug);
        po.listener = std::make_shared<respool::FanOutListener>(
            std::vector<std::shared_ptr<respool::EventListener>>{json, logs});
        respool::Pool pool{adapter, po};
        try {
            action(pool, out);
        } catch (...) {
            out.add_exception(std::current_exception());
        }
        out.add(respool::to_string(pool.stats()));
        out.add(respool::to_prometheus(pool.stats()));
        pool.close();
        out.add(respool::to_string(pool.stats()));
    } catch (...) {
        out.add_exception(std::current_exception());
    }
}

void query(respool::Pool<Adapter>& pool, Outputs& out, const std::string& sql)
{
    auto lease = pool.acquire();
    for (const auto& info : pool.leases()) out.add(respool::to_string(info));
    try {
        lease->exec(sql);
    } catch (...) {
        out.add_exception(std::current_exception());
    }
}

// The first piece of `secret` found in `text` (8 characters or the whole), or "".
std::string leaked_piece(const std::string& text, const std::string& secret)
{
    const std::size_t piece = std::min<std::size_t>(8, secret.size());
    for (std::size_t at = 0; at + piece <= secret.size(); ++at)
        if (contains(text, secret.substr(at, piece))) return secret.substr(at, piece);
    return {};
}

std::string tcp(PgCluster& pg)
{
    return "host=127.0.0.1 port=" + std::to_string(pg.port()) + " dbname=" + pg.dbname();
}

Options kv(const std::string& conninfo, const std::string& user, const std::string& password)
{
    Options o;
    o.conninfo = conninfo + " user=" + user;
    o.params = {{"password", password}, {"application_name", "secrets-sweep"}};
    return o;
}

} // namespace

TEST_CASE("secrets sweep: no piece of the password in any output, over many failures")
{
    PgCluster& pg = cluster();
    const std::string secret = "Sweep-Real-Secret-93xQ-Kv7";
    pg.create_role("respool_sweep", secret);
    const std::string base = tcp(pg);

    struct Case {
        const char* name;
        std::function<void(Outputs&)> run;
    };
    auto ok = [&] { return kv(base, "respool_sweep", secret); };
    std::string padding_chars = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::vector<Case> cases = {
        {"wrong password", [&](Outputs& out) {
             exercise(out, kv(base, "respool_sweep", secret + "-x"), [](auto& pool, Outputs& o) { query(pool, o, "SELECT 1"); });
         }},
        {"wrong password in a URI", [&](Outputs& out) {
             Options o;
             o.conninfo = "postgresql://respool_sweep:" + secret + "-x@127.0.0.1:" + std::to_string(pg.port()) + "/" + pg.dbname();
             exercise(out, o, [](auto& pool, Outputs& o2) { query(pool, o2, "SELECT 1"); });
         }},
        {"unknown database", [&](Outputs& out) {
             exercise(out, kv("host=127.0.0.1 port=" + std::to_string(pg.port()) + " dbname=nope", "respool_sweep", secret),
                      [](auto& pool, Outputs& o) { query(pool, o, "SELECT 1"); });
         }},
        {"refused port", [&](Outputs& out) {
             exercise(out, kv("host=127.0.0.1 port=" + std::to_string(free_tcp_port()) + " dbname=x", "respool_sweep", secret),
                      [](auto& pool, Outputs& o) { query(pool, o, "SELECT 1"); });
         }},
        {"the password in a failing statement", [&](Outputs& out) {
             exercise(out, ok(), [&](auto& pool, Outputs& o) { query(pool, o, "SELECT '" + secret + "'::int"); });
         }},
        {"the password as a failing parameter", [&](Outputs& out) {
             exercise(out, ok(), [&](auto& pool, Outputs& o) {
                 auto lease = pool.acquire();
                 try {
                     lease->exec("SELECT $1::int", secret);
                 } catch (...) {
                     o.add_exception(std::current_exception());
                 }
             });
         }},
        {"the password in a long statement the server shortens", [&](Outputs& out) {
             exercise(out, ok(), [&](auto& pool, Outputs& o) {
                 // The syntax error sits after the password; with each padding
                 // the server's "LINE 1: ..." excerpt starts somewhere else in it.
                 for (std::size_t pad = 0; pad < 70; pad += 3)
                     query(pool, o, "SELECT 'x' AS a" + std::string(pad, ' ') + ", '" + secret + "' AS " +
                                        padding_chars.substr(0, pad % 30 + 1) + " FROM FROM nowhere");
                 for (std::size_t pad = 0; pad < 70; pad += 3)
                     query(pool, o, "SELECT '" + secret + "' AS b, " + std::string(pad, '1') + " + WHERE");
             });
         }},
        {"the password in a notice and a raised error", [&](Outputs& out) {
             exercise(out, ok(), [&](auto& pool, Outputs& o) {
                 query(pool, o, "DO $$BEGIN RAISE NOTICE 'n %', '" + secret + "'; END$$");
                 query(pool, o, "DO $$BEGIN RAISE EXCEPTION 'e %', '" + secret + "' USING DETAIL = '" + secret +
                                    "', HINT = '" + secret + "'; END$$");
             });
         }},
        {"a failing setup statement with the password", [&](Outputs& out) {
             Options o = ok();
             o.setup = {"SELECT '" + secret + "'::int"};
             exercise(out, o, [](auto& pool, Outputs& o2) { query(pool, o2, "SELECT 1"); });
         }},
        {"a failing reset statement with the password", [&](Outputs& out) {
             Options o = ok();
             o.reset_statement = "SELECT '" + secret + "'::int";
             exercise(out, o, [](auto& pool, Outputs& o2) {
                 query(pool, o2, "SELECT 1");
                 query(pool, o2, "SELECT 2");
             });
         }},
        {"a query timeout", [&](Outputs& out) {
             Options o = ok();
             o.query_timeout = 100ms;
             exercise(out, o, [&](auto& pool, Outputs& o2) { query(pool, o2, "SELECT pg_sleep(5), '" + secret + "'"); });
         }},
        {"the session terminated by the server", [&](Outputs& out) {
             exercise(out, ok(), [&](auto& pool, Outputs& o) {
                 auto lease = pool.acquire();
                 pg.query("SELECT pg_terminate_backend($1::int)", {std::to_string(lease->backend_pid())});
                 wait_for([&] { return pool.stats().leases == 1; }, 100ms);
                 try {
                     lease->exec("SELECT '" + secret + "'");
                 } catch (...) {
                     o.add_exception(std::current_exception());
                 }
             });
         }},
        {"unencoded '@' and '/' in a URI password, wrong", [&](Outputs& out) {
             Options o;
             o.conninfo = "postgresql://respool_sweep:Tr0ub@dor/" + secret + "@127.0.0.1:" + std::to_string(pg.port()) + "/" + pg.dbname();
             exercise(out, o, [](auto& pool, Outputs& o2) { query(pool, o2, "SELECT 1"); });
         }},
        {"a URI password with an unencoded '?'", [&](Outputs& out) {
             Options o;
             o.conninfo = "postgresql://respool_sweep:" + secret + "?x@127.0.0.1:" + std::to_string(pg.port()) + "/db";
             exercise(out, o, [](auto& pool, Outputs& o2) { query(pool, o2, "SELECT 1"); });
         }},
        {"an unquoted password with spaces", [&](Outputs& out) {
             Options o;
             o.conninfo = base + " user=respool_sweep password=" + secret.substr(0, 11) + " " + secret.substr(11) + "=1";
             exercise(out, o, [](auto& pool, Outputs& o2) { query(pool, o2, "SELECT 1"); });
         }},
        {"the password as the port", [&](Outputs& out) {
             Options o;
             o.conninfo = "postgresql://respool_sweep:" + secret;
             exercise(out, o, [](auto& pool, Outputs& o2) { query(pool, o2, "SELECT 1"); });
         }},
    };

    int checked = 0;
    for (const auto& c : cases) {
        CAPTURE(c.name);
        Outputs out;
        c.run(out);
        std::string text = out.text();
        CHECK(!text.empty());
        std::string piece = leaked_piece(text, secret);
        CHECK_MESSAGE(piece.empty(), "\"" << piece << "\" in:\n" << text);
        if (std::string tr = "Tr0ub@dor"; contains(c.name, "'@'")) CHECK_MESSAGE(!contains(text, tr), text);
        ++checked;
    }
    CHECK(checked == static_cast<int>(cases.size()));
    MESSAGE(checked << " failure cases swept");
}

TEST_CASE("a URI password with unencoded '@' and '/' connects, and shows nowhere")
{
    PgCluster& pg = cluster();
    const std::string password = "Tr0ub@dor/Se@cret-9";
    pg.create_role("respool_at", password);
    Options o;
    o.conninfo = "postgresql://respool_at:" + password + "@127.0.0.1:" + std::to_string(pg.port()) + "/" + pg.dbname();
    Outputs out;
    exercise(out, o, [](auto& pool, Outputs& o2) {
        auto lease = pool.acquire();
        o2.add(lease->exec("SELECT current_user").template value<std::string>());
    });
    std::string text = out.text();
    CHECK(contains(text, "respool_at"));
    CHECK_MESSAGE(!contains(text, "dor/Se"), text);
    CHECK_MESSAGE(!contains(text, "cret-9"), text);
    CHECK_MESSAGE(!contains(text, "Tr0ub"), text);
}

TEST_CASE("server text with ESC sequences and newlines reaches no output raw")
{
    PgCluster& pg = cluster();
    Outputs out;
    exercise(out, options_for(pg, "secrets-esc"), [](auto& pool, Outputs& o) {
        query(pool, o, "DO $$BEGIN RAISE NOTICE E'n \\x1b[31mred\\x1b[0m\\rback'; END$$");
        query(pool, o, "DO $$BEGIN RAISE EXCEPTION E'e \\x1b]0;title\\x07 two\\nlines' USING DETAIL = E'd\\x1b[2J'; END$$");
    });
    std::string text = out.text();
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find('\x07') == std::string::npos);
    CHECK(text.find('\r') == std::string::npos);
    CHECK_MESSAGE(contains(text, "\\x1B[31mred"), text);
    CHECK_MESSAGE(contains(text, "two\\x0Alines"), text);
}
