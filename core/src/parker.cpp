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
    tokens_.fetch_add(1, std::memory_order_release);
    // From here on the owner may have gone (see the header): use the address only.
    syscall(SYS_futex, &tokens_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

bool Parker::wait_until(Deadline deadline) noexcept
{
    for (;;) {
        if (try_take()) return true;
        timespec abs{};
        const timespec* timeout = nullptr;
        if (deadline != Deadline::max()) {
            if (SteadyClock::now() >= deadline) return false;
            // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time, the
            // steady clock's own, so a deadline needs no conversion.
            const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
            abs.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
            abs.tv_nsec = static_cast<long>(ns % 1'000'000'000);
            timeout = &abs;
        }
        // Sleeps only while the word is still 0; EAGAIN, EINTR, ETIMEDOUT and
        // spurious returns all come back round to try_take and the clock.
        syscall(SYS_futex, &tokens_, FUTEX_WAIT_BITSET_PRIVATE, 0u, timeout, nullptr, FUTEX_BITSET_MATCH_ANY);
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
