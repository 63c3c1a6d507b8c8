// demo/timeline.hpp — what the pools did over time, sampled five times a second.
//
// The scenario appends a `Sample` per pool at every tick and a `Mark` for each
// turning point of the run; the SVG chart and the JSON summary read it.
// Plain data: no locking (one thread writes it, readers come after the run).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <respool/stats.hpp>

#include "target.hpp"

namespace demo {

/// One pool at one moment: the workers' counts and the pool's gauges.
struct Sample {
    double t = 0;  ///< seconds since the run began
    Counts counts;
    std::size_t total = 0, idle = 0, in_use = 0, waiting = 0, leases = 0;
    respool::CircuitState circuit = respool::CircuitState::closed;
};

/// A moment worth a line on the chart.
struct Mark {
    double t = 0;
    std::string label;
};

struct Timeline {
    std::vector<std::string> pools;            ///< names, in row order
    std::vector<std::vector<Sample>> samples;  ///< per pool, oldest first
    std::vector<Mark> marks;
    double fault_begin = -1, fault_end = -1;   ///< the outage window; -1: none
};

/// Successful requests per second around sample `i`, over about `window` seconds.
inline double ok_rate(const std::vector<Sample>& s, std::size_t i, double window = 1.0)
{
    std::size_t j = i;
    while (j > 0 && s[i].t - s[j - 1].t <= window + 1e-9) --j;
    const double dt = s[i].t - s[j].t;
    return dt > 0 ? static_cast<double>(s[i].counts.ok() - s[j].counts.ok()) / dt : 0.0;
}

} // namespace demo
