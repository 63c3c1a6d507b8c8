// Baselines for bench_core: the simplest pools one would write by hand, so the
// figures say what respool's features (fairness, deadlines, stats, leak
// tracking) cost against them.
//
// - `BargingPool`: a mutex, a condition variable and a stack. Acquire locks,
//   pops the most recently returned item or waits; release pushes it back
//   and wakes one waiter, who then competes with every newcomer (barging):
//   the fastest design, with an unbounded tail.
// - `FifoHandoffPool`: strict first-come first-served. A release hands the
//   item straight to the oldest waiter, so nobody is overtaken; every
//   contended hand-off costs a context switch.
// - `SharedBargingPool`: the barging pool for multiplexed resources: each
//   item takes up to `cap` holders at once, acquire picks the least loaded.
//
// None has deadlines, health checks or statistics. Thread-safe; items are
// ints owned by the pool, handed out as pointers.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

namespace bench {

class BargingPool {
public:
    explicit BargingPool(std::size_t size) : items_(size), free_()
    {
        free_.reserve(size);
        for (int& i : items_) free_.push_back(&i);
    }
    int* acquire()
    {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return !free_.empty(); });
        int* item = free_.back();
        free_.pop_back();
        return item;
    }
    void release(int* item)
    {
        {
            std::lock_guard lk(mu_);
            free_.push_back(item);
        }
        cv_.notify_one();
    }

private:
    std::vector<int> items_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<int*> free_;  // guarded by mu_
};

class FifoHandoffPool {
public:
    explicit FifoHandoffPool(std::size_t size) : items_(size)
    {
        free_.reserve(size);
        for (int& i : items_) free_.push_back(&i);
    }
    int* acquire()
    {
        std::unique_lock lk(mu_);
        if (waiters_.empty() && !free_.empty()) {
            int* item = free_.back();
            free_.pop_back();
            return item;
        }
        Waiter me;  // on this stack; the releaser fills `item`
        waiters_.push_back(&me);
        me.cv.wait(lk, [&] { return me.item != nullptr; });
        return me.item;
    }
    void release(int* item)
    {
        std::lock_guard lk(mu_);
        if (waiters_.empty()) {
            free_.push_back(item);
            return;
        }
        Waiter* oldest = waiters_.front();
        waiters_.pop_front();
        oldest->item = item;
        oldest->cv.notify_one();  // under the lock: `oldest` lives on a stack that may unwind right after
    }

private:
    struct Waiter {
        std::condition_variable cv;
        int* item = nullptr;
    };
    std::vector<int> items_;
    std::mutex mu_;
    std::vector<int*> free_;         // guarded by mu_
    std::deque<Waiter*> waiters_;    // guarded by mu_, oldest first
};

class SharedBargingPool {
public:
    SharedBargingPool(std::size_t size, std::size_t cap) : items_(size), holders_(size, 0), cap_(cap) {}
    int* acquire()
    {
        std::unique_lock lk(mu_);
        std::size_t best = 0;
        cv_.wait(lk, [&] {
            best = 0;
            for (std::size_t i = 1; i < holders_.size(); ++i)
                if (holders_[i] < holders_[best]) best = i;
            return holders_[best] < cap_;
        });
        ++holders_[best];
        return &items_[best];
    }
    void release(int* item)
    {
        {
            std::lock_guard lk(mu_);
            --holders_[static_cast<std::size_t>(item - items_.data())];
        }
        cv_.notify_one();
    }

private:
    std::vector<int> items_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::size_t> holders_;  // guarded by mu_
    std::size_t cap_;
};

} // namespace bench
