#include <doctest/doctest.h>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {
struct Events final : EventListener {
    mutable std::mutex mu;
    std::vector<std::pair<EventKind, unsigned>> seen;  // kind, site line
    void on_event(const Event& e) noexcept override
    {
        std::lock_guard lk(mu);
        seen.emplace_back(e.kind, e.site.line());
    }
    std::vector<unsigned> lines(EventKind k) const
    {
        std::lock_guard lk(mu);
        std::vector<unsigned> out;
        for (auto& [kind, line] : seen)
            if (kind == k) out.push_back(line);
        return out;
    }
};
} // namespace

TEST_CASE("a lease held past leak_threshold is reported exactly once, then noted when it comes back (S11)")
{
    Fixture f;
    auto events = std::make_shared<Events>();
    std::vector<std::string> logs;
    std::mutex log_mu;
    PoolOptions o = f.options(2);
    o.leak_threshold = 5s;
    o.listener = events;
    o.logger = [&](LogLevel, std::string_view m) { std::lock_guard lk(log_mu); logs.emplace_back(m); };
    FakePool pool{f.adapter(), o};

    auto short_hold = pool.acquire();
    auto leaked = pool.acquire();  const unsigned line = __LINE__;
    f.clock->advance(4s);
    short_hold.release();
    pool.run_maintenance();
    CHECK(events->lines(EventKind::leak_suspected).empty());

    f.clock->advance(2s);
    pool.run_maintenance();
    pool.run_maintenance();
    CHECK(events->lines(EventKind::leak_suspected) == std::vector<unsigned>{line});
    CHECK(pool.stats().leaks_suspected == 1);
    REQUIRE(pool.leases().size() == 1);
    CHECK(pool.leases()[0].leak_reported);
    {
        std::lock_guard lk(log_mu);
        REQUIRE(logs.size() == 1);
        CHECK(logs[0].find("test_leaks.cpp:" + std::to_string(line)) != std::string::npos);
    }
    leaked.release();
    CHECK(events->lines(EventKind::leak_returned) == std::vector<unsigned>{line});
    std::lock_guard lk(log_mu);
    CHECK(logs.back().find("returned after all") != std::string::npos);
}

TEST_CASE("leases() lists each outstanding lease with site, thread and age")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    auto a = pool.acquire();  const unsigned line = __LINE__;
    f.clock->advance(3s);
    const auto leases = pool.leases();
    REQUIRE(leases.size() == 1);
    CHECK(leases[0].site.line() == line);
    CHECK(leases[0].thread == std::this_thread::get_id());
    CHECK(leases[0].age >= 3s);
    CHECK(leases[0].resource_id == a.info()->resource_id);
}

TEST_CASE("leak_report and RESPOOL_CHECK_NO_LEAKS name the line that never gave its lease back")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    RESPOOL_CHECK_NO_LEAKS(pool);
    auto forgotten = pool.acquire();  const unsigned line = __LINE__;
    const std::string report = testing::leak_report(pool);
    CHECK(report.find("leaked: ") == 0);
    CHECK(report.find("test_leaks.cpp:" + std::to_string(line)) != std::string::npos);
}

TEST_CASE("strict mode reports every lease still out when the pool closes; the lease stays safe to return")
{
    Fixture f;
    auto recorder = std::make_shared<testing::LeakRecorder>();
    std::optional<FakeLease> outlives;
    unsigned line = 0;
    {
        PoolOptions o = f.options(2);
        o.leak_mode = LeakMode::strict;
        o.drain_timeout = 0ms;
        o.listener = recorder;
        o.logger = [](LogLevel, std::string_view) {};
        FakePool pool{f.adapter(), o};
        outlives = pool.acquire();  line = __LINE__;
        auto returned = pool.acquire();
    }
    const auto leaked = recorder->leaked();
    REQUIRE(leaked.size() == 1);
    CHECK(leaked[0].site.line() == line);
    CHECK(testing::leak_report(*recorder).find("test_leaks.cpp:" + std::to_string(line)) != std::string::npos);
    CHECK(f.fake->live() == 1);
    outlives.reset();  // after the pool is gone: the resource is destroyed, nothing crashes
    CHECK(f.fake->live() == 0);
    CHECK(f.fake->violations().empty());
}

TEST_CASE("report mode without a threshold reports nothing; off mode never reports")
{
    for (LeakMode mode : {LeakMode::report, LeakMode::off}) {
        Fixture f;
        auto events = std::make_shared<Events>();
        PoolOptions o = f.options(1);
        o.leak_mode = mode;
        o.leak_threshold = mode == LeakMode::off ? 1s : 0s;
        o.listener = events;
        FakePool pool{f.adapter(), o};
        auto held = pool.acquire();
        f.clock->advance(1h);
        pool.run_maintenance();
        CHECK(events->lines(EventKind::leak_suspected).empty());
    }
}
