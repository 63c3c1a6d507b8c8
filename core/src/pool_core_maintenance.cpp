// PoolCore: the pool's own threads — creators (at most
// max_concurrent_creates, each living while there is demand) and the
// housekeeper (eviction, lifetime, refill, leak scan).
#include "pool_core_internal.hpp"

#include <thread>

#include <fmt/format.h>

namespace respool::detail {

std::size_t PoolCore::creation_demand_locked() const noexcept
{
    if (closed_) return 0;
    std::size_t idle = 0, spare = 0;  // spare: lease places free on usable resources
    if (shared_) {
        for (const Slot* s : slots_) {
            if (s->retiring) continue;
            idle += s->leases == 0 ? 1 : 0;
            spare += cap_ - s->leases;
        }
    } else {
        idle = spare = idle_.size();
        idle += checking_;  // back in the idle list after their keepalive check
    }
    // Each resource in creation will serve `cap_` waiters.
    const std::size_t covered = spare + creating_ * cap_;
    std::size_t need = waiting_ > covered ? (waiting_ - covered + cap_ - 1) / cap_ : 0;
    const std::size_t ready = idle + creating_;
    if (opt_.min_idle > ready) need = std::max(need, opt_.min_idle - ready);
    if (pending_replacements_ > creating_) need = std::max(need, pending_replacements_ - creating_);
    return need;
}

void PoolCore::start_creations_locked() noexcept
{
    if (closed_) return;
    const std::size_t want = creation_demand_locked();
    if (want == 0) return;
    // One thread per creation allowed in flight; each loops while there is
    // demand, so a burst of waiters does not spawn a burst of threads.
    const std::size_t target = std::min(governor_.concurrency(real_ns()), creating_ + want);
    while (creators_ < target && total_ + (creators_ - std::min(creators_, creating_)) < opt_.max_size) {
        ++creators_;
        ++threads_;
        try {
            std::thread([this] { creator_main(); }).detach();
        } catch (...) {
            // No thread to be had now: the next demand or housekeeping tries again.
            --creators_;
            --threads_;
            return;
        }
    }
}

std::int64_t PoolCore::lifetime_for_new_slot_locked() noexcept
{
    if (lifetime_ticks_ == INT64_MAX) return INT64_MAX;
    // Subtract up to `lifetime_jitter` of the lifetime, so resources made
    // together (a cold start, a recovery) do not all retire together.
    const double jitter = opt_.lifetime_jitter * std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    return lifetime_ticks_ - static_cast<std::int64_t>(static_cast<double>(lifetime_ticks_) * jitter);
}

void PoolCore::creator_main() noexcept
{
    std::unique_lock lk(mu_);
    for (;;) {
        if (closed_ || creation_demand_locked() == 0 || total_ >= opt_.max_size) break;
        const std::int64_t now = real_ns();
        std::int64_t retry_at = CreationGovernor::never;
        if (!governor_.try_start(now, creating_, retry_at)) {
            if (retry_at == CreationGovernor::never) break;  // another creation's result decides
            // Back-off, open breaker or rate limit: wait (closing wakes us), then look again.
            state_cv_.wait_for(lk, std::chrono::nanoseconds(retry_at - now), [&] { return closed_; });
            continue;
        }
        ++creating_;
        ++total_;
        lk.unlock();

        const auto t0 = SteadyClock::now();
        Slot* slot = nullptr;
        std::exception_ptr error;
        std::string error_text;
        try {
            slot = create_slot(deadline_after(opt_.create_timeout, t0));
        } catch (const std::exception& e) {
            error = std::current_exception();
            error_text = e.what();
        } catch (...) {
            error = std::current_exception();
            error_text = "create() threw an exception not derived from std::exception";
        }
        const auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - t0);
        const std::int64_t done = time_.ticks();

        Deferred deferred;
        lk.lock();
        --creating_;
        std::uint64_t id = 0;
        auto transition = CreationGovernor::Transition::none;
        if (slot) {
            transition = governor_.on_success(real_ns());
            ++created_;
            create_hist_.record(took.count());
            slot->id = id = next_id_++;
            slot->created_ticks = slot->idle_since_ticks = done;
            const std::int64_t life = lifetime_for_new_slot_locked();
            slot->expires_ticks = life == INT64_MAX || done > INT64_MAX - life ? INT64_MAX : done + life;
            if (keepalive_ticks_ != INT64_MAX) slot->keepalive_due_ticks = keepalive_due_locked(done);
            slots_.push_back(slot);
            deliver_locked(slot, done, deferred);
        } else {
            transition = governor_.on_failure(real_ns());
            --total_;
            ++create_failures_;
            last_create_error_ = error_text;
            last_create_exception_ = error;
            fail_front_waiter_locked(error, error_text);
            if (transition == CreationGovernor::Transition::opened) ++circuit_opened_;
            if (transition == CreationGovernor::Transition::opened ||
                transition == CreationGovernor::Transition::reopened)
                fail_all_waiters_locked(error, error_text);  // those queued behind a failed probe too
        }
        const std::size_t failures = governor_.consecutive_failures();
        lk.unlock();

        if (slot) {
            emit(Event{.kind = EventKind::created, .pool = opt_.name, .resource_id = id, .duration = took});
        } else {
            emit(Event{.kind = EventKind::create_failed, .pool = opt_.name, .duration = took, .message = error_text});
            // The first failure of a run is news; the rest are in the stats and events.
            log(failures == 1 ? LogLevel::warning : LogLevel::debug,
                fmt::format("respool[{}]: creating a resource failed after {}: {}", opt_.name, format_duration(took),
                            error_text));
        }
        if (transition == CreationGovernor::Transition::opened) {
            log(LogLevel::error, fmt::format("respool[{}]: circuit opened after {} consecutive creation failures; "
                                             "acquires fail fast for {} ms, then one probe; last error: {}",
                                             opt_.name, failures, opt_.circuit_open_time.count(), error_text));
            emit(Event{.kind = EventKind::circuit_opened, .pool = opt_.name, .message = error_text});
        } else if (transition == CreationGovernor::Transition::closed) {
            log(LogLevel::info, fmt::format("respool[{}]: circuit closed: a probe creation succeeded", opt_.name));
            emit(Event{.kind = EventKind::circuit_closed, .pool = opt_.name});
        }
        if (!deferred.empty()) finish(deferred);  // threads_ still counts us, so `this` stays
        lk.lock();
    }
    --creators_;
    --threads_;
    state_cv_.notify_all();
    const bool last = unreferenced_locked();
    lk.unlock();
    if (last) delete this;
}

void PoolCore::deliver_locked(Slot* slot, std::int64_t now, Deferred& deferred) noexcept
{
    if (closed_) {
        doom_locked(slot, DestroyReason::closed, deferred);
        return;
    }
    if (shared_ && pending_replacements_ > 0) {
        // Make-before-break: the new channel is ready, so one due for
        // retirement stops taking leases now.
        for (Slot* old : slots_) {
            if (!old->replacement_requested) continue;
            old->replacement_requested = false;
            --pending_replacements_;
            if (!old->retiring) {
                old->retiring = true;
                old->destroy_reason = DestroyReason::lifetime;
            }
            if (old->leases == 0) doom_locked(old, old->destroy_reason, deferred);
            break;
        }
    }
    // A fresh resource goes straight to the oldest waiters, whoever asked for it.
    while (waiters_head_ && slot->leases < cap_) grant_locked(waiters_head_, slot, now, deferred);
    if (!shared_ && slot->leases == 0) idle_.push_back(slot);
}

void PoolCore::fail_front_waiter_locked(const std::exception_ptr& error, const std::string& text) noexcept
{
    // The oldest waiter learns at once why it cannot be served; the others
    // keep waiting for the next attempt.
    Waiter* w = waiters_head_;
    if (!w) return;
    remove_waiter_locked(w);
    w->error = error;
    w->error_text = text;
    ++w->promised;
    w->parker.post();
}

void PoolCore::fail_all_waiters_locked(const std::exception_ptr& error, const std::string& text) noexcept
{
    // The breaker just opened: nobody should wait out a timeout for a
    // creation that will not be tried for a while.
    while (Waiter* w = waiters_head_) {
        remove_waiter_locked(w);
        w->error = error;
        w->error_text = text;
        w->circuit_open = true;
        ++w->promised;
        w->parker.post();
    }
}

void PoolCore::housekeeper_main() noexcept
{
    std::unique_lock lk(mu_);
    while (!closed_) {
        state_cv_.wait_for(lk, opt_.housekeeping_interval, [&] { return closed_; });
        if (closed_) break;
        lk.unlock();
        run_maintenance();
        lk.lock();
    }
    --threads_;
    state_cv_.notify_all();
    const bool last = unreferenced_locked();
    lk.unlock();
    if (last) delete this;
}

void PoolCore::run_maintenance()
{
    struct LeaseNote {
        LeaseInfo info;
        EventKind kind;
    };
    std::vector<LeaseNote> notes;
    std::vector<Slot*> to_interrupt;
    Deferred deferred;
    const std::int64_t now = time_.ticks();
    std::unique_lock lk(mu_);
    if (closed_) return;

    // Lifetime and idle eviction, keeping min_idle.
    if (!shared_) {
        std::size_t i = 0;
        while (i < idle_.size()) {
            Slot* s = idle_.at(i);
            const bool expired = now >= s->expires_ticks;
            const bool stale = now - s->idle_since_ticks >= idle_timeout_ticks_ && idle_.size() > opt_.min_idle;
            if (expired || stale) {
                idle_.erase(i);
                doom_locked(s, expired ? DestroyReason::lifetime : DestroyReason::idle, deferred);
            } else {
                ++i;
            }
        }
    } else {
        std::size_t idle = 0;
        for (const Slot* s : slots_) idle += s->leases == 0 && !s->retiring ? 1 : 0;
        for (std::size_t i = slots_.size(); i-- > 0;) {
            Slot* s = slots_[i];
            if (s->retiring || s->checking) continue;
            if (now >= s->expires_ticks && !s->replacement_requested) {
                if (s->leases == 0) {
                    doom_locked(s, DestroyReason::lifetime, deferred);
                    --idle;
                } else if (total_ < opt_.max_size) {
                    s->replacement_requested = true;  // retire once the replacement is ready
                    ++pending_replacements_;
                } else {
                    s->retiring = true;  // no room to make one first: stop new leases, finish current ones
                    s->destroy_reason = DestroyReason::lifetime;
                }
            } else if (s->leases == 0 && now - s->idle_since_ticks >= idle_timeout_ticks_ && idle > opt_.min_idle) {
                doom_locked(s, DestroyReason::idle, deferred);
                --idle;
            }
        }
    }

    // Leases: past leak_threshold (reported once), past max_lease_time (flagged,
    // asked to stop, optionally interrupted). A long lease is not a leak.
    for (LeaseRecord* r = outstanding_; r; r = r->next) {
        const auto age = time_.to_duration(now - r->acquired_ticks);
        if (!r->leak_reported && leak_threshold_ticks_ != INT64_MAX && now - r->acquired_ticks >= leak_threshold_ticks_) {
            r->leak_reported = true;
            ++leaks_suspected_;
            notes.push_back({LeaseInfo{r->site, r->thread, age, r->slot->id, true, r->overdue, r->reclaimed},
                             EventKind::leak_suspected});
        }
        if (!r->overdue && now >= r->deadline_ticks) {
            r->overdue = true;
            ++leases_overdue_;
            if (!r->stop) r->stop.emplace();
            r->stop->request_stop();
            const bool reclaim = opt_.reclaim_overdue_leases && caps_.interrupt && !r->reclaimed;
            notes.push_back({LeaseInfo{r->site, r->thread, age, r->slot->id, r->leak_reported, true, reclaim},
                             reclaim ? EventKind::lease_reclaimed : EventKind::lease_overdue});
            if (reclaim) {
                // Pin the slot so it outlives the holder's return while we interrupt it.
                r->reclaimed = true;
                Slot* s = r->slot;
                ++s->leases;
                if (!s->retiring) {
                    s->retiring = true;
                    s->destroy_reason = DestroyReason::broken;
                }
                to_interrupt.push_back(s);
            }
        }
    }
    start_creations_locked();
    ++callers_;  // keeps `this` while we work without the lock
    lk.unlock();

    if (!deferred.empty()) finish(deferred);
    for (Slot* s : to_interrupt) interrupt_slot(*s);
    for (const LeaseNote& n : notes) {
        if (n.kind == EventKind::leak_suspected)
            log(LogLevel::warning,
                fmt::format("respool[{}]: possible leak: lease held longer than leak_threshold ({} ms): {}", opt_.name,
                            opt_.leak_threshold.count(), describe(n.info)));
        else
            log(LogLevel::warning,
                fmt::format("respool[{}]: lease held past max_lease_time ({} ms) without a heartbeat{}: {}", opt_.name,
                            opt_.max_lease_time.count(), n.kind == EventKind::lease_reclaimed ? "; reclaimed" : "",
                            describe(n.info)));
        emit(Event{.kind = n.kind, .pool = opt_.name, .resource_id = n.info.resource_id, .duration = n.info.age,
                   .site = n.info.site, .thread = n.info.thread});
    }
    if (!to_interrupt.empty()) {
        Deferred unpinned;
        lk.lock();
        for (Slot* s : to_interrupt)
            if (--s->leases == 0) {
                --in_use_;
                doom_locked(s, s->destroy_reason, unpinned);
            }
        lk.unlock();
        if (!unpinned.empty()) finish(unpinned);
    }
    keep_alive(now);

    lk.lock();
    --callers_;
    if (closed_ && callers_ == 0) state_cv_.notify_all();
}

void PoolCore::keep_alive(std::int64_t now)
{
    if (keepalive_ticks_ == INT64_MAX || !caps_.validate) return;
    std::vector<Slot*> due;
    {
        std::lock_guard lk(mu_);
        if (closed_ || waiters_head_) return;  // never hold back a resource someone is waiting for
        if (!shared_) {
            for (std::size_t i = 0; i < idle_.size();) {
                Slot* s = idle_.at(i);
                if (now >= s->keepalive_due_ticks) {
                    idle_.erase(i);
                    due.push_back(s);
                } else {
                    ++i;
                }
            }
        } else {
            for (Slot* s : slots_)
                if (s->leases == 0 && !s->retiring && !s->checking && now >= s->keepalive_due_ticks) due.push_back(s);
        }
        for (Slot* s : due) s->checking = true;
        checking_ += due.size();
    }
    for (Slot* s : due) {
        const bool ok = validate_slot(*s, deadline_after(opt_.validation_timeout));
        const std::int64_t checked = time_.ticks();
        Deferred deferred;
        std::unique_lock lk(mu_);
        --checking_;
        s->checking = false;
        ++keepalives_;
        if (!ok) ++keepalive_failures_;
        if (!ok || closed_) {
            if (shared_) std::erase(slots_, s), slots_.push_back(s);  // doom_locked finds it either way
            doom_locked(s, closed_ ? DestroyReason::closed : DestroyReason::validation, deferred);
        } else {
            s->checked_ticks = checked;
            s->keepalive_due_ticks = keepalive_due_locked(checked);
            if (!shared_) {
                if (waiters_head_) grant_locked(waiters_head_, s, checked, deferred);
                else idle_.push_back(s);  // keeps its idle_since, so idle eviction still applies
            } else if (waiters_head_) {
                while (waiters_head_ && s->leases < cap_) grant_locked(waiters_head_, s, checked, deferred);
            }
        }
        start_creations_locked();
        lk.unlock();
        if (!ok) emit(Event{.kind = EventKind::keepalive_failed, .pool = opt_.name, .resource_id = s->id});
        if (!deferred.empty()) finish(deferred);
    }
}

} // namespace respool::detail
