// Internal: idle resources in return order, in a ring buffer sized once.
// The front is the least recently returned; LIFO borrows from the back, FIFO
// from the front. No allocation after construction.
#pragma once

#include <cstddef>
#include <vector>

#include <respool/detail/slot.hpp>

namespace respool::detail {

class IdleList {
public:
    explicit IdleList(std::size_t capacity) : ring_(capacity == 0 ? 1 : capacity) {}

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    void push_back(Slot* s) noexcept { ring_[wrap(head_ + size_)] = s; ++size_; }
    Slot* pop_back() noexcept { --size_; return ring_[wrap(head_ + size_)]; }
    Slot* pop_front() noexcept
    {
        Slot* s = ring_[head_];
        head_ = wrap(head_ + 1);
        --size_;
        return s;
    }
    /// The i-th from the front.
    Slot* at(std::size_t i) const noexcept { return ring_[wrap(head_ + i)]; }
    /// Removes the i-th from the front, keeping the order of the rest.
    void erase(std::size_t i) noexcept
    {
        for (std::size_t k = i; k + 1 < size_; ++k) ring_[wrap(head_ + k)] = ring_[wrap(head_ + k + 1)];
        --size_;
    }

private:
    // Indices stay below 2 × capacity, so one compare replaces a division.
    std::size_t wrap(std::size_t i) const noexcept { return i >= ring_.size() ? i - ring_.size() : i; }
    std::vector<Slot*> ring_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

} // namespace respool::detail
