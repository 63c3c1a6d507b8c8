// demo/scenario.hpp — the run: load, faults midway, a planted leak, the live view.
//
// `Scenario::run` starts the workers, then ticks five times a second: it
// samples every pool into the timeline, redraws the view every fifth tick,
// breaks the servers at `Schedule::fault_begin` and lets them serve again at
// `fault_end` (each on a thread of its own, since stopping PostgreSQL takes a
// while), and plants the leak at `leak_at`. At the end it stops the workers,
// so the counts are final, and returns everything the report needs.
//
// Thread-safety: run once, from one thread.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "event_log.hpp"
#include "live_view.hpp"
#include "load.hpp"
#include "timeline.hpp"

namespace demo {

/// When things happen, in seconds since the start.
struct Schedule {
    double fault_begin = -1, fault_end = -1;  ///< -1: no faults
    double leak_at = 0;
    double end = 0;
};

/// Faults from 30 % of the run for 15 % of it (2 to 6 s); the leak after the
/// recovery, early enough to be reported before the end.
Schedule make_schedule(std::chrono::seconds duration, bool faults);

/// One pool's fault, as it happened.
struct FaultRecord {
    std::string what;
    double began = -1, ended = -1;           ///< -1: not reached
    std::string error;                       ///< why the fault could not begin or end
    Counts at_begin, at_end;                 ///< the workers' counts then
    std::optional<double> recovered_after;   ///< seconds from `ended` to the first success
};

struct PoolResult {
    std::string name, server, work;
    Counts counts;            ///< final: ok + errors == attempts
    respool::PoolStats stats; ///< at the end, the planted lease still out
    std::optional<FaultRecord> fault;
    std::string last_error;
    bool leak_planted = false;
};

struct LeakResult {
    std::string pool;
    double planted = -1;               ///< -1: not planted
    std::string error;                 ///< why it could not be planted (yet)
    std::uint64_t resource_id = 0;     ///< of the planted lease, and the thread that took it:
    std::thread::id thread;            ///< how its report is told from any other
    std::optional<LeakEvent> reported; ///< the pool's first leak_suspected event
    std::string report;                ///< the flagged leases, one "leaked: file:line ..." line each
};

struct RunResult {
    double elapsed = 0;
    std::vector<PoolResult> pools;
    LeakResult leak;
    Timeline timeline;
};

class Scenario {
public:
    /// `targets` and the rest must outlive the scenario; the leak goes into targets[0].
    Scenario(std::vector<Target*> targets, const DemoConfig& config, EventLog& log, LiveView& view,
             SteadyTime start);
    ~Scenario();
    RunResult run();

private:
    struct Slot;  // one target with its load, fault record and last frame's figures

    double now_s() const;
    void run_fault(Slot& s);
    void sample(double t);
    void render(double t);
    void plant_leak(double t);
    void show_leak_report(const LeakEvent& event);
    std::string phase_text(double t) const;
    std::string state_text(Slot& s) const;
    RunResult finish(double t);

    const DemoConfig& config_;
    EventLog& log_;
    LiveView& view_;
    SteadyTime start_;
    Schedule schedule_;
    std::vector<std::unique_ptr<Slot>> slots_;
    Timeline timeline_;
    LeakResult leak_;
    double last_render_ = 0;
    mutable std::mutex faults_mutex_;  // guards every Slot::fault while fault threads run
    std::vector<std::jthread> fault_threads_;
};

} // namespace demo
