// WaitQueue: the FIFO of waiting callers (the policy is in the header).
#include <respool/detail/wait_queue.hpp>

#include <cassert>

namespace respool::detail {

void WaitQueue::push(Waiter& w, std::int64_t now) noexcept
{
    w.enqueued_ticks = now;
    w.outcome = WaitOutcome::waiting;
    w.prev = tail_;
    w.next = nullptr;
    if (tail_) tail_->next = &w;
    else head_ = &w;
    tail_ = &w;
    ++size_;
}

void WaitQueue::remove(Waiter& w, WaitOutcome outcome) noexcept
{
    assert(w.queued() && outcome != WaitOutcome::waiting);
    if (w.prev) w.prev->next = w.next;
    else head_ = w.next;
    if (w.next) w.next->prev = w.prev;
    else tail_ = w.prev;
    w.prev = w.next = nullptr;
    w.outcome = outcome;
    --size_;
}

} // namespace respool::detail
