// PoolCore: construction, release and placement of returned resources,
// destruction, close, and the read-only views (stats, leases).
#include "pool_core_internal.hpp"

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
} // namespace

PoolCore::PoolCore(PoolOptions options, LeaseMode mode, Capabilities caps)
    : opt_((validate_options(options), std::move(options))),
      shared_(mode.is_shared()),
      cap_(mode.cap == 0 ? 1 : mode.cap),
      caps_(caps),
      max_idle_(opt_.max_idle == 0 ? opt_.max_size : opt_.max_idle),
      time_(opt_.clock),
      validate_after_idle_ticks_(time_.to_ticks(opt_.validate_after_idle)),
      idle_timeout_ticks_(ticks_or_never(time_, opt_.idle_timeout)),
      lifetime_ticks_(ticks_or_never(time_, opt_.max_lifetime)),
      leak_threshold_ticks_(opt_.leak_mode == LeakMode::off ? INT64_MAX
                                                            : ticks_or_never(time_, opt_.leak_threshold)),
      fairness_ticks_(time_.to_ticks(opt_.fairness_window)),
      keepalive_ticks_(ticks_or_never(time_, opt_.keepalive_interval)),
      max_lease_ticks_(ticks_or_never(time_, opt_.max_lease_time)),
      idle_(opt_.max_size),
      governor_(
          CreationGovernor::Config{
              .backoff_initial = std::chrono::nanoseconds(opt_.create_backoff_initial).count(),
              .backoff_max = std::chrono::nanoseconds(opt_.create_backoff_max).count(),
              .threshold = opt_.circuit_breaker_threshold,
              .open_time = std::chrono::nanoseconds(opt_.circuit_open_time).count(),
              .tokens_per_tick = opt_.max_creates_per_second / 1e9,
              .burst = std::max(1.0, opt_.max_creates_per_second),
              .max_concurrent = opt_.max_concurrent_creates},
          std::hash<std::string>{}(opt_.name) ^ static_cast<std::uint64_t>(SteadyClock::now().time_since_epoch().count())),
      sites_(opt_.max_tracked_sites)
{
    slots_.reserve(opt_.max_size);
}

PoolCore::~PoolCore()
{
    while (free_records_) {
        LeaseRecord* r = free_records_;
        free_records_ = r->next;
        delete r;
    }
}

void PoolCore::start()
{
    std::lock_guard lk(mu_);
    if (opt_.background_housekeeping) {
        ++threads_;
        try {
            std::thread([this] { housekeeper_main(); }).detach();
        } catch (...) {
            --threads_;
            throw;
        }
    }
    start_creations_locked();  // min_idle
}

void PoolCore::destroy_handle() noexcept
{
    close(opt_.drain_timeout);
    std::unique_lock lk(mu_);
    // Creations and validations in flight end by their deadlines; after this
    // no adapter hook runs except to destroy resources of leases still out.
    state_cv_.wait(lk, [&] { return threads_ == 0 && callers_ == 0 && destroying_ == 0; });
    handle_alive_ = false;
    const bool last = unreferenced_locked();
    lk.unlock();
    if (last) delete this;
}

bool PoolCore::unreferenced_locked() const noexcept
{
    return !handle_alive_ && leases_out_ == 0 && threads_ == 0 && callers_ == 0 && destroying_ == 0;
}

void PoolCore::release(LeaseRecord* rec) noexcept
{
    const std::int64_t now = time_.ticks();
    Slot* slot = rec->slot;
    bool broken = rec->broken;
    // An exclusive resource is the holder's alone until it is back in the pool,
    // so it can be checked and reset without the lock.
    if (!broken && caps_.is_broken) broken = slot_is_broken(*slot);
    if (!broken && caps_.reset && !shared_) broken = !reset_slot(*slot);
    // The hold time's bucket is worked out before the lock is taken: the
    // clock read and the arithmetic after it stay out of the critical section.
    const std::int64_t held = now - rec->acquired_ticks;
    const int held_bucket = Histogram::index(held);

    Deferred deferred;
    std::unique_lock lk(mu_);
    const bool was_reported = rec->leak_reported;
    const std::source_location site = rec->site;
    const std::thread::id thread = rec->thread;
    if (rec->reclaimed) broken = true;  // interrupted by the pool: never lend it again
    sites_.on_release(rec->site_index, held, held_bucket);
    slot->last_holder = thread;
    unlease_locked(rec);
    place_locked(slot, broken, now, deferred);
    const bool drained = closed_ && leases_out_ == 0;
    if (drained) state_cv_.notify_all();
    const std::uint64_t id = slot->id;  // the slot may be gone once the lock is released
    if (was_reported) ++callers_;       // keeps `this` while we report without the lock
    const bool last = deferred.empty() && unreferenced_locked();
    lk.unlock();

    if (was_reported) {
        Event e{.kind = EventKind::leak_returned, .pool = opt_.name, .resource_id = id,
                .duration = time_.to_duration(held), .site = site, .thread = thread};
        log(LogLevel::warning, fmt::format("respool[{}]: the lease acquired at {} that was reported as a leak "
                                           "was returned after all, held {}",
                                           opt_.name, format_site(site), format_duration(e.duration)));
        emit(e);
        lk.lock();
        --callers_;
        if (closed_ && callers_ == 0) state_cv_.notify_all();
        const bool now_last = deferred.empty() && unreferenced_locked();
        lk.unlock();
        if (!deferred.empty()) finish(deferred);  // may delete this
        else if (now_last) delete this;
        return;
    }
    if (!deferred.empty()) {
        finish(deferred);  // may delete this
        return;
    }
    if (last) delete this;
}

void PoolCore::unlease_locked(LeaseRecord* rec) noexcept
{
    if (rec->prev) rec->prev->next = rec->next;
    else outstanding_ = rec->next;
    if (rec->next) rec->next->prev = rec->prev;
    rec->stop.reset();
    rec->prev = nullptr;
    rec->next = free_records_;
    free_records_ = rec;
    --leases_out_;
    Slot* slot = rec->slot;
    if (--slot->leases == 0) --in_use_;
}

void PoolCore::place_locked(Slot* slot, bool broken, std::int64_t now, Deferred& deferred) noexcept
{
    if (slot->leases == 0) {
        slot->idle_since_ticks = now;
        if (keepalive_ticks_ != INT64_MAX) slot->keepalive_due_ticks = keepalive_due_locked(now);
    }
    if (broken && !slot->retiring) {
        slot->retiring = true;
        slot->destroy_reason = DestroyReason::broken;
    }
    if (closed_) {
        if (slot->leases == 0) doom_locked(slot, DestroyReason::closed, deferred);
        return;
    }
    if (slot->retiring) {
        if (slot->leases == 0) doom_locked(slot, slot->destroy_reason, deferred);
        return;
    }
    if (!shared_ && now >= slot->expires_ticks) {
        doom_locked(slot, DestroyReason::lifetime, deferred);
        return;
    }
    if (waiters_head_ && slot->leases < cap_) {
        Waiter* w = waiters_head_;
        // Past the fairness window the oldest waiter gets the resource
        // directly; within it, running threads may take it first.
        if (fairness_ticks_ == 0 || now - w->enqueued_ticks >= fairness_ticks_) {
            grant_locked(w, slot, now, deferred);
            return;
        }
        if (!shared_) idle_.push_back(slot);
        wake_front_locked();
        return;
    }
    if (shared_) {
        if (slot->leases == 0) {
            std::size_t idle = 0;
            for (Slot* s : slots_) idle += s->leases == 0 ? 1 : 0;
            if (idle > max_idle_) doom_locked(slot, DestroyReason::idle, deferred);
        }
        return;
    }
    if (idle_.size() >= max_idle_) doom_locked(slot, DestroyReason::idle, deferred);
    else idle_.push_back(slot);
}

std::int64_t PoolCore::keepalive_due_locked(std::int64_t now) noexcept
{
    // Up to 10 % early, so resources returned together are not all checked together.
    const double early = 0.1 * std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    const auto interval = keepalive_ticks_ - static_cast<std::int64_t>(static_cast<double>(keepalive_ticks_) * early);
    return now > INT64_MAX - interval ? INT64_MAX : now + interval;
}

void PoolCore::doom_locked(Slot* slot, DestroyReason reason, Deferred& deferred) noexcept
{
    auto it = std::find(slots_.begin(), slots_.end(), slot);
    if (it != slots_.end()) {
        *it = slots_.back();
        slots_.pop_back();
    }
    if (slot->replacement_requested) {
        // Destroyed before its replacement arrived: that creation is for capacity now, not for it.
        slot->replacement_requested = false;
        --pending_replacements_;
    }
    slot->destroy_reason = reason;
    slot->next_doomed = deferred.doomed;
    deferred.doomed = slot;
    ++destroying_;
}

void PoolCore::finish(Deferred& deferred) noexcept
{
    // Granted waiters first: they are ready to run. Once posted they may
    // return, use and give back their leases at once, so from here only the
    // doomed slots (counted in `destroying_`) keep the pool alive.
    for (Waiter* w = std::exchange(deferred.granted, nullptr); w;) {
        Waiter* next = w->next_granted;  // read before the post: `w` may be gone after it
        w->parker.post();
        w = next;
    }
    if (!deferred.doomed) return;  // nothing of `this` may be touched now
    std::size_t count = 0;
    DestroyCounts counts;
    for (Slot* s = deferred.doomed; s;) {
        Slot* next = s->next_doomed;
        const auto reason = s->destroy_reason;
        const auto id = s->id;
        destroy_slot(s);
        ++counts.by_reason[static_cast<int>(reason)];
        ++count;
        emit(Event{.kind = EventKind::destroyed, .pool = opt_.name, .resource_id = id, .reason = reason});
        s = next;
    }
    deferred.doomed = nullptr;
    std::unique_lock lk(mu_);
    for (std::size_t i = 0; i < destroy_reason_count; ++i) destroyed_.by_reason[i] += counts.by_reason[i];
    destroying_ -= count;
    total_ -= count;
    start_creations_locked();  // room for waiters' replacements
    if (destroying_ == 0) state_cv_.notify_all();
    const bool last = unreferenced_locked();
    lk.unlock();
    if (last) delete this;
}

void PoolCore::heartbeat(LeaseRecord* rec) noexcept
{
    if (max_lease_ticks_ == INT64_MAX) return;
    const std::int64_t now = time_.ticks();
    std::lock_guard lk(mu_);
    rec->deadline_ticks = now > INT64_MAX - max_lease_ticks_ ? INT64_MAX : now + max_lease_ticks_;
    rec->overdue = false;
}

std::stop_token PoolCore::lease_stop_token(LeaseRecord* rec)
{
    std::lock_guard lk(mu_);
    if (!rec->stop) rec->stop.emplace();
    if (closed_) rec->stop->request_stop();
    return rec->stop->get_token();
}

LeaseInfo PoolCore::lease_info(const LeaseRecord* rec) const
{
    const std::int64_t now = time_.ticks();
    std::lock_guard lk(mu_);
    return LeaseInfo{rec->site,          rec->thread,  time_.to_duration(now - rec->acquired_ticks),
                     rec->slot->id,      rec->leak_reported, rec->overdue, rec->reclaimed};
}

std::vector<LeaseInfo> PoolCore::holders_locked(std::int64_t now) const
{
    std::vector<LeaseInfo> out;
    out.reserve(leases_out_);
    for (const LeaseRecord* r = outstanding_; r; r = r->next)
        out.push_back(LeaseInfo{r->site, r->thread, time_.to_duration(now - r->acquired_ticks), r->slot->id,
                                r->leak_reported, r->overdue, r->reclaimed});
    std::sort(out.begin(), out.end(), [](const LeaseInfo& a, const LeaseInfo& b) { return a.age > b.age; });
    return out;
}

std::vector<LeaseInfo> PoolCore::leases() const
{
    const std::int64_t now = time_.ticks();
    std::lock_guard lk(mu_);
    return holders_locked(now);
}

PoolSnapshot PoolCore::snapshot_locked() const noexcept
{
    std::size_t idle = idle_.size() + checking_;  // being checked still counts as idle
    if (shared_) {
        idle = 0;
        for (const Slot* s : slots_) idle += s->leases == 0 ? 1 : 0;
    }
    return PoolSnapshot{opt_.max_size, total_, idle, in_use_, leases_out_, waiting_, creating_};
}

PoolStats PoolCore::stats() const
{
    const std::int64_t now = time_.ticks();
    std::lock_guard lk(mu_);
    const PoolSnapshot snap = snapshot_locked();
    PoolStats s;
    s.name = opt_.name;
    s.max_size = opt_.max_size;
    s.total = snap.total;
    s.idle = snap.idle;
    s.in_use = snap.in_use;
    s.leases = snap.leases;
    s.waiting = snap.waiting;
    s.creating = snap.creating;
    s.acquired = acquired_;
    s.created = created_;
    s.destroyed = destroyed_;
    s.create_failures = create_failures_;
    s.timeouts = timeouts_;
    s.cancellations = cancellations_;
    s.rejections = rejections_;
    s.validations = validations_;
    s.validation_failures = validation_failures_;
    s.leaks_suspected = leaks_suspected_;
    s.leases_overdue = leases_overdue_;
    s.keepalives = keepalives_;
    s.keepalive_failures = keepalive_failures_;
    s.circuit_opened = circuit_opened_;
    s.fast_failures = fast_failures_;
    s.circuit = governor_.state(real_ns());
    // The pool-wide distributions are the sum of the per-site ones: one
    // histogram record per lease event on the hot path instead of two.
    s.acquire_wait = sites_.total_wait().summary(time_.ns_per_tick());
    s.hold_time = sites_.total_hold().summary(time_.ns_per_tick());
    s.create_time = create_hist_.summary();
    s.sites = sites_.snapshot(time_.ns_per_tick());
    s.resources.reserve(slots_.size());
    for (const Slot* sl : slots_)
        s.resources.push_back(ResourceStats{
            sl->id, sl->leases, time_.to_duration(now - sl->created_ticks),
            sl->leases == 0 ? time_.to_duration(now - sl->idle_since_ticks) : std::chrono::nanoseconds{},
            sl->retiring});
    s.last_create_error = last_create_error_;
    s.closed = closed_;
    return s;
}

bool PoolCore::close(std::chrono::milliseconds drain_timeout)
{
    Deferred deferred;
    std::unique_lock lk(mu_);
    const bool first = !closed_;
    if (first) {
        closed_ = true;
        while (!idle_.empty()) doom_locked(idle_.pop_front(), DestroyReason::closed, deferred);
        for (std::size_t i = slots_.size(); i-- > 0;)
            if (shared_ && slots_[i]->leases == 0) doom_locked(slots_[i], DestroyReason::closed, deferred);
        for (LeaseRecord* r = outstanding_; r; r = r->next)
            if (r->stop) r->stop->request_stop();
        for (Waiter* w = waiters_head_; w; w = w->next) {
            ++w->promised;
            w->parker.post();
        }
        state_cv_.notify_all();
    }
    lk.unlock();
    if (first) emit(Event{.kind = EventKind::pool_closed, .pool = opt_.name});
    if (!deferred.empty()) finish(deferred);  // the handle is alive here, so `this` survives

    lk.lock();
    // Drained means every lease is back and its resource destroyed.
    state_cv_.wait_until(lk, deadline_after(drain_timeout), [&] { return leases_out_ == 0 && destroying_ == 0; });
    const bool drained = leases_out_ == 0;
    std::vector<LeaseInfo> leaked;
    if (!drained && opt_.leak_mode == LeakMode::strict && !strict_reported_) {
        strict_reported_ = true;
        leaked = holders_locked(time_.ticks());
    }
    lk.unlock();
    for (const LeaseInfo& l : leaked) {
        log(LogLevel::error, fmt::format("respool[{}]: lease never returned (strict leak mode): {}", opt_.name,
                                         describe(l)));
        emit(Event{.kind = EventKind::leak_at_close, .pool = opt_.name, .resource_id = l.resource_id,
                   .duration = l.age, .site = l.site, .thread = l.thread});
    }
    return drained;
}

void PoolCore::emit(const Event& event) const noexcept
{
    if (opt_.listener) opt_.listener->on_event(event);
}

void PoolCore::log(LogLevel level, const std::string& message) const noexcept
{
    try {
        if (opt_.logger) opt_.logger(level, message);
        else if (level >= LogLevel::warning) std::fprintf(stderr, "%s\n", message.c_str());
    } catch (...) {
        // A logger that throws loses its line; the pool carries on.
    }
}

} // namespace respool::detail
