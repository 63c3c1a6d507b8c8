// respool-demo — one command that shows what respool is for, against real servers.
//
//   build/examples/respool-demo                  # about 35 s: three pools, outages, a leak
//   build/examples/respool-demo --duration 12 --json > summary.json
//   build/examples/respool-demo --metrics-port 9464   # and point Prometheus at it
//   build/examples/respool-demo --help
//
// Starts a throwaway PostgreSQL cluster, a gRPC echo server (examples/echo)
// and a TLS echo server on loopback (the cluster and the TLS server come from
// the project's internal local servers, local_servers/), puts a respool pool in front of each and
// drives load through them from worker threads. Every second it shows each
// pool's throughput, acquire waits, gauges and errors by type. Midway every
// server fails and the pools notice, fail fast and recover by themselves;
// then a leak is planted and the pool names the line. It ends with a summary,
// each pool's Prometheus text and an SVG chart (in the build directory).
// With --metrics-port the pools are also served on /metrics while it runs.
// Every figure is measured.
//
// The pieces live in examples/demo/, one job per file: cli (flags), *_target
// (a server and its pool), load (workers), scenario (the run), live_view,
// report and json_summary (the end), svg_chart.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "demo/cli.hpp"
#include "demo/event_log.hpp"
#include "demo/live_view.hpp"
#include "demo/metrics_endpoint.hpp"
#include "demo/report.hpp"
#include "demo/scenario.hpp"
#include "demo/svg_chart.hpp"
#include "demo/targets.hpp"

namespace {

using Clock = std::chrono::steady_clock;

bool is_terminal(std::FILE* out)
{
    const char* term = std::getenv("TERM");
    return ::isatty(::fileno(out)) == 1 && !(term && std::string(term) == "dumb");
}

// Starts every requested server and its pool at once (PostgreSQL's initdb
// takes seconds; the others need not wait for it). Failures become `skipped`.
std::vector<std::unique_ptr<demo::Target>> start_targets(const demo::DemoConfig& config,
                                                         const std::shared_ptr<demo::EventLog>& log,
                                                         demo::LiveView& view, std::vector<demo::Skipped>& skipped)
{
    const bool own_pg = config.dsn.empty() &&
                        std::find(config.pools.begin(), config.pools.end(), demo::PoolKind::pg) != config.pools.end();
    view.print(own_pg ? "starting servers on loopback (PostgreSQL runs initdb: a few seconds) ...\n"
                      : "starting servers ...\n");
    std::vector<std::future<std::unique_ptr<demo::Target>>> starting;
    for (demo::PoolKind kind : config.pools)
        starting.push_back(std::async(std::launch::async, [&config, &log, kind] {
            return demo::make_target(kind, config, log);
        }));
    std::vector<std::unique_ptr<demo::Target>> targets;
    for (std::size_t i = 0; i < starting.size(); ++i) {
        const std::string name(demo::to_string(config.pools[i]));
        try {
            targets.push_back(starting[i].get());
            view.print(fmt::format("  {:<5} {}\n", name, targets.back()->server()));
        } catch (const std::exception& e) {  // StartError, or anything a pool's constructor threw
            skipped.push_back({name, e.what()});
            view.print(fmt::format("  {:<5} NOT STARTED: {}\n", name, e.what()));
        }
    }
    return targets;
}

std::string intro(const demo::DemoConfig& config, const std::vector<std::unique_ptr<demo::Target>>& targets)
{
    const demo::Schedule s = demo::make_schedule(config.duration, config.faults);
    std::string text = fmt::format(
        "\n{} pool(s) of at most {} connections, {} worker threads each, for {} s.\n"
        "A worker repeats: acquire (timeout {} ms), one request, give back.\n",
        targets.size(), config.pool_size, config.threads, config.duration.count(), demo::acquire_timeout.count());
    for (const auto& t : targets) text += fmt::format("  {:<5} request: {}\n", t->name(), t->work());
    if (config.faults)
        text += fmt::format("At {:.1f} s every server fails for {:.1f} s:\n", s.fault_begin, s.fault_end - s.fault_begin);
    for (const auto& t : targets)
        if (config.faults) text += fmt::format("  {:<5} {}\n", t->name(), t->fault());
    text += fmt::format("At {:.1f} s a lease is taken from '{}' and never given back (the leak).\n\n", s.leak_at,
                        targets.front()->name());
    return text;
}

// Everything after the run: Prometheus text, summary, chart, verdicts. Returns the exit status.
int report(const demo::RunResult& run, const demo::DemoConfig& config, const std::vector<demo::Skipped>& skipped,
           demo::LiveView& view)
{
    const demo::Checks checks = demo::check(run, skipped);
    view.print("\nPROMETHEUS: what a /metrics endpoint would serve for each pool\n\n" + demo::prometheus_text(run));
    view.print(demo::summary_table(run, checks, config));
    std::string svg_path = config.svg_path;
    if (!svg_path.empty()) {
        try {
            demo::write_svg_chart(run.timeline, "respool-demo: three pools through an outage", svg_path);
            view.print(fmt::format("\nchart: {}\n", svg_path));
        } catch (const std::exception& e) {
            view.print(fmt::format("\nno chart: {}\n", e.what()));
            svg_path.clear();
        }
    }
    for (const auto& s : skipped) view.print(fmt::format("skipped {}: {}\n", s.pool, s.reason));
    if (!checks.all_ok) view.print("\nresult: NOT everything went as it should; see the checks above.\n");
    else if (config.faults) view.print("\nresult: every pool rode out its outage and recovered; the leak was named.\n");
    else view.print("\nresult: every pool served; the leak was named.\n");
    if (config.json) std::fputs(demo::json_summary(run, checks, config, skipped, svg_path).c_str(), stdout);
    return checks.all_ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    demo::DemoConfig config;
    try {
        config = demo::parse_args(argc, argv);
    } catch (const demo::CliError& e) {
        std::fprintf(stderr, "respool-demo: %s\n", e.what());
        return 2;
    }
    if (config.help) {
        std::fputs(demo::usage().c_str(), stdout);
        return 0;
    }
    // With --json, stdout carries the JSON document alone.
    std::FILE* out = config.json ? stderr : stdout;
    demo::LiveView view(out, is_terminal(out));
    auto log = std::make_shared<demo::EventLog>(Clock::now());
    std::vector<demo::Skipped> skipped;
    auto targets = start_targets(config, log, view, skipped);
    if (targets.empty()) {
        view.print("respool-demo: no server could start, so there is nothing to show.\n");
        if (config.json) std::fputs(demo::json_summary({}, demo::check({}, skipped), config, skipped, "").c_str(), stdout);
        return 2;
    }
    view.print(intro(config, targets));

    std::vector<demo::Target*> raw;
    for (const auto& t : targets) raw.push_back(t.get());
    std::unique_ptr<demo::MetricsEndpoint> metrics;  // destroyed before the targets
    if (config.metrics_port) {
        try {
            metrics = std::make_unique<demo::MetricsEndpoint>(*config.metrics_port, raw);
            view.print(fmt::format("metrics: {} (OpenTelemetry names: {}/otel)\n\n", metrics->url(), metrics->url()));
        } catch (const std::exception& e) {
            view.print(fmt::format("respool-demo: --metrics-port: {}\n", e.what()));
            return 2;
        }
    }
    const auto start = Clock::now();
    log->set_start(start);
    demo::RunResult run = demo::Scenario(raw, config, *log, view, start).run();
    const int status = report(run, config, skipped, view);
    for (const auto& t : targets) t->close();  // gives the planted lease back first
    return status;
}
