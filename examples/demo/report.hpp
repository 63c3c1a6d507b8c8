// demo/report.hpp — what the demo prints and writes after the run.
//
// `check` judges the run from its measured figures (did each pool recover,
// do the counts add up, does the pool's own count of leases agree with the
// workers'); `summary_table` and `prometheus_text` are for people,
// `json_summary` for programs (--json) such as the demo's own test.
#pragma once

#include <string>
#include <vector>

#include "cli.hpp"
#include "scenario.hpp"

namespace demo {

/// A pool the demo could not run, and why.
struct Skipped {
    std::string pool;
    std::string reason;
};

/// Verdicts on one pool.
struct PoolCheck {
    bool counts_add_up = false;  ///< ok + errors == attempts
    bool pool_agrees = false;    ///< the pool's `acquired` == leases the workers got (+ the planted one)
    bool recovered = false;      ///< requests succeeded after the fault ended (true without a fault)
    std::uint64_t ok_after_fault = 0;
};

struct Checks {
    std::vector<PoolCheck> pools;  ///< in `RunResult::pools` order
    bool leak_reported = false;    ///< the pool reported the planted lease
    bool all_ok = false;           ///< everything above, and no pool skipped
};

Checks check(const RunResult& run, const std::vector<Skipped>& skipped);

/// The tables printed at the end: requests, the pools' own figures, faults, leak, verdicts.
std::string summary_table(const RunResult& run, const Checks& checks, const DemoConfig& config);

/// Each pool's Prometheus exposition, one after the other.
std::string prometheus_text(const RunResult& run);

/// The --json document. `svg_path` is "" when no chart was written.
std::string json_summary(const RunResult& run, const Checks& checks, const DemoConfig& config,
                         const std::vector<Skipped>& skipped, const std::string& svg_path);

} // namespace demo
