#include "parker.hpp"

#if defined(__linux__)
#include <cerrno>
#include <ctime>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace respool::detail {

#if defined(__linux__)

void Parker::post() noexcept
{
    const std::uint32_t before = word_.fetch_add(1, std::memory_order_release);
    // From here on the owner may have gone (see the header): use the address only.
    if (before & sleeping) syscall(SYS_futex, &word_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

bool Parker::wait_until(Deadline deadline) noexcept
{
    std::uint32_t w = word_.load(std::memory_order_acquire);
    for (;;) {
        if (w & ~sleeping) {
            if (word_.compare_exchange_weak(w, (w - 1) & ~sleeping, std::memory_order_acquire)) return true;
            continue;
        }
        timespec abs{};
        const timespec* timeout = nullptr;
        if (deadline != Deadline::max()) {
            if (SteadyClock::now() >= deadline) {
                // Awake for good: posts need not wake us any more.
                if (word_.compare_exchange_weak(w, w & ~sleeping, std::memory_order_acquire)) return false;
                continue;
            }
            // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time, the
            // steady clock's own, so a deadline needs no conversion.
            const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
            abs.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
            abs.tv_nsec = static_cast<long>(ns % 1'000'000'000);
            timeout = &abs;
        }
        if (!(w & sleeping)) {
            if (!word_.compare_exchange_weak(w, sleeping, std::memory_order_acquire)) continue;
            w = sleeping;
        }
        // Sleeps only while the word is still "sleeping, no tokens"; a post
        // in between makes the call return at once. Wake-ups, EAGAIN, EINTR
        // and timeouts all come back round to the word and the clock.
        syscall(SYS_futex, &word_, FUTEX_WAIT_BITSET_PRIVATE, sleeping, timeout, nullptr, FUTEX_BITSET_MATCH_ANY);
        w = word_.load(std::memory_order_acquire);
    }
}

#else

void Parker::post() noexcept
{
    std::lock_guard lk(mu_);
    ++tokens_;
    cv_.notify_one();
}

bool Parker::wait_until(Deadline deadline) noexcept
{
    std::unique_lock lk(mu_);
    if (deadline == Deadline::max()) cv_.wait(lk, [&] { return tokens_ > 0; });
    else if (!cv_.wait_until(lk, deadline, [&] { return tokens_ > 0; })) return false;
    --tokens_;
    return true;
}

#endif

} // namespace respool::detail
