// Internal: the outstanding leases — one record each, with where and by
// which thread it was acquired and when — and the per-site figures.
//
// Records are recycled through a free list, so a warm acquire allocates
// nothing. Leak tracking reads the records (housekeeping walks them for
// leases past `leak_threshold` or `max_lease_time`); `holders` is what an
// exhausted pool's error and `Pool::leases()` show.
//
// Not thread-safe: every member is called under the pool's lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <respool/detail/source_location.hpp>
#include <stop_token>
#include <thread>
#include <vector>

#include <respool/detail/site_table.hpp>
#include <respool/detail/slot.hpp>
#include <respool/detail/time_base.hpp>
#include <respool/lease_info.hpp>

namespace respool::detail {

class LeaseRegistry {
public:
    explicit LeaseRegistry(std::size_t max_sites) : sites_(max_sites) {}
    LeaseRegistry(const LeaseRegistry&) = delete;
    LeaseRegistry& operator=(const LeaseRegistry&) = delete;
    ~LeaseRegistry();

    /// A new record for a lease on `slot`, acquired at `now`. Its wait is
    /// counted by `handed_out`, once no borrow check can refuse it.
    LeaseRecord* add(Slot* slot, const SourceLocation& site, std::thread::id thread, std::int64_t now,
                     std::int64_t deadline_ticks)
    {
        LeaseRecord* rec = free_;
        if (rec) free_ = rec->next;
        else rec = new LeaseRecord;
        rec->slot = slot;
        rec->site = site;
        rec->thread = thread;
        rec->acquired_ticks = now;
        rec->broken = rec->validate_due = rec->leak_reported = rec->overdue = rec->reclaimed = false;
        rec->deadline_ticks = deadline_ticks;
        rec->prev = nullptr;
        rec->next = head_;
        if (head_) head_->prev = rec;
        head_ = rec;
        ++count_;
        rec->site_index = sites_.index_of(site);
        sites_.on_acquire(rec->site_index);
        return rec;
    }
    /// The lease reached its holder after waiting `wait_ticks`.
    void handed_out(const LeaseRecord* rec, std::int64_t wait_ticks) noexcept
    {
        sites_.on_handed_out(rec->site_index, wait_ticks);
    }
    /// The lease ended; its record goes back to the free list.
    void remove(LeaseRecord* rec) noexcept
    {
        if (rec->prev) rec->prev->next = rec->next;
        else head_ = rec->next;
        if (rec->next) rec->next->prev = rec->prev;
        rec->stop.reset();
        rec->prev = nullptr;
        rec->next = free_;
        free_ = rec;
        --count_;
    }
    /// The lease was never handed out after all: as if it had not been taken.
    void discard(LeaseRecord* rec) noexcept
    {
        sites_.on_discard(rec->site_index);
        remove(rec);
    }

    std::size_t count() const noexcept { return count_; }
    /// Newest first; follow `next`.
    LeaseRecord* first() const noexcept { return head_; }
    SiteTable& sites() noexcept { return sites_; }
    const SiteTable& sites() const noexcept { return sites_; }

    /// Leak tracking: marks each lease newly past `leak_threshold` ticks
    /// (`leak_reported`) and each newly past its `max_lease_time` deadline
    /// (`overdue`), calling `leaked(rec)` and `overdue(rec)` once per lease for each.
    template <class Leaked, class Overdue>
    void scan(std::int64_t now, std::int64_t leak_threshold, Leaked&& leaked, Overdue&& overdue)
    {
        for (LeaseRecord* r = head_; r; r = r->next) {
            if (!r->leak_reported && leak_threshold != INT64_MAX && now - r->acquired_ticks >= leak_threshold) {
                r->leak_reported = true;
                leaked(*r);
            }
            if (!r->overdue && now >= r->deadline_ticks) {
                r->overdue = true;
                overdue(*r);
            }
        }
    }

    LeaseInfo info(const LeaseRecord& rec, std::int64_t now, const TimeBase& time) const;
    /// Every outstanding lease, oldest first.
    std::vector<LeaseInfo> holders(std::int64_t now, const TimeBase& time) const;
    /// Copies the stop source of every lease that has one, to be requested
    /// once the lock is released (requesting runs the holders' callbacks).
    void collect_stops(std::vector<std::stop_source>& out) const;
    /// Leases from the calling thread, and the site of the oldest of them.
    std::size_t held_by(std::thread::id thread, SourceLocation& oldest_site) const noexcept;

private:
    LeaseRecord* head_ = nullptr;
    LeaseRecord* free_ = nullptr;
    std::size_t count_ = 0;
    SiteTable sites_;
};

} // namespace respool::detail
