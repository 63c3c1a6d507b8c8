// Internal: per-acquire-site figures, bounded in number. Sites past the limit
// share one "other" entry, so a loop over generated call sites cannot grow
// the stats (or a metrics label set) without bound.
#pragma once

#include <cstdint>
#include <source_location>
#include <vector>

#include <respool/detail/histogram.hpp>
#include <respool/stats.hpp>

namespace respool::detail {

class SiteTable {
public:
    explicit SiteTable(std::size_t max_sites);

    /// Index of `site`'s entry, adding it if there is room. Allocation-free.
    std::uint32_t index_of(const std::source_location& site) noexcept;

    void on_acquire(std::uint32_t i, std::int64_t wait_ns) noexcept
    {
        Entry& e = entries_[i];
        ++e.acquired;
        ++e.holding;
        e.wait.record(wait_ns);
    }
    void on_release(std::uint32_t i, std::int64_t hold_ns) noexcept
    {
        Entry& e = entries_[i];
        --e.holding;
        e.hold.record(hold_ns);
    }
    /// Undoes `on_acquire` for a lease that was never handed out.
    void on_discard(std::uint32_t i) noexcept
    {
        Entry& e = entries_[i];
        --e.acquired;
        --e.holding;
    }
    /// Sites with any activity, busiest first.
    std::vector<SiteStats> snapshot() const;

private:
    struct Entry {
        const char* file = nullptr;
        const char* function = nullptr;
        std::uint32_t line = 0;
        std::uint64_t acquired = 0;
        std::size_t holding = 0;
        Histogram wait;
        Histogram hold;
    };
    std::vector<Entry> entries_;        // [0, used_) tracked; the last one is "other"
    std::vector<std::uint32_t> slots_;  // open addressing into entries_, 0 = empty
    std::uint32_t used_ = 0;
};

} // namespace respool::detail
