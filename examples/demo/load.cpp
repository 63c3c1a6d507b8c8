#include "load.hpp"

#include <limits>
#include <utility>

namespace demo {

namespace {

using namespace std::chrono_literals;

// A client's pause after a failed request before it tries again.
constexpr auto retry_pause = 20ms;

std::int64_t ticks(SteadyTime t)
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

} // namespace

Load::Load(Target& target, int threads)
    : target_(target), recovery_from_(std::numeric_limits<std::int64_t>::max())
{
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this](std::stop_token st) { run(st); });
}

void Load::stop()
{
    for (auto& w : workers_) w.request_stop();
    workers_.clear();  // joins
}

void Load::run(std::stop_token stop)
{
    while (!stop.stop_requested()) {
        const std::uint64_t n = attempts_.fetch_add(1, std::memory_order_relaxed);
        Attempt a = target_.attempt(n);
        const bool failed = a.outcome != Outcome::ok;
        record(std::move(a));
        if (failed) std::this_thread::sleep_for(retry_pause);
    }
}

void Load::record(Attempt&& a)
{
    if (a.acquired) leased_.fetch_add(1, std::memory_order_relaxed);
    outcomes_[static_cast<std::size_t>(a.outcome)].fetch_add(1, std::memory_order_relaxed);
    if (a.outcome == Outcome::ok) {
        const std::int64_t now = ticks(std::chrono::steady_clock::now());
        std::int64_t none = 0;
        if (now >= recovery_from_.load(std::memory_order_relaxed))
            first_ok_after_.compare_exchange_strong(none, now);
    }
    if (!a.acquired && a.error.empty()) return;
    std::lock_guard lock(mutex_);
    if (a.acquired) waits_.push_back(a.wait);
    if (!a.error.empty()) last_error_ = std::move(a.error);
}

Counts Load::counts() const
{
    Counts c;
    // Outcomes first: a request counted in them was counted in attempts before.
    for (std::size_t i = 0; i < outcome_count; ++i) c.outcomes[i] = outcomes_[i].load();
    c.leased = leased_.load();
    c.attempts = attempts_.load();
    return c;
}

std::vector<std::chrono::nanoseconds> Load::take_waits()
{
    std::lock_guard lock(mutex_);
    return std::exchange(waits_, {});
}

std::string Load::last_error() const
{
    std::lock_guard lock(mutex_);
    return last_error_;
}

void Load::watch_recovery(SteadyTime from)
{
    first_ok_after_ = 0;
    recovery_from_ = ticks(from);
}

std::optional<SteadyTime> Load::first_ok_after() const
{
    const std::int64_t t = first_ok_after_.load();
    if (t == 0) return std::nullopt;
    return SteadyTime(std::chrono::nanoseconds(t));
}

} // namespace demo
