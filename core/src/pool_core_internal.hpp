// Private to core/src: the pieces of PoolCore shared by its three .cpp files.
#pragma once

#include <atomic>
#include <thread>

#include <respool/detail/pool_core.hpp>

#include "parker.hpp"

namespace respool::detail {

/// A caller blocked in acquire; lives on its stack, linked into the queue.
///
/// Every wake-up sent to it under the lock counts one more `promised` token
/// on its parker; it may not leave before it has taken them all, because a
/// grant posts its token after the granter has released the lock.
struct PoolCore::Waiter {
    explicit Waiter(AcquireContext& c) : ctx(&c) {}
    AcquireContext* ctx;            // the caller's, for leasing on its behalf
    Parker parker;
    std::uint32_t promised = 0;     // tokens posted or about to be
    std::int64_t enqueued_ticks = 0;
    // A resource handed over directly, leased in the waiter's name (and its
    // `callers_` share ended) by the granter; read without the lock once set.
    std::atomic<LeaseRecord*> grant{nullptr};
    Waiter* next_granted = nullptr; // in a Deferred list, to be woken
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
    std::thread::id thread = std::this_thread::get_id();
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

/// What a thread owes once it releases the lock: slots taken out of the pool
/// to destroy, and waiters granted a resource to wake (see `Waiter`).
struct PoolCore::Deferred {
    Slot* doomed = nullptr;      // linked by Slot::next_doomed
    Waiter* granted = nullptr;   // linked by Waiter::next_granted
    bool empty() const noexcept { return doomed == nullptr && granted == nullptr; }
};

std::string format_duration(std::chrono::nanoseconds d);

/// Real monotonic nanoseconds. The creation governor paces real threads
/// against real servers, so it ignores an injected (manual) clock.
inline std::int64_t real_ns() noexcept
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

} // namespace respool::detail
