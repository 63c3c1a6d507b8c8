#include "report.hpp"

#include <respool/prometheus.hpp>

#include <fmt/format.h>

#include "live_view.hpp"

namespace demo {

namespace {

std::string ms(std::chrono::nanoseconds d)
{
    return format_ms(d);
}

std::string requests_table(const RunResult& run)
{
    std::string t = fmt::format("requests, as the workers counted them\n{:<6}{:>10}{:>10}{:>8}{:>9}{:>14}{:>15}{:>16}{:>7}\n",
                                "pool", "attempts", "ok", "ok/s", "timeout", "circuit_open", "create_failed",
                                "request_failed", "other");
    for (const auto& p : run.pools) {
        const Counts& c = p.counts;
        t += fmt::format("{:<6}{:>10}{:>10}{:>8.0f}{:>9}{:>14}{:>15}{:>16}{:>7}\n", p.name, c.attempts, c.ok(),
                         static_cast<double>(c.ok()) / run.elapsed, c[Outcome::timeout], c[Outcome::circuit_open],
                         c[Outcome::create_failed], c[Outcome::request_failed], c[Outcome::other]);
    }
    return t;
}

std::string pools_table(const RunResult& run)
{
    std::string t = fmt::format("the pools' own figures (PoolStats)\n{:<6}{:>10}{:>9}{:>8}{:>11}{:>9}{:>14}   {}\n", "pool",
                                "acquired", "created", "broken", "create_err", "breaker", "fast_failures",
                                "acquire wait p50 / p99 / max");
    for (const auto& p : run.pools) {
        const auto& s = p.stats;
        t += fmt::format("{:<6}{:>10}{:>9}{:>8}{:>11}{:>9}{:>14}   {} / {} / {}\n", p.name, s.acquired, s.created,
                         s.destroyed[respool::DestroyReason::broken], s.create_failures,
                         fmt::format("{}x", s.circuit_opened), s.fast_failures, ms(s.acquire_wait.p50),
                         ms(s.acquire_wait.p99), ms(s.acquire_wait.max));
    }
    return t;
}

std::string faults_table(const RunResult& run, const Checks& checks)
{
    std::string t = fmt::format("faults\n{:<6}{:>9}{:>10}{:>15}{:>16}{:>10}   {}\n", "pool", "began", "ended",
                                "errors during", "first ok after", "ok after", "what");
    for (std::size_t i = 0; i < run.pools.size(); ++i) {
        const auto& p = run.pools[i];
        if (!p.fault) continue;
        const FaultRecord& f = *p.fault;
        const Counts during = f.ended >= 0 ? f.at_end - f.at_begin : Counts{};
        t += fmt::format("{:<6}{:>8.1f}s{:>9}{:>15}{:>16}{:>10}   {}{}\n", p.name, f.began,
                         f.ended >= 0 ? fmt::format("{:.1f}s", f.ended) : "never", during.errors(),
                         f.recovered_after ? fmt::format("{:.2f} s", *f.recovered_after) : "none",
                         checks.pools[i].ok_after_fault, f.what, f.error.empty() ? "" : " - " + f.error);
    }
    return t;
}

std::string verdict(bool ok)
{
    return ok ? "yes" : "NO";
}

} // namespace

Checks check(const RunResult& run, const std::vector<Skipped>& skipped)
{
    Checks c;
    c.all_ok = skipped.empty();
    for (const auto& p : run.pools) {
        PoolCheck pc;
        pc.counts_add_up = p.counts.ok() + p.counts.errors() == p.counts.attempts;
        pc.pool_agrees = p.stats.acquired == p.counts.leased + (p.leak_planted ? 1 : 0);
        if (p.fault) {
            pc.ok_after_fault = p.fault->ended >= 0 ? p.counts.ok() - p.fault->at_end.ok() : 0;
            pc.recovered = p.fault->error.empty() && p.fault->recovered_after && pc.ok_after_fault > 0;
        } else {
            pc.recovered = true;
        }
        c.all_ok = c.all_ok && pc.counts_add_up && pc.pool_agrees && pc.recovered;
        c.pools.push_back(pc);
    }
    c.leak_reported = run.leak.reported.has_value();
    c.all_ok = c.all_ok && c.leak_reported && !run.pools.empty();
    return c;
}

std::string summary_table(const RunResult& run, const Checks& checks, const DemoConfig& config)
{
    std::string t = fmt::format("\nSUMMARY: {:.1f} s of load, {} workers per pool, pool size {}\n\n", run.elapsed,
                                config.threads, config.pool_size);
    for (const auto& p : run.pools) t += fmt::format("  {:<5} {}\n        each request: {}\n", p.name, p.server, p.work);
    t += "\n" + requests_table(run) + "\n" + pools_table(run) + "\n";
    if (config.faults) t += faults_table(run, checks) + "\n";
    if (run.leak.reported)
        t += fmt::format("leak: planted in '{}' at {:.1f} s, reported at {:.1f} s as acquired at {}\n\n", run.leak.pool,
                         run.leak.planted, run.leak.reported->t, run.leak.reported->site);
    else
        t += fmt::format("leak: NOT reported{}\n\n", run.leak.error.empty() ? "" : " (" + run.leak.error + ")");
    for (std::size_t i = 0; i < run.pools.size(); ++i) {
        const auto& c = checks.pools[i];
        t += fmt::format("check {:<5} ok + errors == attempts: {}   pool's acquired == leases the workers got: {}   "
                         "recovered after its fault: {}\n",
                         run.pools[i].name, verdict(c.counts_add_up), verdict(c.pool_agrees),
                         config.faults ? verdict(c.recovered) : "no fault");
    }
    return t;
}

std::string prometheus_text(const RunResult& run)
{
    std::string t;
    for (const auto& p : run.pools)
        t += fmt::format("# ---- pool '{}': respool::to_prometheus(pool.stats()) ----\n{}\n", p.name,
                         respool::to_prometheus(p.stats));
    return t;
}

} // namespace demo
