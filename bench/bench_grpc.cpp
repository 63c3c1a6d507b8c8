// bench_grpc — unary Echo calls from 16 threads, four ways of getting a channel:
//
//   one_channel   one shared ::grpc::Channel (one connection)
//   pool          respool::Pool<grpc::Adapter>, 4 channels, cap 4 calls each
//   by_hand       the same 4 channels (made by the adapter), chosen round robin
//   per_call      a new ::grpc::Channel for every call (grpc's defaults: it
//                 may reuse the connection of a channel still alive)
//   per_call_conn a new channel with a connection of its own for every call
//
// against two in-process servers: "open" (no stream limit, the call returns
// at once: the cost of choosing a channel shows) and "capped"
// (MAX_CONCURRENT_STREAMS 4, each call held 2 ms: what one connection can
// carry shows). Every variant makes a stub per call, as make_stub does.
// Runs alternate between variants and repeat; the median run counts. Also
// measured: the pool alone (acquire + release without a call), its own cost.
//
//   build/bench/bench_grpc [seconds per run = 2] [repetitions = 3] [out.csv]
//
// Prints a table; writes CSV (to the file, or after the table).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <respool/grpc.hpp>
#include <respool/pool.hpp>

#include "echo.grpc.pb.h"
#include "local_servers/grpc_echo_server.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using ChannelPool = respool::Pool<respool::grpc::Adapter>;

namespace {

constexpr int threads = 16;
constexpr std::size_t channels = 4;
constexpr std::size_t cap = 4;

struct Server {
    std::string name;
    int max_streams;
    int sleep_ms;
};

struct Result {
    std::string server, variant;
    int run = 0;
    double calls_per_s = 0;
    double p50_us = 0, p99_us = 0;
    std::uint64_t errors = 0;
    std::size_t connections = 0;
};

/// Gives each call a channel and takes it back; one per variant.
using CallFn = std::function<bool(const respool::test::EchoRequest&)>;

bool say(const std::shared_ptr<::grpc::Channel>& channel, const respool::test::EchoRequest& request)
{
    auto stub = respool::test::Echo::NewStub(channel);
    ::grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    respool::test::EchoReply reply;
    return stub->Say(&ctx, request, &reply).ok();
}

double percentile_us(std::vector<Clock::duration>& v, double p)
{
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(p * double(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
    return std::chrono::duration<double, std::micro>(v[k]).count();
}

Result measure(const CallFn& call, const Server& server, std::chrono::duration<double> length)
{
    respool::test::EchoRequest request;
    request.set_message("bench");
    request.set_sleep_ms(server.sleep_ms);
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> errors{0};
    std::vector<std::vector<Clock::duration>> latencies(threads);
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            latencies[std::size_t(t)].reserve(1 << 16);
            while (!stop.load(std::memory_order_relaxed)) {
                const auto start = Clock::now();
                if (!call(request)) ++errors;
                latencies[std::size_t(t)].push_back(Clock::now() - start);
            }
        });
    }
    std::this_thread::sleep_for(length);
    stop = true;
    workers.clear();
    std::vector<Clock::duration> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    Result r;
    r.calls_per_s = double(all.size()) / length.count();
    r.p50_us = percentile_us(all, 0.50);
    r.p99_us = percentile_us(all, 0.99);
    r.errors = errors;
    return r;
}

// The pool's own cost: 16 threads taking and giving back leases, no call.
double pool_only_pairs_per_s(ChannelPool& pool, std::chrono::duration<double> length)
{
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> pairs{0};
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            std::uint64_t n = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                auto lease = pool.acquire();
                ++n;
            }
            pairs += n;
        });
    }
    std::this_thread::sleep_for(length);
    stop = true;
    workers.clear();
    return double(pairs) / length.count();
}

double median_of(std::vector<Result> runs)
{
    std::sort(runs.begin(), runs.end(),
              [](const Result& a, const Result& b) { return a.calls_per_s < b.calls_per_s; });
    return runs[runs.size() / 2].calls_per_s;
}

} // namespace

int main(int argc, char** argv)
{
    const std::chrono::duration<double> length{argc > 1 ? std::atof(argv[1]) : 2.0};
    const int repetitions = argc > 2 ? std::atoi(argv[2]) : 3;
    const char* csv_path = argc > 3 ? argv[3] : nullptr;

    const std::vector<Server> servers{{"open", 0, 0}, {"capped", 4, 2}};
    const std::vector<std::string> variants{"one_channel", "pool", "by_hand", "per_call",
                                            "per_call_conn"};
    std::vector<Result> results;
    double pool_cost = 0;  // acquire+release pairs per second, no call

    for (const auto& server_spec : servers) {
        respool::test::GrpcEchoServer server{{.max_concurrent_streams = server_spec.max_streams}};
        const std::string target = server.address();

        respool::grpc::Options copts;
        copts.target = target;
        copts.insecure = true;
        copts.max_calls_per_channel = cap;
        respool::PoolOptions popts;
        popts.max_size = channels;
        popts.max_concurrent_creates = channels;
        ChannelPool pool{respool::grpc::Adapter{copts}, popts};

        respool::grpc::Adapter adapter{copts};
        std::vector<respool::grpc::Channel> by_hand;
        for (std::size_t i = 0; i < channels; ++i) by_hand.push_back(adapter.create(respool::deadline_after(5s)));
        std::atomic<std::size_t> next{0};

        auto one = ::grpc::CreateChannel(target, ::grpc::InsecureChannelCredentials());
        const std::vector<CallFn> calls{
            [&](const auto& rq) { return say(one, rq); },
            [&](const auto& rq) {
                auto lease = pool.acquire();
                return say(lease->channel(), rq);
            },
            [&](const auto& rq) {
                return say(by_hand[next.fetch_add(1, std::memory_order_relaxed) % channels].channel(), rq);
            },
            [&](const auto& rq) {
                return say(::grpc::CreateChannel(target, ::grpc::InsecureChannelCredentials()), rq);
            },
            [&](const auto& rq) {
                ::grpc::ChannelArguments args;
                args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
                return say(::grpc::CreateCustomChannel(target, ::grpc::InsecureChannelCredentials(), args), rq);
            },
        };

        measure(calls[1], server_spec, 0.5s);  // warm up: the pool's channels exist
        if (server_spec.max_streams == 0) pool_cost = pool_only_pairs_per_s(pool, length);
        for (int run = 0; run < repetitions; ++run) {
            for (std::size_t v = 0; v < variants.size(); ++v) {
                server.reset_counters();
                Result r = measure(calls[v], server_spec, length);
                r.server = server_spec.name;
                r.variant = variants[v];
                r.run = run;
                r.connections = server.stats().distinct_peers;
                results.push_back(r);
            }
        }
    }

    std::printf("%-7s %-12s %4s %12s %10s %10s %7s %12s\n", "server", "variant", "run", "calls/s",
                "p50 us", "p99 us", "errors", "connections");
    for (const auto& r : results) {
        std::printf("%-7s %-12s %4d %12.0f %10.1f %10.1f %7llu %12zu\n", r.server.c_str(),
                    r.variant.c_str(), r.run, r.calls_per_s, r.p50_us, r.p99_us,
                    static_cast<unsigned long long>(r.errors), r.connections);
    }
    std::puts("\nmedian calls/s, and ratios:");
    for (const auto& s : servers) {
        auto median = [&](const std::string& variant) {
            std::vector<Result> runs;
            for (const auto& r : results) {
                if (r.server == s.name && r.variant == variant) runs.push_back(r);
            }
            return median_of(runs);
        };
        const double one = median("one_channel"), pool = median("pool"), hand = median("by_hand"),
                     per_call = median("per_call"), per_conn = median("per_call_conn");
        std::printf("%-7s one_channel %.0f  pool %.0f  by_hand %.0f  per_call %.0f  per_call_conn %.0f\n"
                    "        pool/by_hand %.3f  pool/one_channel %.2f  pool/per_call %.1f  "
                    "pool/per_call_conn %.1f\n",
                    s.name.c_str(), one, pool, hand, per_call, per_conn, pool / hand, pool / one,
                    pool / per_call, pool / per_conn);
        // Rounds run the variants back to back, so a ratio within a round
        // suffers less from the machine's drifting load than medians do.
        std::vector<double> paired;
        for (int run = 0; run < repetitions; ++run) {
            double p = 0, h = 0;
            for (const auto& r : results) {
                if (r.server != s.name || r.run != run) continue;
                if (r.variant == "pool") p = r.calls_per_s;
                if (r.variant == "by_hand") h = r.calls_per_s;
            }
            if (h > 0) paired.push_back(p / h);
        }
        std::sort(paired.begin(), paired.end());
        std::printf("        pool/by_hand per round: median %.3f, min %.3f, max %.3f\n",
                    paired[paired.size() / 2], paired.front(), paired.back());
    }

    const double cores = std::thread::hardware_concurrency();
    std::printf("pool alone (acquire + release, no call, %d threads): %.0f pairs/s, %.2f us of CPU "
                "each on %.0f cores\n",
                threads, pool_cost, cores / pool_cost * 1e6, cores);

    std::string csv = "server,variant,run,calls_per_s,p50_us,p99_us,errors,connections\n";
    for (const auto& r : results) {
        csv += fmt::format("{},{},{},{:.0f},{:.1f},{:.1f},{},{}\n", r.server, r.variant, r.run,
                           r.calls_per_s, r.p50_us, r.p99_us, r.errors, r.connections);
    }
    if (csv_path) {
        std::ofstream{csv_path} << csv;
    } else {
        std::printf("\n%s", csv.c_str());
    }
}
