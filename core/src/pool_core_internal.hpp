// Private to core/src: the pieces of PoolCore its source files share.
#pragma once

#include <memory>
#include <optional>
#include <stop_token>
#include <thread>
#include <vector>

#include "pool_engine.hpp"

#include "parker.hpp"

namespace respool::detail {

/// One acquire call's inputs and progress.
struct PoolEngine::AcquireContext {
    std::chrono::milliseconds timeout;
    const std::stop_token& stop;
    const SourceLocation& site;
    bool may_wait = true;  // false for try_acquire: no queue, no acquire deadline
    std::thread::id thread = std::this_thread::get_id();
    std::int64_t start_ticks = 0;  // the pool's time base (an injected clock's, maybe)
    std::int64_t start_hw = 0;     // the hardware counter, when the call started
    AcquirePhase phase = AcquirePhase::queued;
    bool waited = false;  // queued at some point: counts as acquired_waited

    /// When the call started + timeout: queueing, creating and the borrow
    /// checks all count against it. `Deadline::max()`: none (try_acquire, or
    /// a timeout of `milliseconds::max()`). Placed on first use, anchored at
    /// the start by the hardware counter: a call that needs no deadline (an
    /// idle resource, nothing to check) pays for no steady-clock read.
    Deadline deadline() noexcept
    {
        if (!has_deadline_) {
            if (may_wait) {
                const auto now = SteadyClock::now();
                const auto since_start = std::chrono::nanoseconds(static_cast<std::int64_t>(
                    static_cast<double>(hardware_ticks() - start_hw) * hardware_ns_per_tick()));
                deadline_ = deadline_after(timeout, now - std::max(since_start, std::chrono::nanoseconds::zero()));
            }
            has_deadline_ = true;
        }
        return deadline_;
    }
    bool past_deadline() noexcept
    {
        const Deadline d = deadline();
        return d != Deadline::max() && SteadyClock::now() >= d;
    }

    // Set by deadline(); a plain member so the struct stays an aggregate.
    Deadline deadline_ = Deadline::max();
    bool has_deadline_ = false;
};

/// What the borrow checks (is_broken, validate, on_acquire) said of a lease's
/// resource; worked out without the lock, applied under it.
struct PoolEngine::BorrowVerdict {
    bool broken = false;        // is_broken() said so
    bool validated = false;     // validate() ran ...
    bool valid = true;          // ... and said this
    bool hook_said_no = false;  // on_acquire refused it: the user's verdict, not a failed creation
    bool late = false;          // the deadline passed before or during a check that may block
    std::int64_t now = 0;       // when the checks ended
    bool ok() const noexcept { return !broken && valid && !hook_said_no; }
};

/// What the return checks (on_release, is_broken, reset) said, without the lock.
struct PoolEngine::ReturnVerdict {
    bool broken = false;      // destroy it
    bool by_adapter = false;  // is_broken or reset said so: for a new resource, a failed creation
};

/// What a housekeeping pass found among the leases, to report and act on
/// once the lock is released.
struct PoolEngine::LeaseWatch {
    struct Note {
        LeaseInfo info;
        EventKind kind;
    };
    std::vector<Note> notes;
    std::vector<Slot*> to_interrupt;  // pinned: overdue leases being reclaimed
};

/// One `create` call's outcome, made without the lock.
struct PoolEngine::Creation {
    Slot* slot = nullptr;  // null: it failed
    std::exception_ptr error;
    std::string error_text;
    bool fatal = false;
    std::chrono::nanoseconds took{};
    std::int64_t done = 0;  // the pool's time when it ended
};

/// Its stop token fired: takes a waiting caller out of the queue (the
/// callback of a `std::stop_callback`, run on whichever thread requested it).
struct PoolEngine::CancelWait {
    PoolEngine* pool;
    Waiter* w;
    void operator()() const noexcept;
};

/// A caller asleep in acquire; lives on its stack.
///
/// Every signal sent to it counts one more `signals` under the lock; it may
/// not leave before it has taken them all from its parker, because a final
/// outcome is signalled after the signaller has released the lock.
struct PoolEngine::ThreadWaiter final : Waiter {
    explicit ThreadWaiter(AcquireContext& c) noexcept : Waiter(&post), ctx(&c) {}
    static void post(Waiter& w) noexcept { static_cast<ThreadWaiter&>(w).parker.post(); }
    /// Takes signals from the parker until `promised` have been taken.
    void take_signals(std::uint32_t promised) noexcept
    {
        for (; consumed < promised; ++consumed) parker.wait();
    }
    AcquireContext* ctx;  // for leasing in its name
    Parker parker;
    std::uint32_t consumed = 0;  // signals taken from the parker
    std::optional<std::stop_callback<CancelWait>> on_stop;
};

/// What a thread owes once it releases the lock, in this order: signals to
/// waiters it dequeued or hinted (wake first: they are ready to run), stop requests to
/// lease holders, destruction of doomed slots, and the log lines and events
/// about creation failures found on the way. The thread must hold a
/// reference to the pool until it has run and settled it.
///
/// Built and destroyed on every acquire and release, so the common part is
/// a few words; what only close, housekeeping and failures need is
/// allocated when first needed.
struct PoolEngine::DeferredRare {
    std::vector<std::stop_source> stops;
    // A creation failure found while the lock was held (a new resource
    // broken on its first use, or the breaker moving).
    std::string failure;  // empty: none
    CreationGovernor::Transition transition = CreationGovernor::Transition::none;
    std::string transition_error;  // the last creation error, with `transition`
    std::size_t consecutive_failures = 0;
};

struct PoolEngine::Deferred {
    using Rare = DeferredRare;
    Waiter* told = nullptr;     // linked by Waiter::next_told
    Waiter* hinted = nullptr;   // the oldest waiter, told to look again
    Slot* doomed = nullptr;     // linked by Slot::next_doomed
    std::size_t destroyed = 0;  // run, waiting to be settled
    DestroyCounts destroyed_by_reason;
    std::unique_ptr<Rare> rare;

    Rare& more()
    {
        if (!rare) rare = std::make_unique<Rare>();
        return *rare;
    }
    bool empty() const noexcept
    {
        return told == nullptr && hinted == nullptr && doomed == nullptr && destroyed == 0 && !rare;
    }
};

std::string format_duration(std::chrono::nanoseconds d);

/// Real monotonic nanoseconds. The creation governor paces real threads
/// against real servers, so it ignores an injected (manual) clock.
inline std::int64_t real_ns() noexcept
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

} // namespace respool::detail
