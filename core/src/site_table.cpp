#include <respool/detail/site_table.hpp>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include <respool/lease_info.hpp>

namespace respool::detail {

SiteTable::SiteTable(std::size_t max_sites)
    : entries_(max_sites + 1), slots_(std::bit_ceil(std::max<std::size_t>(max_sites * 2, 2)), 0)
{
}

Histogram SiteTable::total_wait() const noexcept
{
    Histogram h;
    for (const Entry& e : entries_) h.merge(e.wait);
    return h;
}

Histogram SiteTable::total_hold() const noexcept
{
    Histogram h;
    for (const Entry& e : entries_) h.merge(e.hold);
    return h;
}

std::uint32_t SiteTable::lookup(const SourceLocation& site) noexcept
{
    const char* file = site.file_name();
    const std::uint32_t line = site.line();
    const std::size_t mask = slots_.size() - 1;
    std::size_t h = (reinterpret_cast<std::uintptr_t>(file) >> 3) * 0x9E3779B97F4A7C15ull ^ line;
    for (std::size_t probe = 0; probe < slots_.size(); ++probe, ++h) {
        const std::uint32_t s = slots_[h & mask];
        if (s == 0) {
            const auto other = static_cast<std::uint32_t>(entries_.size() - 1);
            if (used_ >= other) return other;
            Entry& e = entries_[used_];
            e.file = file;
            e.function = site.function_name();
            e.line = line;
            slots_[h & mask] = ++used_;
            return used_ - 1;
        }
        const Entry& e = entries_[s - 1];
        // Identical literals are usually merged; compare text when they are not.
        if (e.line == line && (e.file == file || std::strcmp(e.file, file) == 0)) return s - 1;
    }
    return static_cast<std::uint32_t>(entries_.size() - 1);
}

std::vector<SiteStats> SiteTable::snapshot(double ns_per_tick) const
{
    std::vector<SiteStats> out;
    auto add = [&](const Entry& e, bool other) {
        if (e.acquired == 0) return;
        SiteStats s;
        s.site = other ? "other" : fmt::format("{}:{}", site_path(e.file), e.line);
        s.function = other || !e.function ? "" : e.function;
        s.acquired = e.acquired;
        s.holding = e.holding;
        s.wait = e.wait.summary(ns_per_tick);
        s.hold = e.hold.summary(ns_per_tick);
        out.push_back(std::move(s));
    };
    for (std::uint32_t i = 0; i < used_; ++i) add(entries_[i], false);
    add(entries_.back(), true);
    std::stable_sort(out.begin(), out.end(),
                     [](const SiteStats& a, const SiteStats& b) { return a.acquired > b.acquired; });
    return out;
}

} // namespace respool::detail
