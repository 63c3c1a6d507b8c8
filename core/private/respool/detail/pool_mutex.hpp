// Internal: the lock every pool operation takes.
//
// On Linux, a three-state futex mutex (free / locked / locked with sleepers)
// whose uncontended lock and unlock are one atomic instruction each, inline;
// `std::mutex` costs two library calls more per pair, about 3 ns, which is a
// tenth of the pool's whole uncontended cost. A contended lock spins briefly
// before sleeping: the pool's critical sections are tens of nanoseconds, far
// shorter than a sleep and wake-up. Elsewhere it is `std::mutex`.
//
// Debug builds count the pool locks each thread holds, so that
// `RESPOOL_ASSERT_UNLOCKED()` — at every call of an adapter hook, listener,
// logger or stop request — catches user code run under the lock.
#pragma once

#include <atomic>
#include <cassert>
#include <cstdint>
#include <mutex>

namespace respool::detail {

#ifndef NDEBUG
/// Pool locks this thread holds (debug builds only).
inline thread_local int pool_locks_held = 0;
#define RESPOOL_LOCK_HELD_INC() (++::respool::detail::pool_locks_held)
#define RESPOOL_LOCK_HELD_DEC() (--::respool::detail::pool_locks_held)
#define RESPOOL_ASSERT_UNLOCKED() \
    assert(::respool::detail::pool_locks_held == 0 && "respool: user code reached under the pool's lock")
#else
#define RESPOOL_LOCK_HELD_INC() ((void)0)
#define RESPOOL_LOCK_HELD_DEC() ((void)0)
#define RESPOOL_ASSERT_UNLOCKED() ((void)0)
#endif

#if defined(__linux__)

class PoolMutex {
public:
    PoolMutex() = default;
    PoolMutex(const PoolMutex&) = delete;
    PoolMutex& operator=(const PoolMutex&) = delete;

    void lock() noexcept
    {
        std::uint32_t expected = free;
        if (!state_.compare_exchange_strong(expected, locked, std::memory_order_acquire)) [[unlikely]]
            lock_contended();
        RESPOOL_LOCK_HELD_INC();
    }
    bool try_lock() noexcept
    {
        std::uint32_t expected = free;
        const bool got = state_.compare_exchange_strong(expected, locked, std::memory_order_acquire);
        if (got) RESPOOL_LOCK_HELD_INC();
        return got;
    }
    void unlock() noexcept
    {
        RESPOOL_LOCK_HELD_DEC();
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
