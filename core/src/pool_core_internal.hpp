// Private to core/src: the pieces of PoolCore shared by its three .cpp files.
#pragma once

#include <respool/detail/pool_core.hpp>

namespace respool::detail {

/// A caller blocked in acquire; lives on its stack, linked into the queue.
struct PoolCore::Waiter {
    std::condition_variable cv;
    std::int64_t enqueued_ticks = 0;
    Slot* granted = nullptr;        // handed over directly; already counted as leased
    std::exception_ptr error;       // a creation failed and this waiter takes the failure
    std::string error_text;
    bool circuit_open = false;      // the failure opened the breaker
    std::uint64_t failures_seen = 0;  // create_failures_ when it started waiting
    bool woken = false;             // told that an idle resource may be there
    bool cancelled = false;         // its stop token fired
    bool queued = false;
    Waiter* prev = nullptr;
    Waiter* next = nullptr;
};

/// One acquire call's inputs and progress.
struct PoolCore::AcquireContext {
    std::chrono::nanoseconds timeout;
    const std::stop_token& stop;
    const std::source_location& site;
    bool may_wait = true;  // false for try_acquire: no queue, no acquire deadline
    std::int64_t start_ticks = 0;
    Deadline deadline{};
    bool has_deadline = false;
    AcquirePhase phase = AcquirePhase::queued;

    Deadline get_deadline() noexcept
    {
        if (!has_deadline) {
            deadline = deadline_after(timeout);
            has_deadline = true;
        }
        return deadline;
    }
};

/// Slots taken out of the pool under the lock, destroyed after it is released.
struct PoolCore::Doomed {
    Slot* head = nullptr;
    bool empty() const noexcept { return head == nullptr; }
};

std::string format_duration(std::chrono::nanoseconds d);

/// Real monotonic nanoseconds. The creation governor paces real threads
/// against real servers, so it ignores an injected (manual) clock.
inline std::int64_t real_ns() noexcept
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

} // namespace respool::detail
