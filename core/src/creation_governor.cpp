#include <respool/detail/creation_governor.hpp>

#include <algorithm>

namespace respool::detail {

CreationGovernor::CreationGovernor(const Config& config, std::uint64_t seed)
    : cfg_(config), rng_(seed), ramp_(config.max_concurrent), tokens_(config.burst)
{
}

CircuitState CreationGovernor::state(std::int64_t now) const noexcept
{
    if (!open_) return CircuitState::closed;
    return now - opened_at_ >= cfg_.open_time ? CircuitState::half_open : CircuitState::open;
}

std::size_t CreationGovernor::concurrency(std::int64_t now) const noexcept
{
    if (state(now) != CircuitState::closed) return 1;
    return std::clamp<std::size_t>(ramp_, 1, cfg_.max_concurrent);
}

bool CreationGovernor::try_start(std::int64_t now, std::size_t creating, std::int64_t& retry_at)
{
    switch (state(now)) {
    case CircuitState::open:
        retry_at = opened_at_ + cfg_.open_time;
        return false;
    case CircuitState::half_open:
        if (probing_ || creating > 0) {
            retry_at = never;  // the probe's result decides
            return false;
        }
        probing_ = true;
        return true;
    case CircuitState::closed:
        break;
    }
    if (creating >= concurrency(now)) {
        retry_at = never;
        return false;
    }
    if (now < next_allowed_) {
        retry_at = next_allowed_;
        return false;
    }
    if (cfg_.tokens_per_tick > 0) {
        tokens_ = std::min(cfg_.burst, tokens_ + static_cast<double>(now - tokens_at_) * cfg_.tokens_per_tick);
        tokens_at_ = now;
        if (tokens_ < 1.0) {
            retry_at = now + static_cast<std::int64_t>((1.0 - tokens_) / cfg_.tokens_per_tick) + 1;
            return false;
        }
        tokens_ -= 1.0;
    }
    return true;
}

CreationGovernor::Transition CreationGovernor::on_success(std::int64_t)
{
    // The run of failures ends only once the new resource proves itself
    // (`on_proven`): one that breaks on its first use fails the run on.
    next_allowed_ = 0;
    if (open_) {
        // Recovered: start again with one creation at a time.
        open_ = probing_ = false;
        ramp_ = 1;
        return Transition::closed;
    }
    ramp_ = std::min(cfg_.max_concurrent, ramp_ * 2);
    return Transition::none;
}

void CreationGovernor::on_proven() noexcept
{
    failures_ = 0;
}

CreationGovernor::Transition CreationGovernor::on_failure(std::int64_t now)
{
    if (++failures_ == 1) run_started_ = now;
    if (open_) {
        // A failed probe: stay open for another full period.
        probing_ = false;
        opened_at_ = now;
        return Transition::reopened;
    }
    // Equal jitter: half the pause fixed, half random, so retries of many
    // pools against one server spread out but never come back too soon.
    const int doublings = static_cast<int>(std::min<std::size_t>(failures_ - 1, 40));
    std::int64_t base = cfg_.backoff_initial;
    for (int i = 0; i < doublings && base < cfg_.backoff_max; ++i) base *= 2;
    base = std::min(base, cfg_.backoff_max);
    const auto half = base / 2;
    last_backoff_ = half + static_cast<std::int64_t>(std::uniform_real_distribution<double>(0, 1)(rng_) *
                                                     static_cast<double>(base - half));
    next_allowed_ = now + last_backoff_;
    // Open only on sustained failure: enough failures, and for long enough
    // that a blip (a restart, a burst of connections broken on arrival)
    // would already be over. Until then callers wait, each until its own
    // deadline, while creations are retried with back-off.
    if (cfg_.threshold > 0 && failures_ >= cfg_.threshold && now - run_started_ >= cfg_.failure_window) {
        open_ = true;
        opened_at_ = now;
        ramp_ = 1;
        return Transition::opened;
    }
    return Transition::none;
}

} // namespace respool::detail
