// demo/live_view.hpp — the view refreshed every second while the load runs.
//
// In a terminal it redraws one block in place with ANSI cursor movement: a
// header, a row per pool, and the latest events. Anywhere else (a pipe, a
// file, a CI log) it prints plain lines — each new event once, and one line
// per pool per frame — without a single control code.
//
// Thread-safety: one thread renders; `print` may be called between frames.
#pragma once

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "event_log.hpp"
#include "target.hpp"

namespace demo {

/// One pool's row.
struct PoolRow {
    std::string name;
    std::string state;  ///< "serving", "FAULT", "recovered +0.4 s", ...
    double ok_per_s = 0;
    std::optional<std::chrono::nanoseconds> wait_p50, wait_p99;  ///< of the last second's acquires
    std::size_t total = 0, idle = 0, in_use = 0, waiting = 0;
    Counts errors;              ///< outcomes of the last second
    std::uint64_t broken = 0;   ///< resources destroyed as broken, since the start
    std::string circuit;        ///< "closed", "open", "half_open"
};

struct Frame {
    double t = 0, duration = 0;
    std::string phase;
    std::vector<PoolRow> rows;
    std::vector<LogLine> events;  ///< every event so far
};

class LiveView {
public:
    /// `ansi`: redraw in place; else plain lines.
    LiveView(std::FILE* out, bool ansi) : out_(out), ansi_(ansi) {}

    void render(const Frame& frame);
    /// Text between frames (the block is not redrawn over it).
    void print(const std::string& text);
    bool ansi() const noexcept { return ansi_; }

private:
    void render_ansi(const Frame& frame);
    void render_plain(const Frame& frame);

    std::FILE* out_;
    bool ansi_;
    std::size_t drawn_lines_ = 0;   // lines of the block on screen, to move back over
    std::size_t events_shown_ = 0;  // plain mode: events already printed
    std::string last_phase_;        // plain mode: printed when it changes
};

/// "0.12 ms", "-" when absent.
std::string format_ms(std::optional<std::chrono::nanoseconds> d);

/// The p-th percentile (0..1) of `values` (sorted in place); nullopt when empty.
std::optional<std::chrono::nanoseconds> percentile(std::vector<std::chrono::nanoseconds>& values, double p);

} // namespace demo
