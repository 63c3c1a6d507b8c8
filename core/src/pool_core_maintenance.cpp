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
    std::size_t want = creation_demand_locked();
    while (want > 0 && creating_ < opt_.max_concurrent_creates && total_ < opt_.max_size) {
        ++creating_;
        ++total_;
        ++threads_;
        try {
            std::thread([this] { creator_main(); }).detach();
        } catch (...) {
            // No thread to be had: leave it to the next demand (or housekeeping).
            --creating_;
            --total_;
            --threads_;
            return;
        }
        --want;
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
        const std::int64_t now = time_.ticks();

        Doomed doomed;
        lk.lock();
        --creating_;
        std::uint64_t id = 0;
        if (slot) {
            ++created_;
            create_hist_.record(took.count());
            slot->id = id = next_id_++;
            slot->created_ticks = slot->idle_since_ticks = now;
            const std::int64_t life = lifetime_for_new_slot_locked();
            slot->expires_ticks = life == INT64_MAX || now > INT64_MAX - life ? INT64_MAX : now + life;
            slots_.push_back(slot);
            deliver_locked(slot, doomed);
        } else {
            --total_;
            ++create_failures_;
            last_create_error_ = error_text;
            fail_front_waiter_locked(error, error_text);
        }
        lk.unlock();

        if (slot) {
            emit(Event{.kind = EventKind::created, .pool = opt_.name, .resource_id = id, .duration = took});
        } else {
            emit(Event{.kind = EventKind::create_failed, .pool = opt_.name, .duration = took, .message = error_text});
            log(LogLevel::warning, fmt::format("respool[{}]: creating a resource failed after {}: {}", opt_.name,
                                               format_duration(took), error_text));
        }
        if (!doomed.empty()) finish(doomed);  // threads_ still counts us, so `this` stays

        lk.lock();
        const bool more = creation_demand_locked() > 0 && creating_ < opt_.max_concurrent_creates &&
                          total_ < opt_.max_size;
        if (more) {
            ++creating_;
            ++total_;
            continue;
        }
        break;
    }
    --threads_;
    state_cv_.notify_all();
    const bool last = unreferenced_locked();
    lk.unlock();
    if (last) delete this;
}

void PoolCore::deliver_locked(Slot* slot, Doomed& doomed) noexcept
{
    if (closed_) {
        doom_locked(slot, DestroyReason::closed, doomed);
        return;
    }
    if (shared_ && pending_replacements_ > 0) {
        // Make-before-break: the new channel is ready, so one due for
        // retirement stops taking leases now.
        for (Slot* old : slots_) {
            if (old->replacement_requested && !old->retiring) {
                old->retiring = true;
                old->destroy_reason = DestroyReason::lifetime;
                --pending_replacements_;
                if (old->leases == 0) doom_locked(old, DestroyReason::lifetime, doomed);
                break;
            }
        }
    }
    // A fresh resource goes straight to the oldest waiters, whoever asked for it.
    while (waiters_head_ && slot->leases < cap_) grant_locked(waiters_head_, slot);
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
    w->cv.notify_one();
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
    struct LeakNote {
        LeaseInfo info;
    };
    std::vector<LeakNote> leaks;
    Doomed doomed;
    const std::int64_t now = time_.ticks();
    std::unique_lock lk(mu_);
    if (closed_) return;

    // Lifetime and idle eviction, oldest-returned first, keeping min_idle.
    if (!shared_) {
        std::size_t i = 0;
        while (i < idle_.size()) {
            Slot* s = idle_.at(i);
            const bool expired = now >= s->expires_ticks;
            const bool stale = now - s->idle_since_ticks >= idle_timeout_ticks_ && idle_.size() > opt_.min_idle;
            if (expired || stale) {
                idle_.erase(i);
                doom_locked(s, expired ? DestroyReason::lifetime : DestroyReason::idle, doomed);
            } else {
                ++i;
            }
        }
    } else {
        std::size_t idle = 0;
        for (const Slot* s : slots_) idle += s->leases == 0 && !s->retiring ? 1 : 0;
        for (std::size_t i = slots_.size(); i-- > 0;) {
            Slot* s = slots_[i];
            if (s->retiring) continue;
            if (now >= s->expires_ticks && !s->replacement_requested) {
                if (s->leases == 0) {
                    doom_locked(s, DestroyReason::lifetime, doomed);
                    --idle;
                } else if (total_ < opt_.max_size) {
                    s->replacement_requested = true;  // retire once the replacement is ready
                    ++pending_replacements_;
                } else {
                    s->retiring = true;  // no room to make first: stop new leases, finish current ones
                    s->destroy_reason = DestroyReason::lifetime;
                }
            } else if (s->leases == 0 && now - s->idle_since_ticks >= idle_timeout_ticks_ && idle > opt_.min_idle) {
                doom_locked(s, DestroyReason::idle, doomed);
                --idle;
            }
        }
    }

    // Leases held past the leak threshold, reported once each.
    if (leak_threshold_ticks_ != INT64_MAX) {
        for (LeaseRecord* r = outstanding_; r; r = r->next) {
            if (r->leak_reported || now - r->acquired_ticks < leak_threshold_ticks_) continue;
            r->leak_reported = true;
            ++leaks_suspected_;
            leaks.push_back({LeaseInfo{r->site, r->thread, time_.to_duration(now - r->acquired_ticks), r->slot->id,
                                       true, false}});
        }
    }
    start_creations_locked();
    ++callers_;  // keeps `this` while we report without the lock
    lk.unlock();

    if (!doomed.empty()) finish(doomed);
    for (const LeakNote& n : leaks) {
        log(LogLevel::warning,
            fmt::format("respool[{}]: possible leak: lease held longer than leak_threshold ({} ms): {}", opt_.name,
                        opt_.leak_threshold.count(), describe(n.info)));
        emit(Event{.kind = EventKind::leak_suspected, .pool = opt_.name, .resource_id = n.info.resource_id,
                   .duration = n.info.age, .site = n.info.site, .thread = n.info.thread});
    }
    lk.lock();
    --callers_;
    if (closed_ && callers_ == 0) state_cv_.notify_all();
}

} // namespace respool::detail
