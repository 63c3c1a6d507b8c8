// bench_pg — `SELECT 1` round trips through respool::Pool<pg::Adapter>,
// against the limits: one dedicated connection per worker (through the same
// pg::Connection, and through raw libpq PQexec), a new connection per query,
// and pgbench at the same connection count and protocol, in the same run.
// Over TCP (scram password) and the unix socket; simple and prepared protocol.
// When a JDK and Debian's HikariCP and pgjdbc jars are installed, also
// HikariCP at the same threads and pool size (TCP only: pgjdbc has no unix
// sockets without junixsocket); without them it says so and goes on.
//
// Run: bench_pg                      starts a throwaway cluster (local_servers/)
//      bench_pg --tcp 'host=... password=...' --socket 'host=/run/postgresql ...'
// Options: --seconds S (per measurement, default 2), --rounds R (best of R, default 1),
//          --threads 1,4,16,64, --pool-size 4, --fairness-window-us N (the pool's option),
//          --hikari auto|off (default auto), --hikari-warmup S (JIT warm-up per JVM
//          before its clock starts, default 3), --csv FILE. Prints a table, then CSV.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <sys/resource.h>
#include <libpq-fe.h>

#include <respool/pg.hpp>
#include <respool/pool.hpp>

#include "hikari_runner.hpp"
#include "local_servers/pg_cluster.hpp"
#include "local_servers/pg_command.hpp"
#include "local_servers/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using respool::deadline_after;
using respool::pg::Adapter;
using respool::pg::Connection;

struct Settings {
    std::string tcp, socket;
    double seconds = 2;
    int rounds = 1;
    std::vector<int> threads{1, 4, 16, 64};
    int pool_size = 4;
    std::optional<long> fairness_us;  // the pool's default unless given
    bool hikari = true;               // when Java and the jars are there
    double hikari_warmup = 3;         // seconds the JVM runs before its clock starts (JIT)
    std::string csv;
};

enum class Protocol { simple, prepared };
const char* name(Protocol p) { return p == Protocol::simple ? "simple" : "prepared"; }

struct Row {
    std::string transport;
    Protocol protocol;
    int threads;
    std::string mode;
    int connections;
    double ops_per_sec;
    double cpu_us_per_op;
    double sleeps_per_op;  // negative when not measured
};

// One operation per call; made per worker before the clock starts.
using Op = std::function<void()>;

// Throughput, and this process's CPU time per operation (user + system):
// the pool's own cost shows in the second even when a loaded machine blurs
// the first. Sleeps per operation (voluntary context switches, all
// threads; the involuntary ones are preemptions, the machine's load): a
// thread that waits for the pool sleeps once more per query than one that
// only waits for the server.
struct Measured {
    double ops_per_sec = 0;
    double cpu_us_per_op = 0;
    double sleeps_per_op = -1;  // voluntary; not measured (HikariCP's JVM)
};

struct Usage {
    double cpu_seconds = 0;
    double sleeps = 0;  // voluntary context switches
};

Usage usage(int who)
{
    rusage r{};
    ::getrusage(who, &r);
    auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return {sec(r.ru_utime) + sec(r.ru_stime), static_cast<double>(r.ru_nvcsw)};
}

// Runs `threads` workers doing their op until `seconds` pass.
Measured measure(int threads, double seconds, const std::function<Op(int)>& make_op)
{
    std::vector<Op> ops;
    for (int t = 0; t < threads; ++t) ops.push_back(make_op(t));
    struct alignas(64) Count {
        std::uint64_t n = 0;
    };
    std::vector<Count> counts(threads);
    std::atomic<bool> stop{false};
    std::latch ready(threads + 1);
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            ready.arrive_and_wait();
            while (!stop.load(std::memory_order_relaxed)) {
                ops[t]();
                ++counts[t].n;
            }
        });
    }
    ready.arrive_and_wait();
    const Usage before = usage(RUSAGE_SELF);
    auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    workers.clear();
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const Usage after = usage(RUSAGE_SELF);
    std::uint64_t total = 0;
    for (const auto& c : counts) total += c.n;
    const double n = static_cast<double>(std::max<std::uint64_t>(total, 1));
    return {static_cast<double>(total) / elapsed, (after.cpu_seconds - before.cpu_seconds) * 1e6 / n,
            (after.sleeps - before.sleeps) / n};
}

respool::pg::Options adapter_options(const std::string& conninfo, Protocol protocol)
{
    respool::pg::Options o;
    o.conninfo = conninfo;
    if (protocol == Protocol::prepared) o.setup = {"PREPARE s1 AS SELECT 1"};
    return o;
}

void run_statement(Connection& c, Protocol protocol)
{
    if (protocol == Protocol::simple)
        c.exec("SELECT 1");
    else
        c.exec_prepared("s1");
}

Measured bench_pool(const std::string& conninfo, Protocol protocol, int threads, const Settings& s,
                  const std::string& reset_statement = {})
{
    respool::pg::Options o = adapter_options(conninfo, protocol);
    o.reset_statement = reset_statement;
    respool::PoolOptions po;
    po.name = "bench";
    po.max_size = static_cast<std::size_t>(s.pool_size);
    po.min_idle = po.max_size;
    po.acquire_timeout = 60s;
    if (s.fairness_us) po.fairness_window = std::chrono::microseconds(*s.fairness_us);
    respool::Pool pool{Adapter{o}, po};
    for (int i = 0; i < 500 && pool.stats().idle < po.max_size; ++i) std::this_thread::sleep_for(10ms);
    return measure(threads, s.seconds, [&](int) -> Op {
        return [&pool, protocol] {
            auto lease = pool.acquire();
            run_statement(*lease, protocol);
        };
    });
}

Measured bench_dedicated(const std::string& conninfo, Protocol protocol, int threads, const Settings& s)
{
    Adapter adapter{adapter_options(conninfo, protocol)};
    std::vector<std::shared_ptr<Connection>> conns;
    return measure(threads, s.seconds, [&](int) -> Op {
        auto c = std::make_shared<Connection>(adapter.create(deadline_after(30s)));
        conns.push_back(c);
        return [c, protocol] { run_statement(*c, protocol); };
    });
}

Measured bench_raw(const std::string& conninfo, Protocol protocol, int threads, const Settings& s)
{
    Adapter adapter{adapter_options(conninfo, protocol)};
    std::vector<std::shared_ptr<Connection>> conns;
    return measure(threads, s.seconds, [&](int) -> Op {
        auto c = std::make_shared<Connection>(adapter.create(deadline_after(30s)));
        conns.push_back(c);
        PGconn* raw = c->raw();
        return [raw, protocol] {
            PGresult* r = protocol == Protocol::simple ? PQexec(raw, "SELECT 1")
                                                       : PQexecPrepared(raw, "s1", 0, nullptr, nullptr, nullptr, 0);
            if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                std::fprintf(stderr, "raw query failed: %s", PQerrorMessage(raw));
                std::exit(1);
            }
            PQclear(r);
        };
    });
}

Measured bench_connect(const std::string& conninfo, int threads, const Settings& s)
{
    Adapter adapter{adapter_options(conninfo, Protocol::simple)};
    return measure(threads, s.seconds, [&](int) -> Op {
        return [&adapter] {
            Connection c = adapter.create(deadline_after(30s));
            c.exec("SELECT 1");
        };
    });
}

// pgbench with a `SELECT 1` script (its CPU time counted as our child's);
// zero throughput when it cannot run.
Measured bench_pgbench(const std::string& conninfo, Protocol protocol, int clients, const std::string& script,
                       const Settings& s)
{
    std::vector<std::string> argv{respool::test::pg_bindir() + "/pgbench", "-n", "-f", script, "-M", name(protocol),
                                  "-c", std::to_string(clients), "-j", std::to_string(clients), "-T",
                                  std::to_string(std::max(1, static_cast<int>(s.seconds + 0.5))), conninfo};
    const Usage before = usage(RUSAGE_CHILDREN);
    respool::test::CommandResult r = respool::test::run_command(argv);
    const Usage after = usage(RUSAGE_CHILDREN);
    std::smatch m;
    static const std::regex tps_line(R"(tps = ([0-9.]+) \(without initial connection time\))");
    if (r.exit_code != 0 || !std::regex_search(r.output, m, tps_line)) {
        std::fprintf(stderr, "pgbench failed (exit %d): %s\n", r.exit_code, r.output.c_str());
        return {};
    }
    double tps = std::stod(m[1]);
    static const std::regex count(R"(number of transactions actually processed: ([0-9]+))");
    std::smatch n;
    double done = std::regex_search(r.output, n, count) ? std::stod(n[1]) : 0;
    if (done <= 0) return {tps, 0, -1};
    return {tps, (after.cpu_seconds - before.cpu_seconds) * 1e6 / done, (after.sleeps - before.sleeps) / done};
}

Settings parse(int argc, char** argv)
{
    Settings s;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string key = argv[i], value = argv[i + 1];
        if (key == "--tcp") s.tcp = value;
        else if (key == "--socket") s.socket = value;
        else if (key == "--seconds") s.seconds = std::stod(value);
        else if (key == "--rounds") s.rounds = std::stoi(value);
        else if (key == "--pool-size") s.pool_size = std::stoi(value);
        else if (key == "--csv") s.csv = value;
        else if (key == "--fairness-window-us") s.fairness_us = std::stol(value);
        else if (key == "--hikari") s.hikari = value != "off";
        else if (key == "--hikari-warmup") s.hikari_warmup = std::stod(value);
        else if (key == "--threads") {
            s.threads.clear();
            for (std::size_t at = 0; at < value.size();) {
                std::size_t comma = value.find(',', at);
                s.threads.push_back(std::stoi(value.substr(at, comma - at)));
                at = comma == std::string::npos ? value.size() : comma + 1;
            }
        } else {
            std::fprintf(stderr, "unknown option %s\n", key.c_str());
            std::exit(2);
        }
    }
    return s;
}

void print(const std::vector<Row>& rows, const Settings& s)
{
    auto find = [&](const Row& like, const std::string& mode) -> const Row* {
        for (const auto& r : rows)
            if (r.transport == like.transport && r.protocol == like.protocol && r.threads == like.threads &&
                r.mode == mode)
                return &r;
        return nullptr;
    };
    fmt::print("\nSELECT 1 round trips per second (pool of {}, best of {} x {} s)\n", s.pool_size, s.rounds, s.seconds);
    fmt::print("{:<9} {:<9} {:>7} {:>10} {:>10} {:>10} {:>14} {:>10} {:>13} {:>10} {:>9} {:>9} {:>9} {:>9}\n",
               "transport", "protocol", "threads", "pool", "dedicated", "raw libpq", "pgbench(c=)", "hikari",
               "pool+discard", "connect", "pool/ded", "pool/pgb", "pool/hik", "conn/pool");
    for (const auto& r : rows) {
        if (r.mode != "pool") continue;
        const Row* ded = find(r, "dedicated");
        const Row* raw = find(r, "raw");
        const Row* pgb = find(r, "pgbench");
        const Row* con = find(Row{r.transport, Protocol::simple, r.threads, "", 0, 0, 0, -1}, "connect");
        const Row* dis = find(r, "pool+discard");
        const Row* hik = find(r, "hikari");
        auto num = [](const Row* x) { return x ? fmt::format("{:.0f}", x->ops_per_sec) : std::string("-"); };
        auto ratio = [&](const Row* x) {
            return x && x->ops_per_sec > 0 ? fmt::format("{:.1f}%", 100 * r.ops_per_sec / x->ops_per_sec)
                                           : std::string("-");
        };
        std::string pgb_text = pgb ? fmt::format("{:.0f}({})", pgb->ops_per_sec, pgb->connections) : "-";
        std::string conn_ratio =
            con && r.ops_per_sec > 0 ? fmt::format("{:.2f}%", 100 * con->ops_per_sec / r.ops_per_sec) : "-";
        fmt::print("{:<9} {:<9} {:>7} {:>10.0f} {:>10} {:>10} {:>14} {:>10} {:>13} {:>10} {:>9} {:>9} {:>9} {:>9}\n",
                   r.transport, name(r.protocol), r.threads, r.ops_per_sec, num(ded), num(raw), pgb_text, num(hik),
                   num(dis), num(con), ratio(ded), ratio(pgb), ratio(hik), conn_ratio);
    }
    fmt::print("\nclient CPU time per round trip, us (lowest of the rounds; pgbench's own process)\n");
    fmt::print("{:<9} {:<9} {:>7} {:>8} {:>10} {:>10} {:>8} {:>8} {:>13} {:>9} {:>9}\n", "transport", "protocol",
               "threads", "pool", "dedicated", "raw libpq", "pgbench", "hikari", "pool+discard", "pool-ded",
               "pool-pgb");
    for (const auto& r : rows) {
        if (r.mode != "pool") continue;
        auto cpu = [](const Row* x) { return x ? fmt::format("{:.2f}", x->cpu_us_per_op) : std::string("-"); };
        const Row* ded = find(r, "dedicated");
        const Row* pgb = find(r, "pgbench");
        auto minus = [&](const Row* x) {
            return x ? fmt::format("{:+.2f}", r.cpu_us_per_op - x->cpu_us_per_op) : std::string("-");
        };
        fmt::print("{:<9} {:<9} {:>7} {:>8.2f} {:>10} {:>10} {:>8} {:>8} {:>13} {:>9} {:>9}\n", r.transport,
                   name(r.protocol), r.threads, r.cpu_us_per_op, cpu(ded), cpu(find(r, "raw")), cpu(pgb),
                   cpu(find(r, "hikari")), cpu(find(r, "pool+discard")), minus(ded), minus(pgb));
    }
    fmt::print("\nclient sleeps (voluntary context switches) per round trip (lowest of the rounds; pgbench's own "
               "process)\n");
    fmt::print("{:<9} {:<9} {:>7} {:>8} {:>10} {:>10} {:>8} {:>13} {:>9}\n", "transport", "protocol", "threads",
               "pool", "dedicated", "raw libpq", "pgbench", "pool+discard", "pool-ded");
    for (const auto& r : rows) {
        if (r.mode != "pool") continue;
        auto cs = [](const Row* x) {
            return x && x->sleeps_per_op >= 0 ? fmt::format("{:.3f}", x->sleeps_per_op) : std::string("-");
        };
        const Row* ded = find(r, "dedicated");
        fmt::print("{:<9} {:<9} {:>7} {:>8} {:>10} {:>10} {:>8} {:>13} {:>9}\n", r.transport, name(r.protocol),
                   r.threads, cs(&r), cs(ded), cs(find(r, "raw")), cs(find(r, "pgbench")),
                   cs(find(r, "pool+discard")),
                   ded && ded->sleeps_per_op >= 0 ? fmt::format("{:+.3f}", r.sleeps_per_op - ded->sleeps_per_op)
                                                    : std::string("-"));
    }
    std::string csv = "transport,protocol,threads,mode,connections,ops_per_sec,cpu_us_per_op,sleeps_per_op\n";
    for (const auto& r : rows)
        csv += fmt::format("{},{},{},{},{},{:.1f},{:.3f},{}\n", r.transport, name(r.protocol), r.threads, r.mode,
                           r.connections, r.ops_per_sec, r.cpu_us_per_op,
                           r.sleeps_per_op >= 0 ? fmt::format("{:.4f}", r.sleeps_per_op) : std::string());
    fmt::print("\n{}", csv);
    if (s.csv.empty()) return;
    try {
        respool::test::write_file(s.csv, csv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());  // the table and CSV are on stdout anyway
    }
}

} // namespace

int main(int argc, char** argv)
{
    Settings s = parse(argc, argv);
    std::unique_ptr<respool::test::PgCluster> cluster;
    if (s.tcp.empty() && s.socket.empty()) {
        respool::test::PgClusterOptions co;
        co.max_connections = 100;
        cluster = std::make_unique<respool::test::PgCluster>(co);
        // The password travels in the environment (libpq and pgbench read
        // PGPASSWORD), not in pgbench's command line.
        ::setenv("PGPASSWORD", cluster->password().c_str(), 1);
        s.tcp = fmt::format("host={} port={} user={} dbname={}", cluster->host(), cluster->port(), cluster->user(),
                            cluster->dbname());
        s.socket = cluster->socket_conninfo();
        fmt::print("throwaway cluster on port {} (PostgreSQL {})\n", cluster->port(),
                   cluster->query("SHOW server_version").at(0));
    }
    double load[3] = {};
    if (::getloadavg(load, 3) == 3) fmt::print("load average at the start: {:.1f} {:.1f} {:.1f}\n", load[0], load[1], load[2]);
    respool::test::TempDir dir{"respool-bench-pg"};
    const std::string script = dir.path() + "/select1.sql";
    respool::test::write_file(script, "SELECT 1;\n");

    // HikariCP: optional, measured over TCP when Java and the jars are there.
    std::optional<bench::HikariRunner> hikari;
    const std::optional<bench::JdbcTarget> jdbc = bench::jdbc_target(s.tcp);
    if (!s.hikari)
        fmt::print("HikariCP: off (--hikari off)\n");
    else if (!jdbc)
        fmt::print("HikariCP: skipped (no TCP host in --tcp; pgjdbc connects over TCP only)\n");
    else {
        fmt::print("HikariCP: compiling bench/HikariBench.java ...\n");
        std::fflush(stdout);
        hikari = bench::HikariRunner::find(RESPOOL_BENCH_SOURCE_DIR, dir.path() + "/java");
        if (hikari->available())
            fmt::print("HikariCP: measured over TCP ({}); not over the unix socket (pgjdbc needs junixsocket)\n",
                       hikari->versions());
        else
            fmt::print("HikariCP: skipped, {}\n", hikari->why_not());
    }
    const bool with_hikari = hikari && hikari->available();

    std::vector<Row> rows;
    for (auto [transport, conninfo] : {std::pair{"tcp", s.tcp}, std::pair{"unix", s.socket}}) {
        if (conninfo.empty()) continue;
        for (int threads : s.threads) {
            const int pooled = std::min(threads, s.pool_size);
            for (Protocol p : {Protocol::simple, Protocol::prepared}) {
                struct Mode {
                    const char* name;
                    int connections;
                    std::function<Measured()> run;
                };
                std::vector<Mode> modes{
                    {"pool", pooled, [&] { return bench_pool(conninfo, p, threads, s); }},
                    {"dedicated", threads, [&] { return bench_dedicated(conninfo, p, threads, s); }},
                    {"raw", threads, [&] { return bench_raw(conninfo, p, threads, s); }},
                    {"pgbench", pooled,
                     [&] { return bench_pgbench(conninfo, p, pooled, script, s); }},
                };
                if (with_hikari && transport == std::string("tcp"))
                    modes.push_back({"hikari", pooled, [&] {
                                         const auto r = hikari->run(*jdbc, p == Protocol::prepared, threads,
                                                                    s.pool_size, s.seconds, s.hikari_warmup);
                                         return Measured{r.ops_per_sec, r.cpu_us_per_op, -1};
                                     }});
                if (p == Protocol::simple) {
                    modes.push_back(
                        {"pool+discard", pooled, [&] { return bench_pool(conninfo, p, threads, s, "DISCARD ALL"); }});
                    modes.push_back({"connect", threads, [&] { return bench_connect(conninfo, threads, s); }});
                }
                // Rounds interleave the modes, so a burst of load from
                // elsewhere hits all of them alike; each keeps its best round.
                // The best throughput and the lowest CPU per operation of the rounds.
                std::vector<Measured> best(modes.size(), Measured{0, 1e18, -1});
                for (int round = 0; round < s.rounds; ++round) {
                    for (std::size_t i = 0; i < modes.size(); ++i) {
                        Measured m = modes[i].run();
                        if (m.ops_per_sec <= 0) continue;
                        best[i].ops_per_sec = std::max(best[i].ops_per_sec, m.ops_per_sec);
                        best[i].cpu_us_per_op = std::min(best[i].cpu_us_per_op, m.cpu_us_per_op);
                        if (m.sleeps_per_op >= 0)
                            best[i].sleeps_per_op = best[i].sleeps_per_op < 0
                                                          ? m.sleeps_per_op
                                                          : std::min(best[i].sleeps_per_op, m.sleeps_per_op);
                    }
                }
                for (std::size_t i = 0; i < modes.size(); ++i) {
                    if (best[i].ops_per_sec <= 0) continue;
                    rows.push_back({transport, p, threads, modes[i].name, modes[i].connections, best[i].ops_per_sec,
                                    best[i].cpu_us_per_op, best[i].sleeps_per_op});
                    fmt::print(stderr, "{} {} {} threads, {}: {:.0f}/s, {:.2f} us CPU/op\n", transport, name(p),
                               threads, modes[i].name, best[i].ops_per_sec, best[i].cpu_us_per_op);
                }
            }
        }
    }
    print(rows, s);
    if (::getloadavg(load, 3) == 3) fmt::print("\nload average at the end: {:.1f} {:.1f} {:.1f}\n", load[0], load[1], load[2]);
    return 0;
}
