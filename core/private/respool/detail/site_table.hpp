// Internal: per-acquire-site figures, bounded in number. Sites past the limit
// share one "other" entry, so a loop over generated call sites cannot grow
// the stats (or a metrics label set) without bound.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <respool/detail/source_location.hpp>
#include <vector>

#include <respool/detail/histogram.hpp>
#include <respool/stats.hpp>

namespace respool::detail {

class SiteTable {
public:
    explicit SiteTable(std::size_t max_sites);

    /// Index of `site`'s entry, adding it if there is room. Allocation-free.
    std::uint32_t index_of(const SourceLocation& site) noexcept
    {
        // Every call site has its own static source_location data, so its
        // address (all a source_location holds here) is a one-compare cache key.
        const auto key = key_of(site);
        if (key != 0) {
            const std::size_t i = (key >> 4) & (cache_.size() - 1);
            if (cache_[i].key == key) return cache_[i].index;
            const std::uint32_t index = lookup(site);
            cache_[i] = {key, index};
            return index;
        }
        return lookup(site);
    }

    void on_acquire(std::uint32_t i) noexcept
    {
        Entry& e = entries_[i];
        ++e.acquired;
        ++e.holding;
    }
    /// The lease passed its borrow checks: its wait counts.
    void on_handed_out(std::uint32_t i, std::int64_t wait_ticks) noexcept { entries_[i].wait.record(wait_ticks); }
    /// `bucket` is `Histogram::index(hold_ticks)`, computed by the caller outside the lock.
    void on_release(std::uint32_t i, std::int64_t hold_ticks, int bucket) noexcept
    {
        Entry& e = entries_[i];
        --e.holding;
        e.hold.record(hold_ticks, bucket);
    }
    /// Undoes `on_acquire` for a lease that was never handed out.
    void on_discard(std::uint32_t i) noexcept
    {
        Entry& e = entries_[i];
        --e.acquired;
        --e.holding;
    }
    /// Wait and hold times over every site, in ticks (see Histogram::summary).
    Histogram total_wait() const noexcept;
    Histogram total_hold() const noexcept;
    /// Sites with any activity, busiest first; `ns_per_tick` scales the times.
    std::vector<SiteStats> snapshot(double ns_per_tick) const;

private:
    static std::uintptr_t key_of(const SourceLocation& site) noexcept
    {
        if constexpr (sizeof(SourceLocation) == sizeof(std::uintptr_t) &&
                      std::is_trivially_copyable_v<SourceLocation>) {
            std::uintptr_t key;
            std::memcpy(&key, &site, sizeof key);
            return key;
        } else {
            return 0;
        }
    }
    std::uint32_t lookup(const SourceLocation& site) noexcept;

    struct CacheLine {
        std::uintptr_t key = 0;
        std::uint32_t index = 0;
    };
    std::array<CacheLine, 64> cache_{};

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
