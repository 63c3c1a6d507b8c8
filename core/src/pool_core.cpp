// PoolEngine: construction, lifetime (the one reference count), the work
// deferred past the lock, close, and the read-only views (stats, leases).
#include "pool_core_internal.hpp"
#include "printable.hpp"

#include <algorithm>
#include <cstdio>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace respool::detail {

namespace {

std::int64_t ticks_or_never(const TimeBase& t, std::chrono::milliseconds d)
{
    return d.count() == 0 ? INT64_MAX : t.to_ticks(d);
}

LeaseMode checked_mode(LeaseMode mode)
{
    if (mode.cap > respool::max_lease_cap)
        throw InvalidOptions(fmt::format("respool: invalid LeaseMode.cap: {} exceeds {} leases per resource",
                                         mode.cap, respool::max_lease_cap),
                             "LeaseMode.cap");
    return mode;
}

} // namespace

PoolEngine::PoolEngine(PoolOptions options, LeaseMode mode, Capabilities caps, std::unique_ptr<AdapterOps> ops)
    : ops_(std::move(ops)),
      opt_((validate_options(options), std::move(options))),
      shared_(checked_mode(mode).is_shared()),
      cap_(mode.cap == 0 ? 1 : mode.cap),
      caps_(caps),
      max_idle_(opt_.max_idle == 0 ? opt_.max_size : opt_.max_idle),
      time_(opt_.clock),
      validate_after_idle_ticks_(time_.to_ticks(opt_.validate_after_idle)),
      idle_timeout_ticks_(ticks_or_never(time_, opt_.idle_timeout)),
      lifetime_ticks_(ticks_or_never(time_, opt_.max_lifetime)),
      leak_threshold_ticks_(opt_.leak_mode == LeakMode::off ? INT64_MAX
                                                            : ticks_or_never(time_, opt_.leak_threshold)),
      keepalive_ticks_(ticks_or_never(time_, opt_.keepalive_interval)),
      max_lease_ticks_(ticks_or_never(time_, opt_.max_lease_time)),
      validation_is_the_judge_(caps.validate && opt_.validate_after_idle.count() == 0),
      // Capped at 1 ms whatever the window: a free resource waits at most
      // that long for a quiet waiter, at one wake-up per interval.
      quiet_cap_(std::min<std::chrono::nanoseconds>(opt_.fairness_window, std::chrono::milliseconds(1))),
      first_quiet_(std::max<std::chrono::nanoseconds>(quiet_cap_ / 8, std::chrono::microseconds(1))),
      inventory_(opt_.max_size, cap_),
      queue_(time_.to_ticks(opt_.fairness_window)),
      leases_(opt_.max_tracked_sites),
      governor_(
          CreationGovernor::Config{
              .backoff_initial = std::chrono::nanoseconds(opt_.create_backoff_initial).count(),
              .backoff_max = std::chrono::nanoseconds(opt_.create_backoff_max).count(),
              .threshold = opt_.circuit_breaker_threshold,
              .open_time = std::chrono::nanoseconds(opt_.circuit_open_time).count(),
              .failure_window = std::chrono::nanoseconds(opt_.circuit_failure_window).count(),
              .tokens_per_tick = opt_.max_creates_per_second / 1e9,
              .burst = std::max(1.0, opt_.max_creates_per_second),
              .max_concurrent = opt_.max_concurrent_creates},
          std::hash<std::string>{}(opt_.name) ^ static_cast<std::uint64_t>(SteadyClock::now().time_since_epoch().count()))
{
    ops_->core_ = this;  // before any thread can call a hook
    min_idle_ = opt_.min_idle;
    max_idle_setting_ = opt_.max_idle;
}

PoolEngine::~PoolEngine() = default;

void PoolEngine::start()
{
    Lock lk(mu_);
    if (opt_.background_housekeeping) {
        ++refs_;
        try {
            std::thread([this] { housekeeper_main(); }).detach();
        } catch (...) {
            --refs_;
            throw;
        }
    }
    start_creations_locked();  // min_idle
}

void PoolEngine::destroy_handle() noexcept
{
    close(opt_.drain_timeout);
    Lock lk(mu_);
    // Creations and validations in flight end by their deadlines. Once only
    // the handle and the leases still out hold references, no adapter hook
    // runs any more except to give those leases back.
    changed_.wait(lk, [&] { return refs_ == 1 + leases_.count(); });
    unref(lk);
}

void PoolEngine::unref(Lock& lk, Deferred* told) noexcept
{
    const bool last = --refs_ == 0;
    if (closed_ && !last) changed_.notify_all();  // drain and ~Pool wait for references to go
    lk.unlock();
    if (told) tell_waiters(*told);  // each holds a reference of its own: ours may go first
    if (last) delete this;  // the only place the state is deleted
}

std::int64_t PoolEngine::ticks_unlocked(Lock& lk) const noexcept
{
    if (!time_.manual()) return time_.ticks();  // the hardware counter: no user code
    lk.unlock();
    const std::int64_t now = time_.ticks();
    lk.lock();
    return now;
}

void PoolEngine::tell_waiters(Deferred& d) noexcept
{
    for (Waiter* w = std::exchange(d.told, nullptr); w;) {
        Waiter* next = w->next_told;  // read first: `w` may be gone once signalled
        w->signal(*w);
        w = next;
    }
    if (Waiter* w = std::exchange(d.hinted, nullptr)) w->signal(*w);
}

void PoolEngine::run_unlocked(Deferred& d) noexcept
{
    tell_waiters(d);
    if (d.rare) {
        for (std::stop_source& s : d.rare->stops) {
            RESPOOL_ASSERT_UNLOCKED();
            s.request_stop();  // runs the holders' stop callbacks, which may call back into the pool
        }
        d.rare->stops.clear();
    }
    for (Slot* s = std::exchange(d.doomed, nullptr); s;) {
        Slot* next = s->next_doomed;
        const auto reason = s->reason;
        const auto id = s->id;
        RESPOOL_ASSERT_UNLOCKED();
        destroy_slot(s);
        ++d.destroyed_by_reason.by_reason[static_cast<int>(reason)];
        ++d.destroyed;
        emit(Event{.kind = EventKind::destroyed, .pool = opt_.name, .resource_id = id, .reason = reason});
        s = next;
    }
    if (d.rare) report_creation_news(*d.rare);
    d.rare.reset();
}

void PoolEngine::report_creation_news(DeferredRare& news) noexcept
{
    if (!news.failure.empty()) {
        // A new resource failed before it served anyone: news like a failed create.
        log(news.consecutive_failures == 1 ? LogLevel::warning : LogLevel::debug,
            fmt::format("respool[{}]: {}", opt_.name, news.failure));
        emit(Event{.kind = EventKind::create_failed, .pool = opt_.name, .message = news.failure});
    }
    using T = CreationGovernor::Transition;
    if (news.transition == T::opened) {
        log(LogLevel::error, fmt::format("respool[{}]: circuit opened after {} consecutive creation failures; "
                                         "acquires fail fast for {} ms, then one probe; last error: {}",
                                         opt_.name, news.consecutive_failures, opt_.circuit_open_time.count(),
                                         news.transition_error));
        emit(Event{.kind = EventKind::circuit_opened, .pool = opt_.name, .message = news.transition_error});
    } else if (news.transition == T::closed) {
        log(LogLevel::info, fmt::format("respool[{}]: circuit closed: a probe creation succeeded", opt_.name));
        emit(Event{.kind = EventKind::circuit_closed, .pool = opt_.name});
    }
}

void PoolEngine::settle_locked(Deferred& d) noexcept
{
    if (d.destroyed == 0) return;
    for (std::size_t i = 0; i < destroy_reason_count; ++i)
        counters_.destroyed.by_reason[i] += d.destroyed_by_reason.by_reason[i];
    inventory_.destroyed(d.destroyed);
    d.destroyed = 0;
    d.destroyed_by_reason = {};
    start_creations_locked();  // their places may be wanted
    if (closed_) changed_.notify_all();
}

void PoolEngine::flush(Lock& lk, Deferred& d) noexcept
{
    if (d.empty()) return;
    lk.unlock();
    run_unlocked(d);
    lk.lock();
    settle_locked(d);
}

void PoolEngine::finish_and_unref(Lock& lk, Deferred& d) noexcept
{
    if (d.doomed == nullptr && !d.rare) [[likely]] {
        unref(lk, &d);  // only waiters to signal (or nothing)
        return;
    }
    lk.unlock();
    run_unlocked(d);
    lk.lock();
    settle_locked(d);
    unref(lk);
}

void PoolEngine::check_invariants_locked() const noexcept
{
#ifndef NDEBUG
    inventory_.check();
    std::size_t leases = 0;
    for (const Slot* s : inventory_.slots()) leases += s->leases;
    assert(leases == leases_.count() && "every lease on a slot has one record");
    for (const LeaseRecord* r = leases_.first(); r; r = r->next)
        assert(r->slot->state != SlotState::idle && r->slot->state != SlotState::destroying &&
               "a lease record points at a slot that is not held");
    assert(refs_ >= leases_.count());
#endif
}

void PoolEngine::heartbeat(LeaseRecord* rec) noexcept
{
    if (max_lease_ticks_ == INT64_MAX) return;
    const std::int64_t now = time_.ticks();
    Lock lk(mu_);
    rec->deadline_ticks = now > INT64_MAX - max_lease_ticks_ ? INT64_MAX : now + max_lease_ticks_;
    rec->overdue = false;
}

std::stop_token PoolEngine::lease_stop_token(LeaseRecord* rec)
{
    Lock lk(mu_);
    if (!rec->stop) rec->stop.emplace();
    std::stop_token token = rec->stop->get_token();
    if (closed_) {
        // Asked for after close: stopped already. Requested unlocked, because
        // requesting runs whatever callbacks are registered on it.
        std::stop_source source = *rec->stop;
        lk.unlock();
        RESPOOL_ASSERT_UNLOCKED();
        source.request_stop();
    }
    return token;
}

LeaseInfo PoolEngine::lease_info(const LeaseRecord* rec) const
{
    const std::int64_t now = time_.ticks();
    Lock lk(mu_);
    return leases_.info(*rec, now, time_);
}

std::vector<LeaseInfo> PoolEngine::leases() const
{
    const std::int64_t now = time_.ticks();
    Lock lk(mu_);
    return leases_.holders(now, time_);
}

PoolSnapshot PoolEngine::snapshot_locked() const noexcept
{
    // A resource out for a keepalive check is idle to the outside world.
    return PoolSnapshot{inventory_.max_size(),
                        inventory_.total(),
                        inventory_.count(SlotState::idle) + inventory_.pool_checks(),
                        inventory_.in_use(),
                        leases_.count(),
                        queue_.size(),
                        inventory_.creating()};
}

PoolStats PoolEngine::stats() const
{
    const std::int64_t now = time_.ticks();
    Lock lk(mu_);
    check_invariants_locked();
    const PoolSnapshot snap = snapshot_locked();
    PoolStats s;
    s.name = opt_.name;
    s.max_size = inventory_.max_size();
    s.total = snap.total;
    s.idle = snap.idle;
    s.in_use = snap.in_use;
    s.leases = snap.leases;
    s.waiting = snap.waiting;
    s.creating = snap.creating;
    counters_.fill(s);
    s.min_idle = min_idle_;
    s.max_idle = max_idle_;  // max_idle, or max_size when that is 0 (kept in step by resize)
    s.circuit = governor_.state(real_ns());
    // The pool-wide distributions are the sum of the per-site ones: one
    // histogram record per lease event on the hot path instead of two.
    s.acquire_wait = leases_.sites().total_wait().summary(time_.ns_per_tick());
    s.hold_time = leases_.sites().total_hold().summary(time_.ns_per_tick());
    s.sites = leases_.sites().snapshot(time_.ns_per_tick());
    s.resources.reserve(inventory_.slots().size());
    for (const Slot* sl : inventory_.slots())
        s.resources.push_back(ResourceStats{
            sl->id, sl->leases, time_.to_duration(now - sl->created_ticks),
            sl->leases == 0 ? time_.to_duration(now - sl->idle_since_ticks) : std::chrono::nanoseconds{},
            sl->state == SlotState::retiring});
    s.closed = closed_;
    return s;
}

bool PoolEngine::close(std::chrono::milliseconds drain_timeout)
{
    Deferred d;
    Lock lk(mu_);
    ++refs_;
    const bool first = !closed_;
    if (first) {
        closed_ = true;
        while (Waiter* w = queue_.front()) tell_locked(*w, WaitOutcome::closed, d);
        // Idle ones go now; held and checked ones when their holders let go.
        const auto& slots = inventory_.slots();
        for (std::size_t i = slots.size(); i-- > 0;) retire_locked(slots[i], DestroyReason::closed, d);
        leases_.collect_stops(d.more().stops);  // ask holders to let go, once unlocked
        d.more().stops.push_back(creation_stop_);  // and creations in flight to give up
        changed_.notify_all();
    }
    check_invariants_locked();
    lk.unlock();
    run_unlocked(d);
    if (first) emit(Event{.kind = EventKind::pool_closed, .pool = opt_.name});
    lk.lock();
    settle_locked(d);

    // Drained means every lease is back and its resource destroyed.
    const auto drained_now = [&] { return leases_.count() == 0 && inventory_.count(SlotState::destroying) == 0; };
    const Deadline until = deadline_after(drain_timeout);
    if (until == Deadline::max()) changed_.wait(lk, drained_now);
    else changed_.wait_until(lk, until, drained_now);
    const bool drained = leases_.count() == 0;
    std::vector<LeaseInfo> leaked;
    if (!drained && opt_.leak_mode == LeakMode::strict && !strict_reported_) {
        strict_reported_ = true;
        const std::int64_t now = ticks_unlocked(lk);
        leaked = leases_.holders(now, time_);
    }
    lk.unlock();
    for (const LeaseInfo& l : leaked) {
        log(LogLevel::error, fmt::format("respool[{}]: lease never returned (strict leak mode): {}", opt_.name,
                                         describe(l)));
        emit(Event{.kind = EventKind::leak_at_close, .pool = opt_.name, .resource_id = l.resource_id,
                   .duration = l.age, .site = l.site, .thread = l.thread});
    }
    lk.lock();
    unref(lk);
    return drained;
}

void PoolEngine::emit(const Event& event) const noexcept
{
    RESPOOL_ASSERT_UNLOCKED();
    if (opt_.listener) opt_.listener->on_event(event);
}

void PoolEngine::log(LogLevel level, const std::string& message) const noexcept
{
    RESPOOL_ASSERT_UNLOCKED();
    try {
        // One line, whatever a pool name or a server's error text contains.
        const std::string line = printable(message);
        if (opt_.logger) opt_.logger(level, line);
        else if (level >= LogLevel::warning) std::fprintf(stderr, "%s\n", line.c_str());
    } catch (...) {
        // A logger that throws loses its line; the pool carries on.
    }
}

} // namespace respool::detail
