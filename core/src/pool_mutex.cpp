#include <respool/detail/pool_mutex.hpp>

#if defined(__linux__)

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace respool::detail {

namespace {
inline void cpu_relax() noexcept
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}
} // namespace

void PoolMutex::lock_contended() noexcept
{
    // A short spin first: the holder is usually a few dozen nanoseconds from
    // unlocking. Bounded, since it may also have been preempted.
    for (int i = 0; i < 64; ++i) {
        cpu_relax();
        std::uint32_t expected = free;
        if (state_.load(std::memory_order_relaxed) == free &&
            state_.compare_exchange_weak(expected, locked, std::memory_order_acquire))
            return;
    }
    // Then sleep, marking the lock as having sleepers so unlock wakes one
    // (Drepper, "Futexes Are Tricky", mutex 3).
    while (state_.exchange(sleepers, std::memory_order_acquire) != free)
        syscall(SYS_futex, &state_, FUTEX_WAIT_PRIVATE, sleepers, nullptr, nullptr, 0);
}

void PoolMutex::wake_one() noexcept
{
    syscall(SYS_futex, &state_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

} // namespace respool::detail

#endif
