// The fake adapter's own checker: every core and stress test trusts
// `FakeController::violations()` to catch the pool misusing a resource, so
// each kind of misuse is made here on purpose and must be reported. Also:
// the fake's scripted faults are the fault injector's (one script, one
// meaning).
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <type_traits>

#include <respool/testing.hpp>

using namespace std::chrono_literals;
using respool::Deadline;
using respool::deadline_after;
using respool::testing::FakeAdapter;
using respool::testing::FakeController;
using respool::testing::FakeError;
using respool::testing::FakeResource;
using respool::testing::FaultScript;
using respool::testing::InjectedFault;

namespace {
bool reported(const FakeController& fake, const std::string& words)
{
    for (const std::string& v : fake.violations())
        if (v.find(words) != std::string::npos) return true;
    return false;
}
} // namespace

TEST_CASE("the checker reports one resource held by two exclusive users at once")
{
    FakeAdapter adapter;
    FakeResource r = adapter.create(deadline_after(1s));
    {
        auto first = r.use();
        CHECK(adapter.controller().violations().empty());
        auto second = r.use();
        CHECK(adapter.controller().violations().size() == 1);
        CHECK(reported(adapter.controller(), "held by two exclusive leases at once"));
    }
    auto again = r.use();  // both guards gone: a third use is fine
    CHECK(adapter.controller().violations().size() == 1);
}

TEST_CASE("the checker allows several users of one resource in shared mode")
{
    FakeAdapter adapter{std::make_shared<FakeController>(), respool::LeaseMode::shared(4)};
    FakeResource r = adapter.create(deadline_after(1s));
    auto first = r.use();
    auto second = r.use();
    CHECK(adapter.controller().violations().empty());
}

TEST_CASE("the checker reports a use, a check, a validation and a reset after destroy")
{
    FakeAdapter adapter;
    FakeResource r = adapter.create(deadline_after(1s));
    adapter.destroy(r);
    CHECK(adapter.controller().violations().empty());
    { auto use = r.use(); }
    CHECK(reported(adapter.controller(), "used after it was destroyed"));
    CHECK(adapter.is_broken(r));
    CHECK(reported(adapter.controller(), "is_broken on destroyed resource"));
    CHECK_FALSE(adapter.validate(r, deadline_after(1s)));
    CHECK(reported(adapter.controller(), "validate on destroyed resource"));
    adapter.reset(r);
    CHECK(reported(adapter.controller(), "reset on destroyed resource"));
    CHECK(adapter.controller().violations().size() == 4);
}

TEST_CASE("the checker reports a double destroy and a destroy while in use")
{
    FakeAdapter adapter;
    FakeResource a = adapter.create(deadline_after(1s));
    FakeResource b = adapter.create(deadline_after(1s));
    adapter.destroy(a);
    adapter.destroy(a);
    CHECK(reported(adapter.controller(), "destroyed twice"));
    CHECK(adapter.controller().destroyed() == 1);  // the second one is not counted
    {
        auto use = b.use();
        adapter.destroy(b);
    }
    CHECK(reported(adapter.controller(), "destroyed while in use"));
    CHECK(adapter.controller().violations().size() == 2);
    CHECK(adapter.controller().live() == 0);
}

TEST_CASE("the fake's scripted faults are a FaultScript: same faults, same counts, shared with an injector")
{
    auto script = std::make_shared<FaultScript>();
    auto fake = std::make_shared<FakeController>(script);
    FakeAdapter adapter{fake};
    CHECK(fake->script() == script);

    fake->fail_create_number(2);
    (void)adapter.create(deadline_after(1s));
    CHECK_THROWS_AS((void)adapter.create(deadline_after(1s)), FakeError);
    static_assert(std::is_same_v<FakeError, InjectedFault>);
    script->fail_next_creates(1, "refused");  // scripted on the script, seen through the fake
    try {
        (void)adapter.create(deadline_after(1s));
        FAIL("expected the scripted failure");
    } catch (const InjectedFault& e) {
        CHECK(std::string(e.what()) == "refused");
    }
    CHECK(fake->create_calls() == 3);
    CHECK(script->counters().create_calls == 3);
    CHECK(script->counters().creates_failed == 2);
    CHECK(fake->created() == 1);

    FakeResource r = adapter.create(deadline_after(1s));
    fake->break_next_checks(1);
    CHECK(adapter.is_broken(r));
    CHECK(adapter.is_broken(r));  // broken by the script once, it stays broken
    CHECK(script->counters().broken_reported == 1);
    fake->fail_next_validations(1);
    CHECK_FALSE(adapter.validate(r, deadline_after(1s)));
    CHECK(fake->validate_calls() == 1);
    fake->fail_next_resets(1);
    CHECK_THROWS_AS(adapter.reset(r), FakeError);
    CHECK(fake->reset_calls() == 1);
    CHECK(fake->violations().empty());
}

TEST_CASE("a hung reset waits until release_hangs, then throws")
{
    FakeAdapter adapter;
    FakeResource r = adapter.create(deadline_after(1s));
    adapter.controller().hang_resets(true);
    std::atomic<bool> done{false};
    std::jthread resetter([&] {
        CHECK_THROWS_AS(adapter.reset(r), FakeError);
        done = true;
    });
    std::this_thread::sleep_for(100ms);
    CHECK_FALSE(done.load());
    adapter.controller().release_hangs();
    resetter.join();
    CHECK(done.load());
}
