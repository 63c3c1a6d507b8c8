// <respool/format.hpp>: fmt formatters for stats, distributions, leases,
// events and the enums, checked against the text functions they stand for.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include <respool/format.hpp>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

/// A pool with some history: sites, waits, a failed create, a broken resource.
PoolStats busy_stats(Fixture& f)
{
    FakePool pool{f.adapter(), f.options(2)};
    {
        auto a = pool.acquire();
        f.clock->advance(3ms);
        auto b = pool.acquire();
        b.mark_broken();
    }
    f.fake->fail_next_creates_fatally(1, "fake: refused");  // fatal: fails the acquire at once
    auto held = pool.acquire();
    try {
        auto second = pool.acquire();
        (void)pool.acquire({.timeout = 1s});
    } catch (const CreateFailed&) {
    }
    return pool.stats();
}

} // namespace

TEST_CASE("a PoolStats formats exactly as to_string, including width specs")
{
    Fixture f;
    const PoolStats s = busy_stats(f);
    REQUIRE(!s.sites.empty());
    REQUIRE(!s.last_create_error.empty());
    const std::string text = to_string(s);
    CHECK(fmt::format("{}", s) == text);
    CHECK(fmt::format("{:>2}", s) == text);  // shorter than the text: unchanged
    CHECK(contains(text, "pool test"));

    PoolStats empty;
    CHECK(fmt::format("{}", empty) == to_string(empty));
}

TEST_CASE("a Distribution formats as the stats report shows it")
{
    Fixture f;
    const PoolStats s = busy_stats(f);
    REQUIRE(s.hold_time.count > 0);
    const std::string hold = fmt::format("{}", s.hold_time);
    CHECK(hold == to_string(s.hold_time));
    CHECK(contains(to_string(s), "  hold " + hold + "\n"));
    CHECK(contains(to_string(s), "  wait " + fmt::format("{}", s.acquire_wait) + "\n"));
    CHECK(contains(hold, fmt::format("(n={})", s.hold_time.count)));

    CHECK(fmt::format("{}", Distribution{}) == "-");
    const Distribution d{.count = 3, .p50 = 1500us, .p99 = 2ms, .max = 2s, .sum = 2003ms};
    CHECK(fmt::format("{}", d) == "p50 1.5 ms p99 2.0 ms max 2.00 s (n=3)");
}

TEST_CASE("enums format as their names and honour width and alignment")
{
    CHECK(fmt::format("{}", DestroyReason::broken) == "broken");
    CHECK(fmt::format("{:>8}|", DestroyReason::idle) == "    idle|");
    CHECK(fmt::format("{:<9}|", EventKind::created) == "created  |");
    CHECK(fmt::format("{}", EventKind::leak_suspected) == "leak_suspected");
    CHECK(fmt::format("{}", AcquirePhase::validating) == "validating");
    CHECK(fmt::format("{}", CircuitState::half_open) == "half_open");
    for (std::size_t r = 0; r < destroy_reason_count; ++r)
        CHECK(fmt::format("{}", static_cast<DestroyReason>(r)) == to_string(static_cast<DestroyReason>(r)));
}

TEST_CASE("a LeaseInfo formats as describe()")
{
    Fixture f;
    FakePool pool{f.adapter(), f.options(2)};
    auto lease = pool.acquire();
    f.clock->advance(1200ms);
    const auto leases = pool.leases();
    REQUIRE(leases.size() == 1);
    const std::string text = fmt::format("{}", leases[0]);
    CHECK(text == describe(leases[0]));
    CHECK(contains(text, "test_format.cpp:"));
    CHECK(contains(text, "1.20 s"));
}

TEST_CASE("every event kind formats to one line naming the pool")
{
    const auto here = respool::SourceLocation::current();
    for (int k = 0; k <= static_cast<int>(EventKind::pool_closed); ++k) {
        const Event e{.kind = static_cast<EventKind>(k), .pool = "orders", .resource_id = 7,
                      .reason = DestroyReason::lifetime, .duration = 2500us, .message = "boom",
                      .site = here, .thread = std::this_thread::get_id()};
        const std::string line = fmt::format("{}", e);
        CAPTURE(line);
        CHECK(line == to_string(e));
        CHECK(line.rfind("[orders] ", 0) == 0);
        CHECK_FALSE(contains(line, "\n"));
        CHECK_FALSE(contains(line, "unknown"));
    }
}

TEST_CASE("event lines carry what each kind is about")
{
    const auto here = respool::SourceLocation::current();
    const std::string site = format_site(here);
    CHECK(fmt::format("{}", Event{.kind = EventKind::destroyed, .pool = "p", .resource_id = 3,
                                  .reason = DestroyReason::broken}) == "[p] resource #3 destroyed (broken)");
    CHECK(fmt::format("{}", Event{.kind = EventKind::created, .pool = "p", .resource_id = 4,
                                  .duration = 1200us}) == "[p] resource #4 created in 1.2 ms");
    CHECK(fmt::format("{}", Event{.kind = EventKind::create_failed, .pool = "p", .duration = 10s,
                                  .message = "refused"}) == "[p] create failed after 10.00 s: refused");
    const std::string leak = fmt::format("{}", Event{.kind = EventKind::leak_suspected, .pool = "p",
                                                     .resource_id = 5, .duration = 12s, .site = here});
    CHECK(leak == "[p] suspected leak: resource #5 held 12.00 s at " + site);
    const std::string timeout = fmt::format(
        "{}", Event{.kind = EventKind::acquire_timeout, .pool = "p", .duration = 50ms, .message = "exhausted",
                    .site = here, .thread = std::this_thread::get_id()});
    CHECK(timeout.rfind("[p] acquire timed out after 50.0 ms at " + site + " by thread ", 0) == 0);
    CHECK(timeout.ends_with(": exhausted"));
    // A multi-line message (a timeout lists its holders) is folded into one line.
    CHECK(fmt::format("{}", Event{.kind = EventKind::create_failed, .pool = "p", .duration = 1s,
                                  .message = "holders:\n  a.cpp:1\r\n  b.cpp:2\n"}) ==
          "[p] create failed after 1.00 s: holders: a.cpp:1; b.cpp:2");
}

TEST_CASE("events from a real pool format as to_string does")
{
    struct Lines final : EventListener {
        std::mutex mu;
        std::vector<std::string> lines;
        void on_event(const Event& e) noexcept override
        {
            std::lock_guard lk(mu);
            lines.push_back(fmt::format("{}", e));
        }
    };
    Fixture f;
    auto lines = std::make_shared<Lines>();
    PoolOptions o = f.options(1);
    o.listener = lines;
    {
        FakePool pool{f.adapter(), o};
        auto lease = pool.acquire();
        lease.mark_broken();
    }
    // Events come from the thread where they happen (here a creator thread
    // and this one), so their order is not fixed: look for each line.
    std::lock_guard lk(lines->mu);
    auto has = [&](auto&& pred) { return std::any_of(lines->lines.begin(), lines->lines.end(), pred); };
    CHECK(lines->lines.size() == 3);
    CHECK(has([](const std::string& l) { return l.starts_with("[test] resource #") && contains(l, " created in "); }));
    CHECK(has([](const std::string& l) { return l.starts_with("[test] resource #") && l.ends_with(" destroyed (broken)"); }));
    CHECK(has([](const std::string& l) { return l == "[test] pool closed"; }));
}
