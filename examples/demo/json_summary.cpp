// The --json document: every figure of the summary, measured, for programs
// such as tests/demo/test_demo.cpp. Times are seconds since the run began.
#include <string_view>
#include <utility>

#include "json_writer.hpp"
#include "report.hpp"

namespace demo {

namespace {

double seconds(std::chrono::nanoseconds d)
{
    return std::chrono::duration<double>(d).count();
}

void write_distribution(JsonWriter& w, std::string_view name, const respool::Distribution& d)
{
    w.key(name);
    w.begin_object();
    w.member("count", d.count);
    w.member("p50", 1000 * seconds(d.p50));
    w.member("p99", 1000 * seconds(d.p99));
    w.member("max", 1000 * seconds(d.max));
    w.end_object();
}

void write_pool_stats(JsonWriter& w, const respool::PoolStats& s)
{
    w.key("pool");
    w.begin_object();
    const std::pair<std::string_view, std::uint64_t> figures[] = {
        {"max_size", s.max_size}, {"total", s.total}, {"idle", s.idle}, {"in_use", s.in_use},
        {"waiting", s.waiting}, {"acquired", s.acquired}, {"created", s.created},
        {"create_failures", s.create_failures}, {"timeouts", s.timeouts}, {"fast_failures", s.fast_failures},
        {"circuit_opened", s.circuit_opened}, {"validations", s.validations},
        {"validation_failures", s.validation_failures}, {"leaks_suspected", s.leaks_suspected}};
    for (const auto& [name, value] : figures)
        w.member(name, value);
    w.key("destroyed");
    w.begin_object();
    for (std::size_t r = 0; r < respool::destroy_reason_count; ++r)
        w.member(respool::to_string(static_cast<respool::DestroyReason>(r)), s.destroyed.by_reason[r]);
    w.end_object();
    write_distribution(w, "acquire_wait_ms", s.acquire_wait);
    write_distribution(w, "hold_ms", s.hold_time);
    write_distribution(w, "create_ms", s.create_time);
    w.member("circuit", respool::to_string(s.circuit));
    w.end_object();
}

void write_fault(JsonWriter& w, const FaultRecord& f, const PoolCheck& c)
{
    w.key("fault");
    w.begin_object();
    w.member("what", f.what);
    w.member("began_s", f.began);
    w.member("ended_s", f.ended);
    w.member("error", f.error);
    const Counts during = f.ended >= 0 ? f.at_end - f.at_begin : Counts{};
    w.member("errors_during", during.errors());
    w.member("ok_during", during.ok());
    w.member("ok_after", c.ok_after_fault);
    w.key("first_ok_after_s");
    if (f.recovered_after) w.value(*f.recovered_after);
    else w.null();
    w.member("recovered", c.recovered);
    w.end_object();
}

void write_pool(JsonWriter& w, const PoolResult& p, const PoolCheck& c, double elapsed)
{
    w.begin_object();
    w.member("name", p.name);
    w.member("server", p.server);
    w.member("work", p.work);
    w.member("attempts", p.counts.attempts);
    w.member("ok", p.counts.ok());
    w.member("leased", p.counts.leased);
    w.key("errors");
    w.begin_object();
    for (std::size_t o = 1; o < outcome_count; ++o) w.member(to_string(static_cast<Outcome>(o)), p.counts.outcomes[o]);
    w.end_object();
    w.member("errors_total", p.counts.errors());
    w.member("ok_per_s", static_cast<double>(p.counts.ok()) / elapsed);
    w.member("counts_add_up", c.counts_add_up);
    w.member("pool_agrees", c.pool_agrees);
    w.member("leak_planted", p.leak_planted);
    write_pool_stats(w, p.stats);
    if (p.fault) {
        write_fault(w, *p.fault, c);
    } else {
        w.key("fault");
        w.null();
    }
    w.member("last_error", p.last_error);
    w.end_object();
}

void write_leak(JsonWriter& w, const LeakResult& l)
{
    w.key("leak");
    w.begin_object();
    w.member("pool", l.pool);
    w.member("planted_s", l.planted);
    w.member("error", l.error);
    w.member("reported", l.reported.has_value());
    if (l.reported) {
        w.member("reported_s", l.reported->t);
        w.member("site", l.reported->site);
        w.member("held_s", seconds(l.reported->held));
    }
    w.member("report", l.report);
    w.end_object();
}

} // namespace

std::string json_summary(const RunResult& run, const Checks& checks, const DemoConfig& config,
                         const std::vector<Skipped>& skipped, const std::string& svg_path)
{
    JsonWriter w;
    w.begin_object();
    w.key("config");
    w.begin_object();
    w.member("duration_s", static_cast<double>(config.duration.count()));
    w.member("threads", static_cast<std::uint64_t>(config.threads));
    w.member("pool_size", static_cast<std::uint64_t>(config.pool_size));
    w.member("faults", config.faults);
    w.member("external_pg", !config.dsn.empty());
    w.end_object();
    w.member("elapsed_s", run.elapsed);
    w.key("pools");
    w.begin_array();
    for (std::size_t i = 0; i < run.pools.size(); ++i) write_pool(w, run.pools[i], checks.pools[i], run.elapsed);
    w.end_array();
    write_leak(w, run.leak);
    w.key("skipped");
    w.begin_array();
    for (const auto& s : skipped) {
        w.begin_object();
        w.member("pool", s.pool);
        w.member("reason", s.reason);
        w.end_object();
    }
    w.end_array();
    w.key("svg");
    if (svg_path.empty()) w.null();
    else w.value(svg_path);
    w.member("leak_reported", checks.leak_reported);
    w.member("ok", checks.all_ok);
    w.end_object();
    return w.str();
}

} // namespace demo
