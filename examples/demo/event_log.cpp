#include "event_log.hpp"

#include <respool/format.hpp>
#include <respool/lease_info.hpp>

namespace demo {

namespace {

// An adapter's message, short enough for one screen line. The cause comes
// last ("...: Connection refused"), so a long one keeps its tail.
std::string headline(std::string_view message)
{
    constexpr std::size_t max = 90;
    std::string_view line = message.substr(0, message.find('\n'));
    if (line.size() <= max) return std::string(line);
    std::size_t cut = line.size();
    for (std::size_t at = line.rfind(": "); at != std::string_view::npos && line.size() - (at + 2) <= max;
         at = at == 0 ? std::string_view::npos : line.rfind(": ", at - 1))
        cut = at + 2;
    if (cut == line.size()) return std::string(line.substr(0, max - 3)) + "...";
    return "..." + std::string(line.substr(cut));
}

} // namespace

double EventLog::seconds_since_start() const
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void EventLog::set_start(std::chrono::steady_clock::time_point start)
{
    std::lock_guard lock(mutex_);
    start_ = start;
}

void EventLog::on_event(const respool::Event& e) noexcept
{
    try {
        std::lock_guard lock(mutex_);
        bool& failing = failing_[std::string(e.pool)];
        switch (e.kind) {
        case respool::EventKind::create_failed:
            if (!failing) add(e.pool, "creating a connection failed: " + headline(e.message));
            failing = true;
            break;
        case respool::EventKind::created:
            if (failing) add(e.pool, fmt::format("connection #{} made again", e.resource_id));
            failing = false;
            break;
        case respool::EventKind::circuit_opened:
            add(e.pool, "circuit breaker opened: acquires now fail fast instead of waiting");
            break;
        case respool::EventKind::circuit_closed:
            add(e.pool, "circuit breaker closed: a probe connection succeeded");
            break;
        case respool::EventKind::leak_suspected:
            leaks_.push_back({seconds_since_start(), std::string(e.pool), respool::format_site(e.site), e.duration,
                              e.resource_id, e.thread});
            add(e.pool, fmt::format("LEAK suspected: lease acquired at {} held {:.1f} s", respool::format_site(e.site),
                                    std::chrono::duration<double>(e.duration).count()));
            break;
        case respool::EventKind::leak_returned:
            add(e.pool, "the suspected leak was given back");
            break;
        default:
            break;
        }
    } catch (...) {
        // A listener must not throw; a line lost is only a line lost.
    }
}

void EventLog::note(std::string pool, std::string text)
{
    std::lock_guard lock(mutex_);
    lines_.push_back({seconds_since_start(), std::move(pool), std::move(text)});
}

void EventLog::add(std::string_view pool, std::string text)
{
    lines_.push_back({seconds_since_start(), std::string(pool), std::move(text)});
}

std::vector<LogLine> EventLog::lines(std::size_t from) const
{
    std::lock_guard lock(mutex_);
    if (from >= lines_.size()) return {};
    return {lines_.begin() + static_cast<std::ptrdiff_t>(from), lines_.end()};
}

std::vector<LeakEvent> EventLog::leaks() const
{
    std::lock_guard lock(mutex_);
    return leaks_;
}

} // namespace demo
