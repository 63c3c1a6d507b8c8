// The fake adapter's controller, leak reports and polling helper of
// <respool/testing.hpp>.
#include <respool/testing.hpp>

#include <fmt/format.h>

namespace respool::testing {

FakeResource::Use FakeResource::use() const
{
    controller->begin_use(serial, true);
    return Use(this);
}

FakeResource::Use::~Use()
{
    if (res_) res_->controller->end_use(res_->serial);
}

// --- scripted faults: the script's, under the fake's names ---
void FakeController::fail_next_creates(int n, std::string message) { script_->fail_next_creates(n, std::move(message)); }
void FakeController::fail_next_creates_fatally(int n, std::string message)
{
    script_->fail_next_creates_fatally(n, std::move(message));
}
void FakeController::fail_create_number(int k)
{
    script_->fail_create_number(k, fmt::format("fake: create #{} failed as scripted", k));
}
void FakeController::set_create_delay(std::chrono::milliseconds d) { script_->delay_creates(d); }
void FakeController::hang_creates(bool on) { script_->hang_creates(on); }
void FakeController::fail_next_validations(int n) { script_->fail_next_validations(n); }
void FakeController::set_validate_delay(std::chrono::milliseconds d) { script_->delay_validations(d); }
void FakeController::hang_validations(bool on) { script_->hang_validations(on); }
void FakeController::hang_resets(bool on) { script_->hang_resets(on); }
void FakeController::set_reset_delay(std::chrono::milliseconds d) { script_->delay_resets(d); }
void FakeController::break_next_checks(int n) { script_->break_next_checks(n); }
void FakeController::fail_next_resets(int n) { script_->fail_next_resets(n); }

void FakeController::break_resource(std::uint64_t serial)
{
    std::lock_guard lk(mu_);
    resources_[serial].broken = true;
}

void FakeController::set_random_faults(const FakeRandomFaults& faults)
{
    std::lock_guard lk(mu_);
    random_ = faults;
    random_on_ = true;
    rng_.seed(faults.seed);
}

void FakeController::release_hangs()
{
    script_->release_hangs();
    std::lock_guard lk(mu_);
    random_.create_hang = random_.validate_hang = 0;
    ++hang_generation_;
    cv_.notify_all();
}

int FakeController::created() const { std::lock_guard lk(mu_); return created_; }
int FakeController::destroyed() const { std::lock_guard lk(mu_); return destroyed_; }
int FakeController::live() const { std::lock_guard lk(mu_); return created_ - destroyed_; }
int FakeController::max_live() const { std::lock_guard lk(mu_); return max_live_; }
int FakeController::create_calls() const { return script_->counters().create_calls; }
int FakeController::creates_in_flight() const { std::lock_guard lk(mu_); return in_flight_; }
int FakeController::max_creates_in_flight() const { std::lock_guard lk(mu_); return max_in_flight_; }
int FakeController::validate_calls() const { return script_->counters().validate_calls; }
int FakeController::reset_calls() const { return script_->counters().reset_calls; }
std::vector<std::string> FakeController::violations() const { std::lock_guard lk(mu_); return violations_; }

bool FakeController::roll(double p)
{
    return random_on_ && p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p;
}

void FakeController::violation(std::string what)
{
    if (violations_.size() < 100) violations_.push_back(std::move(what));
}

// Random faults only (scripted ones wait in the script): sleeps `delay`, or
// until the deadline when `hang`; false when the deadline came first. Ends
// early, successfully, on release_hangs().
bool FakeController::random_wait(std::unique_lock<std::mutex>& lk, Deadline d, std::chrono::milliseconds delay,
                                 bool hang)
{
    const std::uint64_t generation = hang_generation_;
    const Deadline until = hang ? d : std::min(d, deadline_after(delay));
    cv_.wait_until(lk, until, [&] { return hang_generation_ != generation; });
    if (hang_generation_ != generation) return true;
    return SteadyClock::now() < d;
}

FakeResource FakeController::create(std::shared_ptr<FakeController> self, Deadline d)
{
    std::unique_lock lk(mu_);
    max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
    struct InFlight {
        int& n;
        ~InFlight() { --n; }  // runs with mu_ held: every exit below holds it
    } in_flight{in_flight_};

    // The script may wait (a delay, a hang): not under the fake's lock.
    lk.unlock();
    try {
        script_->before_create(d);
    } catch (...) {
        lk.lock();
        throw;
    }
    lk.lock();
    const bool hang = roll(random_.create_hang);
    if (hang || roll(random_.create_delay)) {
        if (!random_wait(lk, d, random_.delay, hang)) throw FakeError("fake: create ran out of time at its deadline");
    }
    if (roll(random_.create_failure)) throw FakeError("fake: random create failure");
    const std::uint64_t serial = next_serial_++;
    resources_[serial] = Entry{};
    ++created_;
    max_live_ = std::max(max_live_, created_ - destroyed_);
    return FakeResource{serial, std::move(self)};
}

bool FakeController::is_broken(const FakeResource& r)
{
    const bool scripted = script_->before_is_broken();
    std::lock_guard lk(mu_);
    auto it = resources_.find(r.serial);
    if (it == resources_.end() || !it->second.alive) {
        violation(fmt::format("is_broken on destroyed resource #{}", r.serial));
        return true;
    }
    if (scripted) it->second.broken = true;
    if (roll(random_.broken_on_check)) it->second.broken = true;
    return it->second.broken;
}

bool FakeController::validate(FakeResource& r, Deadline d)
{
    {
        std::lock_guard lk(mu_);
        auto it = resources_.find(r.serial);
        if (it == resources_.end() || !it->second.alive) {
            violation(fmt::format("validate on destroyed resource #{}", r.serial));
            return false;
        }
    }
    if (!script_->before_validate(d)) return false;
    std::unique_lock lk(mu_);
    if (roll(random_.validate_hang) && !random_wait(lk, d, std::chrono::milliseconds(0), true)) return false;
    return !roll(random_.validate_failure);
}

void FakeController::reset(FakeResource& r)
{
    {
        std::lock_guard lk(mu_);
        auto it = resources_.find(r.serial);
        if (it == resources_.end() || !it->second.alive)
            violation(fmt::format("reset on destroyed resource #{}", r.serial));
    }
    script_->before_reset();
    std::lock_guard lk(mu_);
    if (roll(random_.reset_failure)) throw FakeError("fake: random reset failure");
}

void FakeController::destroy(FakeResource& r) noexcept
{
    script_->on_destroy();
    std::lock_guard lk(mu_);
    auto it = resources_.find(r.serial);
    if (it == resources_.end() || !it->second.alive) {
        violation(fmt::format("resource #{} destroyed twice", r.serial));
        return;
    }
    if (it->second.users > 0) violation(fmt::format("resource #{} destroyed while in use", r.serial));
    it->second.alive = false;
    ++destroyed_;
}

void FakeController::begin_use(std::uint64_t serial, bool exclusive)
{
    std::lock_guard lk(mu_);
    auto it = resources_.find(serial);
    if (it == resources_.end() || !it->second.alive) {
        violation(fmt::format("resource #{} used after it was destroyed", serial));
        return;
    }
    if (exclusive && exclusive_ && it->second.users > 0)
        violation(fmt::format("resource #{} held by two exclusive leases at once", serial));
    ++it->second.users;
}

void FakeController::end_use(std::uint64_t serial) noexcept
{
    std::lock_guard lk(mu_);
    auto it = resources_.find(serial);
    if (it != resources_.end() && it->second.users > 0) --it->second.users;
}

std::string leak_report(const std::vector<LeaseInfo>& leases)
{
    std::string out;
    for (const LeaseInfo& l : leases) out += "leaked: " + describe(l) + "\n";
    return out;
}

void LeakRecorder::on_event(const Event& e) noexcept
{
    if (e.kind != EventKind::leak_at_close && e.kind != EventKind::leak_suspected) return;
    try {
        std::lock_guard lk(mu_);
        LeaseInfo info{e.site, e.thread, e.duration, e.resource_id, e.kind == EventKind::leak_suspected, false};
        (e.kind == EventKind::leak_at_close ? leaked_ : suspected_).push_back(info);
    } catch (...) {
    }
}

std::vector<LeaseInfo> LeakRecorder::leaked() const { std::lock_guard lk(mu_); return leaked_; }
std::vector<LeaseInfo> LeakRecorder::suspected() const { std::lock_guard lk(mu_); return suspected_; }
std::string LeakRecorder::report() const { return leak_report(leaked()); }

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout)
{
    const Deadline until = deadline_after(timeout);
    while (!done()) {
        if (SteadyClock::now() >= until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

} // namespace respool::testing
