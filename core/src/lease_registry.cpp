// LeaseRegistry: the views of outstanding leases (the hot paths are inline).
#include <respool/detail/lease_registry.hpp>

#include <algorithm>

namespace respool::detail {

LeaseRegistry::~LeaseRegistry()
{
    for (LeaseRecord* list : {head_, free_})
        while (list) {
            LeaseRecord* r = list;
            list = r->next;
            delete r;
        }
}

LeaseInfo LeaseRegistry::info(const LeaseRecord& r, std::int64_t now, const TimeBase& time) const
{
    return LeaseInfo{r.site,          r.thread,   time.to_duration(now - r.acquired_ticks), r.slot->id,
                     r.leak_reported, r.overdue,  r.reclaimed};
}

std::vector<LeaseInfo> LeaseRegistry::holders(std::int64_t now, const TimeBase& time) const
{
    std::vector<LeaseInfo> out;
    out.reserve(count_);
    for (const LeaseRecord* r = head_; r; r = r->next) out.push_back(info(*r, now, time));
    std::sort(out.begin(), out.end(), [](const LeaseInfo& a, const LeaseInfo& b) { return a.age > b.age; });
    return out;
}

void LeaseRegistry::collect_stops(std::vector<std::stop_source>& out) const
{
    for (const LeaseRecord* r = head_; r; r = r->next)
        if (r->stop) out.push_back(*r->stop);
}

std::size_t LeaseRegistry::held_by(std::thread::id thread, SourceLocation& oldest_site) const noexcept
{
    std::size_t n = 0;
    std::int64_t oldest = INT64_MAX;
    for (const LeaseRecord* r = head_; r; r = r->next)
        if (r->thread == thread) {
            ++n;
            if (r->acquired_ticks < oldest) {
                oldest = r->acquired_ticks;
                oldest_site = r->site;
            }
        }
    return n;
}

} // namespace respool::detail
