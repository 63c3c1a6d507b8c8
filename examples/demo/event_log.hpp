// demo/event_log.hpp — the pool events worth a line in the live view.
//
// An `EventLog` is the listener of every pool (`PoolOptions::listener`). It
// keeps the turning points of an outage — the first failed creation, the
// circuit breaker opening and closing, the first connection made again — and
// every suspected leak with its acquire site, and drops routine churn.
// The scenario adds its own lines (faults begun and ended) with `note`.
//
// Thread-safety: every member may be called from any thread; `on_event` is
// called by the pools outside their locks and never blocks for long.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <respool/event.hpp>

namespace demo {

struct LogLine {
    double t = 0;      ///< seconds since the run began
    std::string pool;  ///< "" for lines about the whole run
    std::string text;
};

/// A `leak_suspected` event, as the pool reported it.
struct LeakEvent {
    double t = 0;
    std::string pool;
    std::string site;  ///< "file:line" of the acquire, as respool::SourceLocation names it
    std::chrono::nanoseconds held{};
    std::uint64_t resource_id = 0;
    std::thread::id thread;  ///< that acquired the lease
};

class EventLog final : public respool::EventListener {
public:
    explicit EventLog(std::chrono::steady_clock::time_point start) : start_(start) {}

    /// Moves the zero of every later line's time, e.g. to when the load began.
    void set_start(std::chrono::steady_clock::time_point start);

    void on_event(const respool::Event& e) noexcept override;
    /// Adds a line of the scenario's own.
    void note(std::string pool, std::string text);

    /// Lines from index `from` on (for printing only the new ones).
    std::vector<LogLine> lines(std::size_t from = 0) const;
    std::vector<LeakEvent> leaks() const;

private:
    double seconds_since_start() const;  // needs mutex_
    void add(std::string_view pool, std::string text);  // needs mutex_

    mutable std::mutex mutex_;
    std::chrono::steady_clock::time_point start_;  // guarded by mutex_
    std::vector<LogLine> lines_;                  // guarded by mutex_
    std::vector<LeakEvent> leaks_;                // guarded by mutex_
    std::map<std::string, bool, std::less<>> failing_;  // guarded: creation failing since the last success
};

} // namespace demo
