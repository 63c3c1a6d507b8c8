// FaultScript of <respool/testing/faults.hpp>: the non-template half of the
// fault injector — scripted faults and counters behind one mutex.
#include <respool/testing/faults.hpp>

#include <fmt/format.h>

namespace respool::testing {

void FaultScript::fail_create_number(int n, std::string message)
{
    std::lock_guard lk(mu_);
    fail_numbers_[n] = std::move(message);
}

void FaultScript::fail_next_creates(int n, std::string message)
{
    std::lock_guard lk(mu_);
    fail_creates_ = n;
    fail_message_ = std::move(message);
}

void FaultScript::fail_next_creates_fatally(int n, std::string message)
{
    std::lock_guard lk(mu_);
    fatal_creates_ = n;
    fatal_message_ = std::move(message);
}

void FaultScript::delay_creates(std::chrono::milliseconds d) { std::lock_guard lk(mu_); create_delay_ = d; }
void FaultScript::hang_creates(bool on) { std::lock_guard lk(mu_); hang_creates_ = on; }
void FaultScript::fail_next_validations(int n) { std::lock_guard lk(mu_); fail_validations_ = n; }
void FaultScript::delay_validations(std::chrono::milliseconds d) { std::lock_guard lk(mu_); validate_delay_ = d; }
void FaultScript::hang_validations(bool on) { std::lock_guard lk(mu_); hang_validations_ = on; }
void FaultScript::break_next_checks(int n) { std::lock_guard lk(mu_); break_checks_ = n; }
void FaultScript::fail_next_resets(int n) { std::lock_guard lk(mu_); fail_resets_ = n; }
void FaultScript::hang_resets(bool on) { std::lock_guard lk(mu_); hang_resets_ = on; }
void FaultScript::delay_resets(std::chrono::milliseconds d) { std::lock_guard lk(mu_); reset_delay_ = d; }

void FaultScript::release_hangs()
{
    std::lock_guard lk(mu_);
    hang_creates_ = hang_validations_ = hang_resets_ = false;
    ++release_generation_;
    cv_.notify_all();
}

void FaultScript::clear()
{
    std::lock_guard lk(mu_);
    fail_numbers_.clear();
    fail_creates_ = fatal_creates_ = fail_validations_ = break_checks_ = fail_resets_ = 0;
    create_delay_ = validate_delay_ = reset_delay_ = std::chrono::milliseconds(0);
    hang_creates_ = hang_validations_ = hang_resets_ = false;
    ++release_generation_;
    cv_.notify_all();
}

FaultCounters FaultScript::counters() const
{
    std::lock_guard lk(mu_);
    return counters_;
}

bool FaultScript::wait(std::unique_lock<std::mutex>& lk, Deadline deadline, std::chrono::milliseconds delay,
                       bool hang)
{
    const std::uint64_t generation = release_generation_;
    const Deadline until = hang ? deadline : std::min(deadline, deadline_after(delay));
    const bool released = cv_.wait_until(lk, until, [&] { return release_generation_ != generation; });
    // A hang scripts a server that never answers: releasing it only ends the
    // wait, the call still fails. A released delay simply goes on.
    if (hang) return false;
    return released || SteadyClock::now() < deadline;
}

void FaultScript::before_create(Deadline deadline)
{
    std::unique_lock lk(mu_);
    ++counters_.create_calls;
    const int number = ++creates_seen_;
    auto fail = [&](const std::string& message) {
        ++counters_.creates_failed;
        throw InjectedFault(message);
    };
    if (hang_creates_ || create_delay_.count() > 0) {
        const bool hang = hang_creates_;
        if (!wait(lk, deadline, create_delay_, hang))
            fail(hang ? "injected: create hung until its deadline" : "injected: create delayed past its deadline");
    }
    if (auto it = fail_numbers_.find(number); it != fail_numbers_.end()) {
        std::string message = std::move(it->second);
        fail_numbers_.erase(it);
        fail(message);
    }
    if (fatal_creates_ > 0) {
        --fatal_creates_;
        ++counters_.creates_failed;
        throw InjectedFault(fatal_message_, true);
    }
    if (fail_creates_ > 0) {
        --fail_creates_;
        fail(fail_message_);
    }
}

bool FaultScript::before_validate(Deadline deadline)
{
    std::unique_lock lk(mu_);
    ++counters_.validate_calls;
    bool ok = true;
    if (hang_validations_ || validate_delay_.count() > 0) ok = wait(lk, deadline, validate_delay_, hang_validations_);
    if (ok && fail_validations_ > 0) {
        --fail_validations_;
        ok = false;
    }
    if (!ok) ++counters_.validations_failed;
    return ok;
}

bool FaultScript::before_is_broken()
{
    std::lock_guard lk(mu_);
    ++counters_.is_broken_calls;
    if (break_checks_ == 0) return false;
    --break_checks_;
    ++counters_.broken_reported;
    return true;
}

void FaultScript::before_reset()
{
    std::unique_lock lk(mu_);
    ++counters_.reset_calls;
    if (hang_resets_) {
        // No deadline to end it: only release_hangs() (or clear()) does.
        const std::uint64_t generation = release_generation_;
        cv_.wait(lk, [&] { return release_generation_ != generation; });
        ++counters_.resets_failed;
        throw InjectedFault("injected: reset hung until released");
    }
    if (reset_delay_.count() > 0) {
        const std::uint64_t generation = release_generation_;
        cv_.wait_for(lk, reset_delay_, [&] { return release_generation_ != generation; });
    }
    if (fail_resets_ == 0) return;
    --fail_resets_;
    ++counters_.resets_failed;
    throw InjectedFault("injected: reset failed");
}

void FaultScript::on_destroy() noexcept
{
    std::lock_guard lk(mu_);
    ++counters_.destroy_calls;
}

} // namespace respool::testing
