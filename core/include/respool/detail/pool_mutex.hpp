// Internal: the lock every pool operation takes.
//
// On Linux, a three-state futex mutex (free / locked / locked with sleepers)
// whose uncontended lock and unlock are one atomic instruction each, inline;
// `std::mutex` costs two library calls more per pair, about 3 ns, which is a
// tenth of the pool's whole uncontended cost. A contended lock spins briefly
// before sleeping: the pool's critical sections are tens of nanoseconds, far
// shorter than a sleep and wake-up. Elsewhere it is `std::mutex`.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

namespace respool::detail {

#if defined(__linux__)

class PoolMutex {
public:
    PoolMutex() = default;
    PoolMutex(const PoolMutex&) = delete;
    PoolMutex& operator=(const PoolMutex&) = delete;

    void lock() noexcept
    {
        std::uint32_t expected = free;
        if (state_.compare_exchange_strong(expected, locked, std::memory_order_acquire)) [[likely]]
            return;
        lock_contended();
    }
    bool try_lock() noexcept
    {
        std::uint32_t expected = free;
        return state_.compare_exchange_strong(expected, locked, std::memory_order_acquire);
    }
    void unlock() noexcept
    {
        if (state_.exchange(free, std::memory_order_release) == sleepers) [[unlikely]]
            wake_one();
    }

private:
    static constexpr std::uint32_t free = 0, locked = 1, sleepers = 2;
    void lock_contended() noexcept;
    void wake_one() noexcept;
    std::atomic<std::uint32_t> state_{free};
};

#else

using PoolMutex = std::mutex;

#endif

} // namespace respool::detail
