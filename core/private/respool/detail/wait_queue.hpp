// Internal: the callers waiting for a resource, and the fairness policy's
// two predicates (`may_overtake`, `hand_off_due`) and hint marks. What is
// done with them — hand-off, hint, grant — is decided in one place,
// PoolCore::offer_locked (pool_dispatch.cpp); the quiet spell's timing is
// the waiter's own (wait_locked).
//
// Waiters are served in arrival order. The policy is Go's sync.Mutex
// starvation mode applied to a pool: while the oldest waiter has waited less
// than `fairness_window`, a running thread may take a freed resource at once
// (the waiter is only told to look again), which keeps throughput near a
// barging pool's; once it has waited longer, every freed resource goes to it
// directly (hand-off) until the queue drains. A window of 0 is strict FIFO.
// A hint that finds the resource taken by a running thread was a wake-up
// paid for nothing; the waiter then stays out of the hints for a while and
// looks by itself (see `Waiter::quiet` and PoolCore::wait_locked), so a pool
// with more threads than resources does not pay a wake-up per return.
//
// A `Waiter` is a node that lives with whoever waits — a sleeping thread's
// stack frame today, a completion handler's state for an asynchronous
// acquire — linked into the queue. The queue knows a waiter only through
// its `signal` function, which must not run user code: a thread's parker
// post. Outcomes (granted, failed, closed, cancelled) and hints are set
// under the lock, and signalled after the lock is released (see
// `Deferred`), so a completion handler could run there.
//
// Not thread-safe: every member is called under the pool's lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include <respool/detail/slot.hpp>

namespace respool::detail {

enum class WaitOutcome : std::uint8_t {
    waiting,    ///< still queued
    granted,    ///< handed a resource, leased in its name (`grant`)
    failed,     ///< a creation failed and this waiter takes the failure (`error`)
    closed,     ///< the pool closed
    cancelled,  ///< its stop token fired
    left,       ///< dequeued itself (took a resource, or timed out)
};

struct Waiter {
    using Signal = void (*)(Waiter&) noexcept;

    explicit Waiter(Signal s) noexcept : signal(s) {}
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;

    const Signal signal;            // wakes it; never user code
    std::uint32_t signals = 0;      // signals sent or about to be (a thread takes them all before it goes)
    std::int64_t enqueued_ticks = 0;
    WaitOutcome outcome = WaitOutcome::waiting;
    bool woken = false;             // hinted that a resource may be free; cleared when it looks again
    std::chrono::nanoseconds quiet{0};  // after a wasted hint: how long it looks by itself before the next
    bool quiet_spell = false;       // in such a sleep now (with `woken` set, so plain hints skip it)
    bool circuit_open = false;      // with `failed`: the failure opened the breaker
    // Set before the outcome `granted` is published; a thread reads it
    // without the lock once it sees it (release/acquire).
    std::atomic<LeaseRecord*> grant{nullptr};
    std::exception_ptr error;       // with `failed`
    std::string error_text;
    std::uint64_t failures_seen = 0;  // creation failures counted when it started waiting
    Waiter* prev = nullptr;
    Waiter* next = nullptr;
    Waiter* next_told = nullptr;    // in a Deferred list of waiters to signal

    bool queued() const noexcept { return outcome == WaitOutcome::waiting; }
};

class WaitQueue {
public:
    explicit WaitQueue(std::int64_t fairness_ticks) noexcept : window_(fairness_ticks) {}
    WaitQueue(const WaitQueue&) = delete;
    WaitQueue& operator=(const WaitQueue&) = delete;

    bool empty() const noexcept { return head_ == nullptr; }
    std::size_t size() const noexcept { return size_; }
    Waiter* front() const noexcept { return head_; }

    void push(Waiter& w, std::int64_t now) noexcept;
    /// Takes `w` out of the queue with its final outcome. Unless `w` removes
    /// itself (`left`), the caller owes it one signal after the lock is
    /// released (`Deferred::tell`).
    void remove(Waiter& w, WaitOutcome outcome) noexcept;

    /// May a caller that is not queued take a free resource now, ahead of the queue?
    bool may_overtake(std::int64_t now) const noexcept
    {
        return head_ == nullptr || (window_ > 0 && now - head_->enqueued_ticks < window_);
    }
    /// Must a freed resource go straight to the oldest waiter?
    bool hand_off_due(std::int64_t now) const noexcept
    {
        return head_ != nullptr && (window_ == 0 || now - head_->enqueued_ticks >= window_);
    }
    /// Marks the oldest waiter, unless it is told already (or quiet after a
    /// wasted wake-up), as told that a resource may be free for it to take,
    /// and returns it: the caller owes it one signal after the lock is
    /// released. At most one hint is outstanding per waiter, so a burst of
    /// returns wakes it once.
    [[nodiscard]] Waiter* hint_front() noexcept
    {
        Waiter* f = head_;
        if (!f || f->woken) return nullptr;
        f->woken = true;
        ++f->signals;
        return f;
    }
    /// Ends the oldest waiter's quiet spell, if it is in one, the same way:
    /// for when returned resources are piling up untaken.
    [[nodiscard]] Waiter* wake_quiet_front() noexcept
    {
        Waiter* f = head_;
        if (!f || !f->quiet_spell) return nullptr;
        f->quiet_spell = false;
        ++f->signals;
        return f;
    }

private:
    const std::int64_t window_;
    Waiter* head_ = nullptr;
    Waiter* tail_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace respool::detail
