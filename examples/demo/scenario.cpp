#include "scenario.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <respool/testing.hpp>

namespace demo {

namespace {

using namespace std::chrono_literals;

constexpr auto tick = 200ms;
constexpr int ticks_per_frame = 5;
// How long past the end the run waits for a leak report that has not come yet.
constexpr double leak_grace_s = 3.0;

SteadyTime at(SteadyTime start, double s)
{
    return start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

} // namespace

struct Scenario::Slot {
    Target* target;
    std::unique_ptr<Load> load;
    std::optional<FaultRecord> fault;  // guarded by faults_mutex_
    Counts last_counts;                // at the last frame
    respool::PoolStats stats;          // at the last tick
};

Schedule make_schedule(std::chrono::seconds duration, bool faults)
{
    Schedule s;
    s.end = static_cast<double>(duration.count());
    const double leak_latest = s.end - std::chrono::duration<double>(leak_threshold).count() - 1.5;
    if (faults) {
        s.fault_begin = 0.3 * s.end;
        s.fault_end = s.fault_begin + std::clamp(0.15 * s.end, 2.0, 6.0);
        s.leak_at = std::min(std::max(0.65 * s.end, s.fault_end + 2.0), leak_latest);
    } else {
        s.leak_at = std::min(0.5 * s.end, leak_latest);
    }
    return s;
}

Scenario::Scenario(std::vector<Target*> targets, const DemoConfig& config, EventLog& log, LiveView& view,
                   SteadyTime start)
    : config_(config), log_(log), view_(view), start_(start), schedule_(make_schedule(config.duration, config.faults))
{
    for (Target* t : targets) {
        slots_.push_back(std::make_unique<Slot>(Slot{t, nullptr, std::nullopt, {}, {}}));
        timeline_.pools.emplace_back(t->name());
    }
    timeline_.samples.resize(slots_.size());
}

Scenario::~Scenario() = default;

double Scenario::now_s() const
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

RunResult Scenario::run()
{
    for (auto& s : slots_) s->load = std::make_unique<Load>(*s->target, config_.threads);
    if (config_.faults) {
        for (auto& s : slots_) {
            std::lock_guard lock(faults_mutex_);
            s->fault = FaultRecord{.what = s->target->fault()};
            fault_threads_.emplace_back([this, slot = s.get()] { run_fault(*slot); });
        }
    }
    for (int n = 1;; ++n) {
        std::this_thread::sleep_until(start_ + n * tick);
        const double t = now_s();
        sample(t);
        if (leak_.planted < 0 && t >= schedule_.leak_at && t < schedule_.end) plant_leak(t);
        if (leak_.planted >= 0 && !leak_.reported) {
            for (const LeakEvent& e : log_.leaks())
                if (e.pool == leak_.pool && e.resource_id == leak_.resource_id && e.thread == leak_.thread) {
                    show_leak_report(e);
                    break;
                }
        }
        if (n % ticks_per_frame == 0) render(t);
        const bool leak_settled = leak_.reported || leak_.planted < 0 || t >= schedule_.end + leak_grace_s;
        if (t >= schedule_.end && leak_settled) return finish(t);
    }
}

void Scenario::run_fault(Slot& s)
{
    std::this_thread::sleep_until(at(start_, schedule_.fault_begin));
    {
        std::lock_guard lock(faults_mutex_);
        s.fault->began = now_s();
        s.fault->at_begin = s.load->counts();
    }
    log_.note(std::string(s.target->name()), "FAULT: " + s.fault->what);
    try {
        s.target->begin_fault();
        if (s.target->fault_lasts()) {
            std::this_thread::sleep_until(at(start_, schedule_.fault_end));
            s.target->end_fault();
        }
    } catch (const std::exception& e) {
        log_.note(std::string(s.target->name()), e.what());
        std::lock_guard lock(faults_mutex_);
        s.fault->error = e.what();
        return;
    }
    const auto ended = std::chrono::steady_clock::now();
    s.load->watch_recovery(ended);
    log_.note(std::string(s.target->name()), s.target->fault_lasts()
                                                 ? "server serving again: the pool has to find out by itself"
                                                 : "the server stayed up: the pool has to replace what was killed");
    std::lock_guard lock(faults_mutex_);
    s.fault->ended = std::chrono::duration<double>(ended - start_).count();
    s.fault->at_end = s.load->counts();
}

void Scenario::sample(double t)
{
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        Slot& s = *slots_[i];
        s.stats = s.target->stats();
        timeline_.samples[i].push_back(Sample{t, s.load->counts(), s.stats.total, s.stats.idle, s.stats.in_use,
                                              s.stats.waiting, s.stats.leases, s.stats.circuit});
    }
}

std::string Scenario::phase_text(double t) const
{
    if (t >= schedule_.end) return "finishing: waiting for the leak report";
    if (leak_.reported) return fmt::format("the pool reported the leak in '{}'; load runs until {:.0f} s", leak_.pool, schedule_.end);
    if (leak_.planted >= 0) return fmt::format("a lease was leaked from '{}' at {:.1f} s; the pool will report it after {:.1f} s",
                                               leak_.pool, leak_.planted, std::chrono::duration<double>(leak_threshold).count());
    if (schedule_.fault_begin < 0) return fmt::format("steady load; a leak is planted at {:.1f} s", schedule_.leak_at);
    if (t < schedule_.fault_begin) return fmt::format("steady load; every server fails at {:.1f} s", schedule_.fault_begin);
    if (t < schedule_.fault_end) return fmt::format("OUTAGE: every server failing until {:.1f} s", schedule_.fault_end);
    return fmt::format("servers back: the pools recover on their own; a leak is planted at {:.1f} s", schedule_.leak_at);
}

std::string Scenario::state_text(Slot& s) const
{
    std::string state = "serving";
    std::lock_guard lock(faults_mutex_);
    if (s.fault && !s.fault->error.empty()) state = "fault went wrong";
    else if (s.fault && s.fault->began >= 0 && s.fault->ended < 0) state = "FAULT";
    else if (s.fault && s.fault->ended >= 0) {
        const auto first = s.load->first_ok_after();
        state = first ? fmt::format("recovered in {:.1f} s",
                                    std::chrono::duration<double>(*first - start_).count() - s.fault->ended)
                      : "recovering";
    }
    if (leak_.planted >= 0 && leak_.pool == s.target->name()) state += " +leak";
    return state;
}

void Scenario::render(double t)
{
    Frame f{.t = t, .duration = schedule_.end, .phase = phase_text(t)};
    const double dt = std::max(t - last_render_, 1e-3);
    for (auto& slot : slots_) {
        Slot& s = *slot;
        const Counts now = s.load->counts();
        auto waits = s.load->take_waits();
        f.rows.push_back(PoolRow{
            .name = std::string(s.target->name()),
            .state = state_text(s),
            .ok_per_s = static_cast<double>(now.ok() - s.last_counts.ok()) / dt,
            .wait_p50 = percentile(waits, 0.50),
            .wait_p99 = percentile(waits, 0.99),
            .total = s.stats.total, .idle = s.stats.idle, .in_use = s.stats.in_use, .waiting = s.stats.waiting,
            .errors = now - s.last_counts,
            .broken = s.stats.destroyed[respool::DestroyReason::broken],
            .circuit = std::string(respool::to_string(s.stats.circuit)),
        });
        s.last_counts = now;
    }
    f.events = log_.lines();
    last_render_ = t;
    view_.render(f);
}

// Tried at every tick until it works: the pool may still be recovering.
void Scenario::plant_leak(double t)
{
    Target& target = *slots_.front()->target;
    leak_.pool = std::string(target.name());
    try {
        const respool::LeaseInfo lease = target.plant_leak();
        leak_.resource_id = lease.resource_id;
        leak_.thread = lease.thread;
        leak_.planted = t;
        leak_.error.clear();
        timeline_.marks.push_back({t, "leak planted"});
        log_.note(leak_.pool, "a lease is taken and never given back (the planted leak)");
    } catch (const std::exception& e) {
        if (leak_.error.empty()) log_.note(leak_.pool, std::string("cannot plant the leak yet: ") + e.what());
        leak_.error = e.what();
    }
}

void Scenario::show_leak_report(const LeakEvent& event)
{
    leak_.reported = event;
    timeline_.marks.push_back({leak_.reported->t, "leak reported"});
    Slot& s = *slots_.front();
    std::vector<respool::LeaseInfo> flagged;
    for (const auto& l : s.target->leases())
        if (l.leak_reported) flagged.push_back(l);
    leak_.report = respool::testing::leak_report(flagged);
    view_.print(fmt::format("\nLEAK REPORT from pool '{}' at {:.1f} s - leases held longer than {} ms:\n{}\n",
                            leak_.reported->pool, leak_.reported->t, leak_threshold.count(), leak_.report));
}

RunResult Scenario::finish(double t)
{
    fault_threads_.clear();  // joins; they ended long ago unless a restart hung
    RunResult r;
    for (auto& slot : slots_) {
        Slot& s = *slot;
        s.load->stop();
        PoolResult p{.name = std::string(s.target->name()), .server = s.target->server(), .work = s.target->work()};
        p.counts = s.load->counts();
        p.stats = s.target->stats();
        p.last_error = s.load->last_error();
        p.leak_planted = leak_.planted >= 0 && leak_.pool == p.name;
        p.fault = s.fault;
        if (p.fault && p.fault->ended >= 0) {
            if (const auto first = s.load->first_ok_after())
                p.fault->recovered_after = std::chrono::duration<double>(*first - start_).count() - p.fault->ended;
        }
        r.pools.push_back(std::move(p));
    }
    for (const auto& p : r.pools) {
        if (!p.fault || p.fault->began < 0) continue;
        if (timeline_.fault_begin < 0 || p.fault->began < timeline_.fault_begin) timeline_.fault_begin = p.fault->began;
        timeline_.fault_end = std::max(timeline_.fault_end, p.fault->ended >= 0 ? p.fault->ended : t);
    }
    r.elapsed = t;
    r.leak = leak_;
    r.timeline = std::move(timeline_);
    return r;
}

} // namespace demo
