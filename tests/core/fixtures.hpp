// Shared set-up for the core suites: a fake adapter with its controller, a
// manual clock, and options without background housekeeping so tests drive
// time and maintenance themselves.
#pragma once

#include <chrono>
#include <memory>
#include <thread>

#include <respool/pool.hpp>
#include <respool/testing.hpp>

namespace respool::test {

using namespace std::chrono_literals;
using testing::FakeAdapter;
using testing::FakeController;
using FakePool = Pool<FakeAdapter>;
using FakeLease = Lease<FakeAdapter>;

struct Fixture {
    std::shared_ptr<FakeController> fake = std::make_shared<FakeController>();
    std::shared_ptr<testing::ManualClock> clock = std::make_shared<testing::ManualClock>();

    /// Options for deterministic tests: manual clock, no housekeeper thread.
    PoolOptions options(std::size_t max_size = 4) const
    {
        PoolOptions o;
        o.name = "test";
        o.max_size = max_size;
        o.clock = clock;
        o.background_housekeeping = false;
        o.acquire_timeout = 2s;
        o.create_timeout = 2s;
        return o;
    }
    FakeAdapter adapter(LeaseMode mode = LeaseMode::exclusive()) const { return FakeAdapter{fake, mode}; }
};

/// Milliseconds since `start`, for timing windows.
inline long long ms_since(SteadyClock::time_point start)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
}

/// The stats' gauges are consistent with each other and with the limit.
inline bool gauges_consistent(const PoolStats& s)
{
    return s.idle + s.in_use + s.creating <= s.total && s.total <= s.max_size;
}

} // namespace respool::test
