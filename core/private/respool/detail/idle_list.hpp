// Internal: idle resources in return order (`Slot::idle_since_ticks`), in a
// ring buffer. The front is the least recently returned; LIFO borrows from
// the back, FIFO from the front, idle eviction takes from the front. A
// resource back from a check (keepalive, retire_if) goes back to its place
// in that order, not on top. It grows only through `reserve`, which the inventory calls when a
// resource is created, so returning and borrowing never allocate.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include <respool/detail/slot.hpp>

namespace respool::detail {

class IdleList {
public:
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    /// Room for `n` without allocating again; keeps the order.
    void reserve(std::size_t n)
    {
        if (n <= ring_.size()) return;
        std::vector<Slot*> bigger(std::max(n, 2 * ring_.size()));
        for (std::size_t i = 0; i < size_; ++i) bigger[i] = at(i);
        ring_.swap(bigger);
        head_ = 0;
    }
    /// Needs room (see `reserve`).
    void push_back(Slot* s) noexcept { ring_[wrap(head_ + size_)] = s; ++size_; }
    /// Inserts `s` by its `idle_since_ticks`, after those with the same
    /// time. Needs room. One comparison for a resource just given back.
    void insert_in_order(Slot* s) noexcept
    {
        std::size_t i = size_;
        while (i > 0 && at(i - 1)->idle_since_ticks > s->idle_since_ticks) --i;
        for (std::size_t k = size_; k > i; --k) ring_[wrap(head_ + k)] = ring_[wrap(head_ + k - 1)];
        ring_[wrap(head_ + i)] = s;
        ++size_;
    }
    Slot* back() const noexcept { return at(size_ - 1); }
    Slot* front() const noexcept { return ring_[head_]; }
    /// The i-th from the front.
    Slot* at(std::size_t i) const noexcept { return ring_[wrap(head_ + i)]; }
    /// Removes `s`, keeping the order of the rest. Cheapest at either end,
    /// where borrows take from.
    void remove(const Slot* s) noexcept
    {
        if (size_ == 0) return;
        if (back() == s) {
            --size_;
            return;
        }
        if (front() == s) {
            head_ = wrap(head_ + 1);
            --size_;
            return;
        }
        for (std::size_t i = size_ - 1; i-- > 1;)
            if (at(i) == s) {
                for (std::size_t k = i; k + 1 < size_; ++k) ring_[wrap(head_ + k)] = ring_[wrap(head_ + k + 1)];
                --size_;
                return;
            }
    }

private:
    // Indices stay below 2 × capacity, so one compare replaces a division.
    std::size_t wrap(std::size_t i) const noexcept { return i >= ring_.size() ? i - ring_.size() : i; }
    std::vector<Slot*> ring_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

} // namespace respool::detail
