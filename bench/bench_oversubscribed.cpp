// bench_oversubscribed — more threads than resources, as services run a pool.
//
// N client threads share R resources, in two kinds of run:
//   echo   every lease is a real round trip: one byte written to a socketpair
//          and read back, echoed by a server thread of the resource's own (a
//          blocking echo, like a database backend: the holder sleeps in
//          read() while it holds the lease). Shapes 4/4 (no oversubscription,
//          the pool's own cost), 16/4, 64/4, 64/8.
//   none   acquire -> touch -> release, no hold (bench_core's contended
//          shape): 16/4 and 64/8.
// Subjects: respool (default options: fairness window 1 ms), barging and
// fifo_handoff (bench/baseline_pools.hpp); --subjects adds respool_fifo
// (fairness_window 0). For every echo shape also `direct`, run just before
// the shape's pools: R threads each owning one resource, no pool — the
// resources' own limit, what pgbench at R connections is to bench_pg.
//
// Per run: throughput; the client threads' CPU per op (getrusage
// RUSAGE_THREAD in each client thread, user + system); the whole process's
// CPU per op (adds the echo servers); the client threads' voluntary and
// involuntary context switches per op (a voluntary one is a sleep: in the
// pool's wait or in the echo's read(), so in echo runs the pool's own
// wake-ups are the sleeps a subject has above `direct`; the involuntary ones
// are preemptions, the machine's load); p50/p99/max of the
// acquire wait, timed per op with steady_clock. Runs are interleaved in
// rounds so that a burst of load on the shared machine hits every subject
// alike; the summary takes each figure's median over the rounds, and the
// ratios are paired: subject / reference within each round (they ran
// back to back), then the median of those. Client CPU is also given as the
// lowest round's: on a loaded machine it only grows (a system call's time
// stretches when the host is busy), so the lowest is the closest estimate.
//
// Output: a line per run on stderr, then the summary table, the ratios and
// the bars, then the summary as CSV on stdout.
// Flags: --rounds=N (default 7), --run_ms=N (default 500 per run),
//        --subjects=respool,barging,fifo_handoff[,respool_fifo], --csv=FILE.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <sys/resource.h>

#include <respool/pool.hpp>

#include "baseline_pools.hpp"
#include "echo_servers.hpp"
#include "wait_histogram.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

[[noreturn]] void die(const char* what)
{
    std::perror(what);
    std::exit(1);
}

template <class T>
inline void keep(T& v)
{
    asm volatile("" : "+m"(v) : : "memory");  // the compiler must do the write
}

// --- subjects ----------------------------------------------------------------

/// Lends the echo client ends; a destroyed resource's fd goes back to the
/// free list, so a re-created one never shares a socket with a live one.
struct EchoAdapter {
    struct Fds {
        std::mutex mu;
        std::vector<int> free;
    };
    using Resource = int;
    std::shared_ptr<Fds> fds;

    int create(respool::Deadline)
    {
        std::lock_guard lk(fds->mu);
        if (fds->free.empty()) throw std::runtime_error("bench: more resources asked for than echo servers");
        const int fd = fds->free.back();
        fds->free.pop_back();
        return fd;
    }
    void destroy(int& fd) noexcept
    {
        std::lock_guard lk(fds->mu);
        fds->free.push_back(fd);
    }
};
static_assert(respool::Adapter<EchoAdapter>);

class RespoolSubject {
public:
    RespoolSubject(const bench::EchoServers& servers, std::chrono::microseconds fairness_window)
        : pool_(adapter(servers), options(servers.size(), fairness_window))
    {
        std::vector<respool::Lease<EchoAdapter>> warm;  // make every resource now, outside the measurement
        for (std::size_t i = 0; i < servers.size(); ++i) warm.push_back(pool_.acquire());
    }
    respool::Lease<EchoAdapter> acquire(int) { return pool_.acquire(); }

private:
    static EchoAdapter adapter(const bench::EchoServers& servers)
    {
        EchoAdapter a{std::make_shared<EchoAdapter::Fds>()};
        for (std::size_t i = 0; i < servers.size(); ++i) a.fds->free.push_back(servers.client(i));
        return a;
    }
    static respool::PoolOptions options(std::size_t size, std::chrono::microseconds fairness_window)
    {
        respool::PoolOptions o;  // defaults, but for the size and the window under test
        o.name = "bench";
        o.max_size = size;
        o.fairness_window = fairness_window;
        return o;
    }
    respool::Pool<EchoAdapter> pool_;
};

/// A baseline's item (an fd), given back on destruction like a lease.
template <class P>
class Borrowed {
public:
    explicit Borrowed(P& pool) : pool_(pool), item_(pool.acquire()) {}
    ~Borrowed() { pool_.release(item_); }
    Borrowed(const Borrowed&) = delete;
    int& get() const { return *item_; }

private:
    P& pool_;
    int* item_;
};

template <class P>
class BaselineSubject {
public:
    explicit BaselineSubject(const bench::EchoServers& servers) : pool_(servers.size())
    {
        std::vector<int*> items;  // every item once, to write its fd in
        for (std::size_t i = 0; i < servers.size(); ++i) items.push_back(pool_.acquire());
        for (std::size_t i = 0; i < items.size(); ++i) *items[i] = servers.client(i);
        for (int* item : items) pool_.release(item);
    }
    Borrowed<P> acquire(int) { return Borrowed<P>(pool_); }

private:
    P pool_;
};

/// No pool: thread t owns resource t.
class DirectSubject {
public:
    struct Own {
        int& fd;
        int& get() const { return fd; }
    };
    explicit DirectSubject(const bench::EchoServers& servers)
    {
        for (std::size_t i = 0; i < servers.size(); ++i) fds_.push_back(servers.client(i));
    }
    Own acquire(int thread) { return Own{fds_.at(static_cast<std::size_t>(thread))}; }

private:
    std::vector<int> fds_;
};

// --- one run -------------------------------------------------------------------

enum class Hold { echo, none };
const char* name(Hold h) { return h == Hold::echo ? "echo" : "none"; }

struct Usage {
    double cpu_s = 0;
    std::int64_t voluntary = 0, involuntary = 0;
};

Usage usage(int who)
{
    rusage r{};
    if (::getrusage(who, &r) != 0) die("getrusage");
    auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return {sec(r.ru_utime) + sec(r.ru_stime), r.ru_nvcsw, r.ru_nivcsw};
}

struct Sample {
    double ops_per_s = 0;
    double client_cpu_us = 0;   // per op, client threads only
    double client_cpu_min_us = 0;  // in a summary: the lowest round's (load only ever adds to it)
    double process_cpu_us = 0;  // per op, the whole process (adds the echo servers)
    double voluntary = 0;       // client context switches per op
    double involuntary = 0;
    double p50_us = 0, p99_us = 0, max_us = 0;
};

template <class Subject>
Sample run_clients(Subject& subject, int threads, Hold hold, Clock::duration run_for)
{
    struct alignas(64) PerThread {
        std::uint64_t ops = 0;
        Usage used;
        bench::WaitHistogram wait;
    };
    std::atomic<bool> stop{false};
    std::latch start(threads + 1);
    std::vector<PerThread> per_thread(static_cast<std::size_t>(threads));
    std::vector<std::thread> clients;
    for (int t = 0; t < threads; ++t)
        clients.emplace_back([&, t] {
            PerThread& mine = per_thread[static_cast<std::size_t>(t)];
            start.arrive_and_wait();
            const Usage before = usage(RUSAGE_THREAD);
            std::uint64_t ops = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                const auto t0 = Clock::now();
                auto lease = subject.acquire(t);
                mine.wait.record(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
                if (hold == Hold::echo) {
                    bench::round_trip(lease.get());
                } else {
                    ++lease.get();
                    keep(lease.get());
                }
                ++ops;
            }
            const Usage after = usage(RUSAGE_THREAD);
            mine.ops = ops;
            mine.used = {after.cpu_s - before.cpu_s, after.voluntary - before.voluntary,
                         after.involuntary - before.involuntary};
        });
    start.arrive_and_wait();
    const Usage process_before = usage(RUSAGE_SELF);
    const auto t0 = Clock::now();
    std::this_thread::sleep_for(run_for);
    stop.store(true);
    for (auto& c : clients) c.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const Usage process_after = usage(RUSAGE_SELF);

    std::uint64_t ops = 0;
    Usage client;
    bench::WaitHistogram wait;
    for (const PerThread& p : per_thread) {
        ops += p.ops;
        client.cpu_s += p.used.cpu_s;
        client.voluntary += p.used.voluntary;
        client.involuntary += p.used.involuntary;
        wait.merge(p.wait);
    }
    const double n = static_cast<double>(std::max<std::uint64_t>(ops, 1));
    return Sample{.ops_per_s = static_cast<double>(ops) / seconds,
                  .client_cpu_us = client.cpu_s * 1e6 / n,
                  .process_cpu_us = (process_after.cpu_s - process_before.cpu_s) * 1e6 / n,
                  .voluntary = static_cast<double>(client.voluntary) / n,
                  .involuntary = static_cast<double>(client.involuntary) / n,
                  .p50_us = wait.percentile_us(0.50),
                  .p99_us = wait.percentile_us(0.99),
                  .max_us = wait.max_us()};
}

struct Config {
    Hold hold;
    int threads;
    std::size_t resources;
    std::string subject;  // respool, respool_fifo, barging, fifo_handoff, direct (runs `resources` threads)
};

std::string config_name(const Config& c)
{
    return fmt::format("{}/t{}_r{}/{}", name(c.hold), c.threads, c.resources, c.subject);
}

Sample run_config(const Config& c, const bench::EchoServers& servers, Clock::duration run_for)
{
    if (c.subject == "respool" || c.subject == "respool_fifo") {
        RespoolSubject s(servers, c.subject == "respool" ? 1000us : 0us);
        return run_clients(s, c.threads, c.hold, run_for);
    }
    if (c.subject == "barging") {
        BaselineSubject<bench::BargingPool> s(servers);
        return run_clients(s, c.threads, c.hold, run_for);
    }
    if (c.subject == "fifo_handoff") {
        BaselineSubject<bench::FifoHandoffPool> s(servers);
        return run_clients(s, c.threads, c.hold, run_for);
    }
    DirectSubject s(servers);
    return run_clients(s, static_cast<int>(c.resources), c.hold, run_for);  // one thread per resource
}

std::vector<Config> configs(const std::vector<std::string>& subjects)
{
    std::vector<Config> out;
    for (auto [threads, resources] : {std::pair{4, std::size_t{4}}, std::pair{16, std::size_t{4}},
                                      std::pair{64, std::size_t{4}}, std::pair{64, std::size_t{8}}}) {
        out.push_back({Hold::echo, threads, resources, "direct"});  // the shape's reference, next to it
        for (const std::string& s : subjects) out.push_back({Hold::echo, threads, resources, s});
    }
    for (auto [threads, resources] : {std::pair{16, std::size_t{4}}, std::pair{64, std::size_t{8}}})
        for (const std::string& s : subjects) out.push_back({Hold::none, threads, resources, s});
    return out;
}

// --- summary -------------------------------------------------------------------

double median(std::vector<double> v)
{
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

Sample median(const std::vector<Sample>& list)
{
    auto pick = [&](double Sample::*field) {
        std::vector<double> v;
        for (const Sample& s : list) v.push_back(s.*field);
        return median(v);
    };
    Sample m{.ops_per_s = pick(&Sample::ops_per_s),
             .client_cpu_us = pick(&Sample::client_cpu_us),
             .client_cpu_min_us = 0,
             .process_cpu_us = pick(&Sample::process_cpu_us),
             .voluntary = pick(&Sample::voluntary),
             .involuntary = pick(&Sample::involuntary),
             .p50_us = pick(&Sample::p50_us),
             .p99_us = pick(&Sample::p99_us),
             .max_us = pick(&Sample::max_us)};
    m.client_cpu_min_us = m.client_cpu_us;
    for (const Sample& s : list) m.client_cpu_min_us = std::min(m.client_cpu_min_us, s.client_cpu_us);
    return m;
}

class Summary {
public:
    Summary(const std::vector<Config>& order, const std::map<std::string, std::vector<Sample>>& samples)
    {
        for (const Config& c : order) {
            const std::string n = config_name(c);
            if (const auto it = samples.find(n); it != samples.end())
                rows_.push_back({c, n, median(it->second), it->second});
        }
    }

    void print_table() const
    {
        std::printf("\n== summary: median of rounds ==\n");
        std::printf("cli = client threads' CPU per op, us (median, and lowest round); all = the whole process's "
                    "(adds the echo servers); vcsw/ivcsw = client context switches per op, voluntary (sleeps) and "
                    "involuntary; waits are acquire's\n");
        std::printf("%-28s %10s %8s %8s %8s %8s %8s %9s %9s %9s\n", "run", "ops/s", "cli", "cli min", "all",
                    "vcsw/op", "ivcsw/op", "p50 us", "p99 us", "max us");
        for (const Row& r : rows_)
            std::printf("%-28s %10.0f %8.2f %8.2f %8.2f %8.3f %8.3f %9.1f %9.1f %9.0f\n", r.name.c_str(),
                        r.s.ops_per_s, r.s.client_cpu_us, r.s.client_cpu_min_us, r.s.process_cpu_us, r.s.voluntary,
                        r.s.involuntary, r.s.p50_us, r.s.p99_us, r.s.max_us);
    }

    void print_ratios() const
    {
        std::printf("\n== ratios, paired by round (medians over the rounds) ==\n");
        std::printf("throughput as %% of the reference's; cli = client CPU per op minus the reference's, us; "
                    "sleeps = client voluntary context switches per op (the pool's waits and the echo's reads) "
                    "minus the reference's\n");
        for (const Row& r : rows_) {
            if (r.c.subject == "direct") continue;
            std::string line = fmt::format("{:<28}", r.name);
            for (const char* ref : {"barging", "fifo_handoff", "direct"}) {
                if (r.c.subject == ref) continue;
                const Row* base = find(r.c.hold, r.c.threads, r.c.resources, ref);
                if (!base) continue;
                const Paired p = paired(r, *base);
                line += fmt::format("  vs {}: {:.0f}% cli {:+.2f} sleeps {:+.2f}", ref, 100 * p.throughput,
                                    p.cpu_us, p.sleeps);
            }
            std::printf("%s\n", line.c_str());
        }
    }

    void print_bars() const
    {
        auto verdict = [](bool ok) { return ok ? "meets" : "MISSES"; };
        std::printf("\n== issue 14's bars ==\n");
        using Shape = std::tuple<int, std::size_t, double>;  // threads, resources, bar
        for (auto [threads, resources, bar] : {Shape{16, 4, 0.8}, Shape{64, 8, 0.6}}) {
            const Row* mine = find(Hold::none, threads, resources, "respool");
            const Row* base = find(Hold::none, threads, resources, "barging");
            if (!mine || !base) continue;
            const double tput = paired(*mine, *base).throughput;
            std::printf("no hold %d/%zu: respool at %.0f%% of barging (bar >= %.0f%%): %s; p99 wait %.1f us (bar: "
                        "bounded by the 1000 us fairness window): %s; max %.0f us\n",
                        threads, resources, 100 * tput, 100 * bar, verdict(tput >= bar), mine->s.p99_us,
                        verdict(mine->s.p99_us <= 1000 * 1.1), mine->s.max_us);
        }
        // bench_pg's bars, read on the echo instead of PostgreSQL: `direct`
        // (R threads) plays pgbench at R connections and the dedicated
        // connections (its client CPU per op is the round trip's alone).
        for (auto [threads, resources, bar] : {Shape{16, 4, 0.95}, Shape{64, 4, 0.9}, Shape{64, 8, 0.9}}) {
            const Row* mine = find(Hold::echo, threads, resources, "respool");
            const Row* ref = find(Hold::echo, threads, resources, "direct");
            if (!mine || !ref) continue;
            const Paired p = paired(*mine, *ref);
            const double tput = p.throughput;
            const double extra = p.cpu_us;
            const double extra_min = mine->s.client_cpu_min_us - ref->s.client_cpu_min_us;
            std::printf("echo %d/%zu (bench_pg's bars read on the echo): respool at %.0f%% of direct at %zu (bar >= "
                        "%.0f%%): %s; client CPU over direct %+.2f us/op paired median, %+.2f lowest rounds (bar <= "
                        "+2 us): %s; %+.2f sleeps/op over direct; p99 wait %.0f us\n",
                        threads, resources, 100 * tput, resources, 100 * bar, verdict(tput >= bar), extra, extra_min,
                        verdict(std::max(extra, extra_min) <= 2.0), p.sleeps, mine->s.p99_us);
        }
    }

    std::string csv() const
    {
        std::string out = "hold,threads,resources,subject,ops_per_s,client_cpu_us_per_op,client_cpu_min_us_per_op,"
                          "process_cpu_us_per_op,"
                          "voluntary_cs_per_op,involuntary_cs_per_op,p50_wait_us,p99_wait_us,max_wait_us\n";
        for (const Row& r : rows_)
            out += fmt::format("{},{},{},{},{:.0f},{:.3f},{:.3f},{:.3f},{:.4f},{:.4f},{:.1f},{:.1f},{:.0f}\n",
                               name(r.c.hold), r.c.threads, r.c.resources, r.c.subject, r.s.ops_per_s,
                               r.s.client_cpu_us, r.s.client_cpu_min_us, r.s.process_cpu_us, r.s.voluntary,
                               r.s.involuntary, r.s.p50_us, r.s.p99_us,
                               r.s.max_us);
        return out;
    }

private:
    struct Row {
        Config c;
        std::string name;
        Sample s;                    // medians
        std::vector<Sample> rounds;  // in round order
    };
    /// Within each round, mine against the reference run next to it; the
    /// median over the rounds of the throughput ratio and of the differences.
    struct Paired {
        double throughput = 0;  // mine / reference
        double cpu_us = 0;      // client CPU per op, mine - reference
        double sleeps = 0;      // client voluntary context switches per op, mine - reference
    };
    static Paired paired(const Row& mine, const Row& ref)
    {
        std::vector<double> tput, cpu, sleeps;
        for (std::size_t i = 0; i < std::min(mine.rounds.size(), ref.rounds.size()); ++i) {
            const Sample& m = mine.rounds[i];
            const Sample& r = ref.rounds[i];
            if (r.ops_per_s > 0) tput.push_back(m.ops_per_s / r.ops_per_s);
            cpu.push_back(m.client_cpu_us - r.client_cpu_us);
            sleeps.push_back(Summary::sleeps(m) - Summary::sleeps(r));
        }
        return {median(tput), median(cpu), median(sleeps)};
    }
    // Sleeps, not all switches: the involuntary ones are preemptions, which
    // the machine's load decides (they varied 4x between rounds here, the
    // voluntary ones by a few per cent).
    static double sleeps(const Sample& s) { return s.voluntary; }
    const Row* find(Hold hold, int threads, std::size_t resources, const std::string& subject) const
    {
        for (const Row& r : rows_)
            if (r.c.hold == hold && r.c.threads == threads && r.c.resources == resources && r.c.subject == subject)
                return &r;
        return nullptr;
    }

    std::vector<Row> rows_;
};

void print_load(const char* when)
{
    double load[3] = {};
    if (::getloadavg(load, 3) == 3) std::printf("load average %s: %.2f %.2f %.2f\n", when, load[0], load[1], load[2]);
}

} // namespace

int main(int argc, char** argv)
{
    int rounds = 7, run_ms = 500;
    std::vector<std::string> subjects{"respool", "barging", "fifo_handoff"};
    std::string csv_path;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a.starts_with("--rounds=")) rounds = std::max(1, std::atoi(a.c_str() + 9));
        else if (a.starts_with("--run_ms=")) run_ms = std::max(10, std::atoi(a.c_str() + 9));
        else if (a.starts_with("--csv=")) csv_path = a.substr(6);
        else if (a.starts_with("--subjects=")) {
            subjects.clear();
            for (std::size_t at = 11; at < a.size();) {
                const std::size_t comma = std::min(a.find(',', at), a.size());
                subjects.push_back(a.substr(at, comma - at));
                at = comma + 1;
            }
            for (const std::string& s : subjects)
                if (s != "respool" && s != "respool_fifo" && s != "barging" && s != "fifo_handoff") {
                    std::fprintf(stderr, "unknown subject %s (respool, respool_fifo, barging, fifo_handoff)\n",
                                 s.c_str());
                    return 2;
                }
        } else {
            std::fprintf(stderr,
                         "usage: bench_oversubscribed [--rounds=N] [--run_ms=N] [--subjects=a,b,...] [--csv=FILE]\n");
            return 2;
        }
    }

    std::printf("bench_oversubscribed: %d rounds of %d ms per run, %u hardware threads\n", rounds, run_ms,
                std::thread::hardware_concurrency());
    print_load("at the start");
    std::map<std::size_t, std::unique_ptr<bench::EchoServers>> servers;
    const std::vector<Config> order = configs(subjects);
    for (const Config& c : order)
        if (!servers.contains(c.resources)) servers.emplace(c.resources, std::make_unique<bench::EchoServers>(c.resources));

    std::map<std::string, std::vector<Sample>> samples;
    for (int round = 1; round <= rounds; ++round)
        for (const Config& c : order) {
            const Sample s = run_config(c, *servers.at(c.resources), std::chrono::milliseconds(run_ms));
            samples[config_name(c)].push_back(s);
            std::fprintf(stderr,
                         "round %d %-28s %10.0f ops/s  cli %6.2f us/op  cs %.3f+%.3f/op  p99 %.1f us  max %.0f us\n",
                         round, config_name(c).c_str(), s.ops_per_s, s.client_cpu_us, s.voluntary, s.involuntary,
                         s.p99_us, s.max_us);
        }

    const Summary summary(order, samples);
    summary.print_table();
    summary.print_ratios();
    summary.print_bars();
    const std::string csv = summary.csv();
    std::printf("\n== summary CSV ==\n%s", csv.c_str());
    print_load("at the end");
    if (!csv_path.empty()) {
        std::ofstream f(csv_path);
        f << csv;
        if (!f) std::fprintf(stderr, "could not write %s\n", csv_path.c_str());
    }
    return 0;
}
