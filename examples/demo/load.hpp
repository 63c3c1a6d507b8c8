// demo/load.hpp — worker threads that send requests through one target's pool.
//
// Each worker repeats `Target::attempt` until stopped and counts every
// outcome. A worker whose request failed pauses briefly before the next one,
// as a client backs off, so a pool that fails fast does not turn into a busy loop.
// The figures the demo prints come from here and from the pool's own stats,
// never from anywhere else.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "target.hpp"

namespace demo {

using SteadyTime = std::chrono::steady_clock::time_point;

class Load {
public:
    /// Starts `threads` workers on `target`, which must outlive the Load.
    Load(Target& target, int threads);
    ~Load() { stop(); }
    Load(const Load&) = delete;
    Load& operator=(const Load&) = delete;

    /// Stops the workers and waits for them; afterwards ok + errors == attempts.
    void stop();

    Counts counts() const;
    /// Acquire waits of the requests that got a lease since the last call.
    std::vector<std::chrono::nanoseconds> take_waits();
    /// The text of the most recent failure, "" if none yet.
    std::string last_error() const;

    /// From now on, remember the first success at or after `from`.
    void watch_recovery(SteadyTime from);
    /// That first success, once there was one.
    std::optional<SteadyTime> first_ok_after() const;

private:
    void run(std::stop_token stop);
    void record(Attempt&& a);

    Target& target_;
    std::atomic<std::uint64_t> attempts_{0};
    std::atomic<std::uint64_t> leased_{0};
    std::array<std::atomic<std::uint64_t>, outcome_count> outcomes_{};
    std::atomic<std::int64_t> recovery_from_;  // steady ns; max while not watching
    std::atomic<std::int64_t> first_ok_after_{0};
    mutable std::mutex mutex_;
    std::vector<std::chrono::nanoseconds> waits_;  // guarded by mutex_
    std::string last_error_;                       // guarded by mutex_
    std::vector<std::jthread> workers_;            // last: stopped first
};

} // namespace demo
