#include "live_view.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace demo {

namespace {

constexpr std::size_t max_events_in_block = 8;

std::string errors_text(const Counts& e)
{
    return fmt::format("timeout {}  circuit_open {}  create_failed {}  request_failed {}", e[Outcome::timeout],
                       e[Outcome::circuit_open], e[Outcome::create_failed], e[Outcome::request_failed]);
}

// Three labelled lines per pool, each short enough for a 100-column terminal.
std::string row_block(const PoolRow& r)
{
    return fmt::format("{:<6}{:<26}{:>7.0f} ok/s   acquire wait p50 {:>8}  p99 {:>8}\n"
                       "      total {:<3} idle {:<3} in_use {:<3} waiting {:<4} broken so far {:<5} breaker {}\n"
                       "      errors in the last second: {}\n",
                       r.name, r.state, r.ok_per_s, format_ms(r.wait_p50), format_ms(r.wait_p99), r.total, r.idle,
                       r.in_use, r.waiting, r.broken, r.circuit, errors_text(r.errors));
}

// One line per pool for logs: every figure labelled, nothing but text.
std::string row_line(double t, const PoolRow& r)
{
    return fmt::format("t={:.1f}s {} [{}] ok/s={:.0f} wait_p50={} wait_p99={} total={} idle={} in_use={} waiting={} "
                       "| last second: {} | broken={} breaker={}",
                       t, r.name, r.state, r.ok_per_s, format_ms(r.wait_p50), format_ms(r.wait_p99), r.total, r.idle,
                       r.in_use, r.waiting, errors_text(r.errors), r.broken, r.circuit);
}

std::string event_text(const LogLine& e)
{
    return fmt::format("{:6.1f} s  {:<5} {}", e.t, e.pool, e.text);
}

struct TerminalSize {
    std::size_t cols = 100, rows = 40;
};

TerminalSize terminal_size(std::FILE* out)
{
    winsize ws{};
    if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) != 0 || ws.ws_col < 20 || ws.ws_row < 10) return {};
    return {ws.ws_col, ws.ws_row};
}

// Cuts each line to `width` columns, so none wraps and the redraw stays aligned.
// Cuts bytes, which is columns here: the block is ASCII apart from escape codes
// and event text, which ends lines.
std::string fit(const std::string& block, std::size_t width)
{
    std::string out;
    std::size_t start = 0;
    while (start < block.size()) {
        std::size_t end = block.find('\n', start);
        if (end == std::string::npos) end = block.size();
        out.append(block, start, std::min(end - start, width - 1));
        out += '\n';
        start = end + 1;
    }
    return out;
}

} // namespace

std::string format_ms(std::optional<std::chrono::nanoseconds> d)
{
    if (!d) return "-";
    const double ms = std::chrono::duration<double, std::milli>(*d).count();
    return ms < 10 ? fmt::format("{:.2f} ms", ms) : fmt::format("{:.0f} ms", ms);
}

std::optional<std::chrono::nanoseconds> percentile(std::vector<std::chrono::nanoseconds>& values, double p)
{
    if (values.empty()) return std::nullopt;
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

void LiveView::render(const Frame& frame)
{
    if (ansi_) render_ansi(frame);
    else render_plain(frame);
    std::fflush(out_);
}

void LiveView::render_ansi(const Frame& frame)
{
    std::string block = fmt::format("t = {:5.1f} s of {:.0f} s   {}\n\n", frame.t, frame.duration, frame.phase);
    for (const auto& r : frame.rows) block += row_block(r) + "\n";
    block += "events:\n";
    // The cursor cannot move back above the screen's top: the block must fit its height.
    const TerminalSize size = terminal_size(out_);
    const auto used = static_cast<std::size_t>(std::count(block.begin(), block.end(), '\n'));
    const std::size_t room = size.rows > used + 2 ? std::min(size.rows - used - 2, max_events_in_block) : 0;
    const std::size_t first = frame.events.size() > room ? frame.events.size() - room : 0;
    for (std::size_t i = first; i < frame.events.size(); ++i) block += "  " + event_text(frame.events[i]) + "\n";
    block = fit(block, size.cols);
    // Back to the block's first line, clear to the end of the screen, draw anew.
    std::string out = drawn_lines_ > 0 ? fmt::format("\x1b[{}F\x1b[J", drawn_lines_) : std::string();
    out += block;
    std::fputs(out.c_str(), out_);
    drawn_lines_ = static_cast<std::size_t>(std::count(block.begin(), block.end(), '\n'));
}

void LiveView::render_plain(const Frame& frame)
{
    for (; events_shown_ < frame.events.size(); ++events_shown_)
        std::fprintf(out_, "event %s\n", event_text(frame.events[events_shown_]).c_str());
    if (frame.phase != last_phase_) std::fprintf(out_, "phase t=%.1fs %s\n", frame.t, frame.phase.c_str());
    last_phase_ = frame.phase;
    for (const auto& r : frame.rows) std::fprintf(out_, "%s\n", row_line(frame.t, r).c_str());
}

void LiveView::print(const std::string& text)
{
    std::fputs(text.c_str(), out_);
    std::fflush(out_);
    drawn_lines_ = 0;  // the block is above the text now: draw the next one below it
}

} // namespace demo
