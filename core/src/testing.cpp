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

void FakeController::fail_next_creates(int n, std::string message)
{
    std::lock_guard lk(mu_);
    fail_creates_ = n;
    create_message_ = std::move(message);
}
void FakeController::fail_create_number(int k) { std::lock_guard lk(mu_); fail_create_number_ = k; }
void FakeController::set_create_delay(std::chrono::milliseconds d) { std::lock_guard lk(mu_); create_delay_ = d; }
void FakeController::hang_creates(bool on) { std::lock_guard lk(mu_); hang_creates_ = on; }
void FakeController::fail_next_validations(int n) { std::lock_guard lk(mu_); fail_validations_ = n; }
void FakeController::set_validate_delay(std::chrono::milliseconds d) { std::lock_guard lk(mu_); validate_delay_ = d; }
void FakeController::hang_validations(bool on) { std::lock_guard lk(mu_); hang_validations_ = on; }
void FakeController::break_next_checks(int n) { std::lock_guard lk(mu_); break_checks_ = n; }
void FakeController::fail_next_resets(int n) { std::lock_guard lk(mu_); fail_resets_ = n; }

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
    std::lock_guard lk(mu_);
    hang_creates_ = hang_validations_ = false;
    random_.create_hang = random_.validate_hang = 0;
    ++hang_generation_;
    cv_.notify_all();
}

int FakeController::created() const { std::lock_guard lk(mu_); return created_; }
int FakeController::destroyed() const { std::lock_guard lk(mu_); return destroyed_; }
int FakeController::live() const { std::lock_guard lk(mu_); return created_ - destroyed_; }
int FakeController::max_live() const { std::lock_guard lk(mu_); return max_live_; }
int FakeController::create_calls() const { std::lock_guard lk(mu_); return create_calls_; }
int FakeController::creates_in_flight() const { std::lock_guard lk(mu_); return in_flight_; }
int FakeController::max_creates_in_flight() const { std::lock_guard lk(mu_); return max_in_flight_; }
int FakeController::validate_calls() const { std::lock_guard lk(mu_); return validate_calls_; }
int FakeController::reset_calls() const { std::lock_guard lk(mu_); return reset_calls_; }
std::vector<std::string> FakeController::violations() const { std::lock_guard lk(mu_); return violations_; }

bool FakeController::roll(double p)
{
    return random_on_ && p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p;
}

void FakeController::violation(std::string what)
{
    if (violations_.size() < 100) violations_.push_back(std::move(what));
}

// Sleeps `delay`, or until the deadline when `hang`; false when the deadline
// came first. Hangs end early on release_hangs().
bool FakeController::sleep_or_hang(std::unique_lock<std::mutex>& lk, Deadline d, std::chrono::milliseconds delay,
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
    const int number = ++create_calls_;
    max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
    struct InFlight {
        int& n;
        ~InFlight() { --n; }
    } in_flight{in_flight_};

    const bool hang = hang_creates_ || roll(random_.create_hang);
    const auto delay = roll(random_.create_delay) ? random_.delay : create_delay_;
    if (hang || delay.count() > 0) {
        if (!sleep_or_hang(lk, d, delay, hang)) throw FakeError("fake: create ran out of time at its deadline");
    }
    if (fail_creates_ > 0) {
        --fail_creates_;
        throw FakeError(create_message_);
    }
    if (number == fail_create_number_) throw FakeError(fmt::format("fake: create #{} failed as scripted", number));
    if (roll(random_.create_failure)) throw FakeError("fake: random create failure");
    const std::uint64_t serial = next_serial_++;
    resources_[serial] = Entry{};
    ++created_;
    max_live_ = std::max(max_live_, created_ - destroyed_);
    return FakeResource{serial, std::move(self)};
}

bool FakeController::is_broken(const FakeResource& r)
{
    std::lock_guard lk(mu_);
    auto it = resources_.find(r.serial);
    if (it == resources_.end() || !it->second.alive) {
        violation(fmt::format("is_broken on destroyed resource #{}", r.serial));
        return true;
    }
    if (break_checks_ > 0) {
        --break_checks_;
        it->second.broken = true;
    }
    if (roll(random_.broken_on_check)) it->second.broken = true;
    return it->second.broken;
}

bool FakeController::validate(FakeResource& r, Deadline d)
{
    std::unique_lock lk(mu_);
    ++validate_calls_;
    auto it = resources_.find(r.serial);
    if (it == resources_.end() || !it->second.alive) {
        violation(fmt::format("validate on destroyed resource #{}", r.serial));
        return false;
    }
    const bool hang = hang_validations_ || roll(random_.validate_hang);
    if (hang || validate_delay_.count() > 0) {
        if (!sleep_or_hang(lk, d, validate_delay_, hang)) return false;
    }
    if (fail_validations_ > 0) {
        --fail_validations_;
        return false;
    }
    return !roll(random_.validate_failure);
}

void FakeController::reset(FakeResource& r)
{
    std::lock_guard lk(mu_);
    ++reset_calls_;
    auto it = resources_.find(r.serial);
    if (it == resources_.end() || !it->second.alive) violation(fmt::format("reset on destroyed resource #{}", r.serial));
    if (fail_resets_ > 0) {
        --fail_resets_;
        throw FakeError("fake: reset failed as scripted");
    }
    if (roll(random_.reset_failure)) throw FakeError("fake: random reset failure");
}

void FakeController::destroy(FakeResource& r) noexcept
{
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
