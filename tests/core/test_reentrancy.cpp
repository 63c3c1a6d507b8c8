// S14 of TESTPLAN.md: user code the pool calls — a listener, the logger, an
// adapter hook, a lease's stop callback — calls back into the same pool
// (stats, leases, try_acquire, acquire with the lease's stop token). Nothing
// may deadlock: close, maintenance, release and acquire all return. Each
// scenario runs on a thread the test waits for with a generous bound, so a
// deadlock fails the test (instead of hanging it until meson's timeout).
#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {
// Runs `body` on its own thread; true if it finished within `bound`.
// A thread stuck in a deadlock is detached: the process is failing anyway.
bool returns_within(std::function<void()> body, std::chrono::milliseconds bound = 10s)
{
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    std::thread([body = std::move(body), done] {
        body();
        done->set_value();
    }).detach();
    return finished.wait_for(bound) == std::future_status::ready;
}

// A listener that calls back into the pool it listens to on every event.
struct Reentrant final : EventListener {
    std::atomic<FakePool*> pool{nullptr};
    std::atomic<int> calls{0};
    void on_event(const Event&) noexcept override
    {
        FakePool* p = pool.load();
        if (!p) return;
        (void)p->stats();
        (void)p->leases();
        try {
            if (auto lease = p->try_acquire()) lease->release();  // may be nullopt: never a wait
        } catch (const PoolClosed&) {
            // Events during close: the pool says so, it does not hang.
        }
        calls.fetch_add(1);
    }
};
} // namespace

TEST_CASE("a listener and a logger that call back into the pool deadlock nothing (S14)")
{
    Fixture f;
    auto listener = std::make_shared<Reentrant>();
    std::atomic<FakePool*> for_logger{nullptr};
    std::atomic<int> log_calls{0};
    PoolOptions o = f.options(2);
    o.listener = listener;
    o.leak_threshold = 1ms;  // leak events too
    o.logger = [&](LogLevel, std::string_view) {
        if (FakePool* p = for_logger.load()) {
            (void)p->stats();
            log_calls.fetch_add(1);
        }
    };
    auto pool = std::make_unique<FakePool>(f.adapter(), o);
    listener->pool = pool.get();
    for_logger = pool.get();
    CHECK(returns_within([&] {
        auto a = pool->acquire();
        auto b = pool->acquire();
        try {
            (void)pool->acquire({.timeout = 5ms});  // a timeout event
        } catch (const AcquireTimeout&) {
        }
        f.clock->advance(10ms);
        pool->run_maintenance();  // leak-suspected events
        a.mark_broken();
        a.release();  // a destroy event
        f.fake->fail_next_creates(1);
        try {
            (void)pool->acquire({.timeout = 1s});  // a failed create (event and log line), then the retry serves it
        } catch (const CreateFailed&) {
        }
        b.release();
    }));
    CHECK(listener->calls.load() > 0);
    CHECK(log_calls.load() > 0);
    listener->pool = nullptr;
    for_logger = nullptr;
    CHECK(returns_within([&] { CHECK(pool->close(100ms)); }));
    CHECK(f.fake->violations().empty());
}

TEST_CASE("a listener calling into the pool during close, and close itself, return (S14)")
{
    Fixture f;
    auto listener = std::make_shared<Reentrant>();
    PoolOptions o = f.options(2);
    o.listener = listener;
    auto pool = std::make_unique<FakePool>(f.adapter(), o);
    pool->acquire().release();
    listener->pool = pool.get();
    CHECK(returns_within([&] { CHECK(pool->close(100ms)); }));
    listener->pool = nullptr;
    CHECK(returns_within([&] { pool.reset(); }));
}

TEST_CASE("an adapter hook that reads the pool's stats and leases deadlocks nothing (S14)")
{
    // A wrapper whose create, validate and reset ask the pool how it is
    // doing (through a callback set once the pool exists).
    using Ask = std::function<void()>;
    struct Asking {
        using Resource = testing::FakeResource;
        FakeAdapter inner;
        std::shared_ptr<Ask> ask_pool = std::make_shared<Ask>();
        void ask() const
        {
            if (*ask_pool) (*ask_pool)();
        }
        Resource create(Deadline d) { ask(); return inner.create(d); }
        bool is_broken(const Resource& r) const { return inner.is_broken(r); }
        bool validate(Resource& r, Deadline d) { ask(); return inner.validate(r, d); }
        void reset(Resource& r) { ask(); inner.reset(r); }
        void destroy(Resource& r) noexcept { inner.destroy(r); }
    };
    Fixture f;
    PoolOptions o = f.options(2);
    o.validate_after_idle = 0ms;
    Asking adapter{f.adapter()};
    auto handle = adapter.ask_pool;
    Pool<Asking> pool{std::move(adapter), o};
    *handle = [&pool] {
        (void)pool.stats();
        (void)pool.leases();
    };
    CHECK(returns_within([&] {
        for (int i = 0; i < 20; ++i) {
            auto a = pool.acquire();
            auto b = pool.acquire();
            if (i % 3 == 0) b.mark_broken();
        }
        pool.run_maintenance();
    }));
    *handle = nullptr;  // no hook runs now: every lease is back and housekeeping is off
    CHECK(f.fake->created() >= 2);
    CHECK(f.fake->reset_calls() > 0);
    CHECK(f.fake->validate_calls() > 0);
    CHECK(f.fake->violations().empty());
}

// Stop callbacks run outside the pool's lock (they deadlocked on a42be33,
// where close and the overdue sweep requested stops under it: issue 11, defect 2).
TEST_CASE("a lease's stop callback that acquires from the pool with the lease's own token deadlocks nothing (S14)")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    std::atomic<int> callback_ran{0};
    std::atomic<bool> holder_done{false};
    std::thread holder;
    {
        auto lease = std::make_shared<FakeLease>(pool.acquire());
        const std::stop_token token = lease->stop_token();
        REQUIRE(token.stop_possible());
        // The callback runs on the thread that closes the pool: it calls
        // back in, with the token that is firing.
        std::stop_callback on_stop(token, [&] {
            try {
                (void)pool.acquire({.timeout = 50ms, .stop = token});
            } catch (const Error&) {
                // Cancelled or PoolClosed: what matters is that it returns.
            }
            (void)pool.stats();
            callback_ran.fetch_add(1);
        });
        holder = std::thread([lease, &holder_done, token]() mutable {
            while (!token.stop_requested()) std::this_thread::sleep_for(1ms);
            lease->release();  // the holder lets go when asked
            holder_done = true;
        });
        lease.reset();
        CHECK(returns_within([&] { (void)pool.close(2s); }));
    }
    holder.join();
    CHECK(callback_ran.load() == 1);
    CHECK(holder_done.load());
    CHECK(pool.stats().leases == 0);
    CHECK(f.fake->violations().empty());
}
