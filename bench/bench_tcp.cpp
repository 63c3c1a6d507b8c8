// 64-byte echo round trips from 8 threads against a loopback echo server,
// three ways, over plain TCP and over TLS:
//   pool       — each round trip borrows a connection from respool::Pool (max 8)
//   dedicated  — each worker owns one connection for the whole run (the limit)
//   connect    — each round trip connects (and handshakes), then closes
// Prints a table, then CSV, then the bars: the pool within 5 % of
// dedicated sockets; at least 3× (plain) and 10× (TLS) the connect rate.
//
//   build/bench/bench_tcp [seconds per round = 1] [rounds = 5]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include <respool/pool.hpp>
#include <respool/tcp.hpp>

#include "local_servers/echo_server.hpp"
#include "local_servers/test_pki.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int workers = 8;
const std::string message(63, 'm');  // + "\n" = 64 bytes each way

struct Result {
    std::string mode;
    bool tls;
    double ops_per_s;
    double cpu_us;  // process CPU time (client and server) per round trip
    double p50_us;
    double p99_us;
    long errors;
};

/// User + system CPU time this process has used, in µs.
double process_cpu_us()
{
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
    return us(ru.ru_utime) + us(ru.ru_stime);
}

void echo(respool::tcp::Socket& s)
{
    auto d = respool::deadline_after(5s);
    s.write_line(message, d);
    if (s.read_line(d).size() != message.size()) throw std::runtime_error("short echo");
}

/// What the rounds of one mode produced.
struct Samples {
    std::vector<double> rates;      // round trips per second, one per round
    std::vector<double> latencies;  // µs, every round trip
    double cpu_us = 0;              // CPU time over all rounds
    long errors = 0;
};

/// Runs `op(worker)` on 8 threads for `duration` and adds to `out`.
void measure(Samples& out, Clock::duration duration, const std::function<void(int)>& op)
{
    std::vector<std::vector<double>> lat(workers);
    std::atomic<long> errors{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    auto start = Clock::now();
    double cpu_start = process_cpu_us();
    for (int w = 0; w < workers; ++w) {
        threads.emplace_back([&, w] {
            lat[w].reserve(100000);
            while (!stop.load(std::memory_order_relaxed)) {
                auto t0 = Clock::now();
                try {
                    op(w);
                } catch (const std::exception& e) {
                    if (errors++ == 0) std::fprintf(stderr, "error: %s\n", e.what());
                    continue;
                }
                lat[w].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
            }
        });
    }
    std::this_thread::sleep_for(duration);
    stop = true;
    for (auto& t : threads) t.join();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    out.cpu_us += process_cpu_us() - cpu_start;
    std::size_t n = 0;
    for (auto& v : lat) {
        n += v.size();
        out.latencies.insert(out.latencies.end(), v.begin(), v.end());
    }
    out.rates.push_back(static_cast<double>(n) / secs);
    out.errors += errors;
}

Result summarise(const std::string& mode, bool tls, Samples& s)
{
    std::sort(s.rates.begin(), s.rates.end());
    std::sort(s.latencies.begin(), s.latencies.end());
    auto pct = [](const std::vector<double>& v, double p) {
        return v.empty() ? 0.0 : v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
    };
    double cpu_per_op = s.latencies.empty() ? 0.0 : s.cpu_us / static_cast<double>(s.latencies.size());
    return {mode, tls, pct(s.rates, 0.5), cpu_per_op, pct(s.latencies, 0.50), pct(s.latencies, 0.99), s.errors};
}

/// One transport: the three modes interleaved over `rounds` rounds, in a
/// rotating order (so load from other processes, and the aftermath of the
/// connect mode, hit each mode alike); per mode, the median rate of the
/// rounds and the latency percentiles of all round trips.
std::vector<Result> run_transport(bool tls, Clock::duration per_round, int rounds,
                                  const respool::test::TestPki& pki)
{
    respool::test::EchoServerOptions so;
    if (tls) {
        so.tls = true;
        so.cert_file = pki.server_cert;
        so.key_file = pki.server_key;
    }
    respool::test::EchoServer server(so);
    respool::tcp::Options o;
    o.host = "127.0.0.1";
    o.port = server.port();
    if (tls) o.tls = respool::tcp::TlsOptions{.ca_file = pki.ca_cert};
    respool::tcp::Adapter adapter(o);

    respool::PoolOptions po;
    po.name = "bench";
    po.max_size = workers;
    respool::Pool pool{respool::tcp::Adapter{o}, po};
    std::vector<respool::tcp::Socket> own;
    for (int w = 0; w < workers; ++w) own.push_back(adapter.create(respool::deadline_after(5s)));

    const std::vector<std::pair<std::string, std::function<void(int)>>> modes = {
        {"pool", [&](int) {
             auto lease = pool.acquire();
             echo(*lease);
         }},
        {"dedicated", [&](int w) { echo(own[static_cast<std::size_t>(w)]); }},
        {"connect", [&](int) {
             auto s = adapter.create(respool::deadline_after(5s));
             echo(s);
         }},
    };
    std::vector<Samples> samples(modes.size());
    // Each round starts one mode later: the mode after "connect" runs while
    // thousands of closed sockets are being torn down, and no mode may always
    // be the one that pays for that.
    for (int r = 0; r < rounds; ++r)
        for (std::size_t i = 0; i < modes.size(); ++i) {
            std::size_t m = (i + static_cast<std::size_t>(r)) % modes.size();
            measure(samples[m], per_round, modes[m].second);
        }

    std::vector<Result> out;
    for (std::size_t m = 0; m < modes.size(); ++m) out.push_back(summarise(modes[m].first, tls, samples[m]));
    // Where the pool's time goes: waiting in acquire, if anywhere.
    auto st = pool.stats();
    std::printf("%s pool: %llu connections made, %llu leases; acquire wait p50 %.1f us, p99 %.1f us, max %.1f us\n",
                tls ? "tls" : "plain", static_cast<unsigned long long>(st.created),
                static_cast<unsigned long long>(st.acquired), st.acquire_wait.p50.count() / 1e3,
                st.acquire_wait.p99.count() / 1e3, st.acquire_wait.max.count() / 1e3);
    return out;
}

const Result& find(const std::vector<Result>& rs, const std::string& mode, bool tls)
{
    return *std::find_if(rs.begin(), rs.end(), [&](const Result& r) { return r.mode == mode && r.tls == tls; });
}

} // namespace

int main(int argc, char** argv)
{
    double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
    int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
    auto per_round = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    respool::test::TestPki pki;
    std::vector<Result> results = run_transport(false, per_round, rounds, pki);
    for (auto& r : run_transport(true, per_round, rounds, pki)) results.push_back(r);

    std::printf("\n64-byte echo round trips, %d threads, %d interleaved rounds of %.1f s per mode, "
                "%u hardware threads; rate = median of the rounds\n\n",
                workers, rounds, seconds, std::thread::hardware_concurrency());
    std::printf("%-10s %-10s %13s %12s %10s %10s %7s\n", "transport", "mode", "round trips/s", "cpu us/trip",
                "p50 us", "p99 us", "errors");
    for (auto& r : results)
        std::printf("%-10s %-10s %13.0f %12.2f %10.1f %10.1f %7ld\n", r.tls ? "tls" : "plain", r.mode.c_str(),
                    r.ops_per_s, r.cpu_us, r.p50_us, r.p99_us, r.errors);
    std::printf("\ncsv:\ntransport,mode,ops_per_s,cpu_us_per_trip,p50_us,p99_us,errors\n");
    for (auto& r : results)
        std::printf("%s,%s,%.0f,%.2f,%.1f,%.1f,%ld\n", r.tls ? "tls" : "plain", r.mode.c_str(), r.ops_per_s,
                    r.cpu_us, r.p50_us, r.p99_us, r.errors);

    // Rates swing with whatever else runs on the machine; CPU time per round
    // trip does much less, so the bars are shown on both.
    std::printf("\nbars (by rate | by CPU per round trip):\n");
    for (bool tls : {false, true}) {
        const Result& pool = find(results, "pool", tls);
        const Result& ded = find(results, "dedicated", tls);
        const Result& con = find(results, "connect", tls);
        double need = tls ? 10.0 : 3.0;
        double r1 = pool.ops_per_s / ded.ops_per_s, c1 = ded.cpu_us / pool.cpu_us;
        double r2 = pool.ops_per_s / con.ops_per_s, c2 = con.cpu_us / pool.cpu_us;
        std::printf("%-5s pool vs dedicated: %.3f | %.3f (bar >= 0.95: %s | %s)\n", tls ? "tls" : "plain", r1, c1,
                    r1 >= 0.95 ? "met" : "MISSED", c1 >= 0.95 ? "met" : "MISSED");
        std::printf("%-5s pool vs connect:   %.1fx | %.1fx (bar >= %.0fx: %s | %s)\n", tls ? "tls" : "plain", r2, c2,
                    need, r2 >= need ? "met" : "MISSED", c2 >= need ? "met" : "MISSED");
    }
    return 0;
}
