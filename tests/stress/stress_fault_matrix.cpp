// S2 of TESTPLAN.md: each adapter hook — create, validate, reset — in turn
// answers ok, with an error, slowly, or never (until its deadline; reset,
// which has none, until the test lets go), while 8 threads acquire with
// deadlines of 0 to 5 ms; the faults are the fake's, i.e. a FaultScript's.
// Throughout and after: the pool stays within max_size, every acquire ends
// by its deadline, the fault shows up in the counters where it should, and
// after close everything made was destroyed.
//
// Each cell runs until the threads have made a minimum number of acquire
// attempts (scaled for sanitizers), however long a busy machine takes. The
// fault a cell's check relies on is scheduled, not left to chance: in an
// error cell the odd-numbered creates fail, and the first validation and
// the first reset fail before the 50 % random failures start.
#include <algorithm>

#include "stress_support.hpp"

#include <condition_variable>

namespace {

using namespace std::chrono_literals;
using respool::testing::FakeAdapter;
using respool::testing::FakeController;
using respool::testing::FakeResource;

constexpr std::size_t thread_count = 8;
constexpr std::size_t max_size = 3;

enum class Hook { create, validate, reset };
enum class Behaviour { ok, error, slow, hang };
constexpr const char* hook_names[] = {"create", "validate", "reset"};
constexpr const char* behaviour_names[] = {"ok", "error", "slow", "hang"};

void script(FakeController& c, Hook hook, Behaviour b, std::uint64_t seed)
{
    respool::testing::FakeRandomFaults f;
    f.seed = seed;
    f.delay = 2ms;
    switch (b) {
    case Behaviour::ok:
        return;
    case Behaviour::error:
        if (hook == Hook::create) {
            for (int n = 1; n < 20'000; n += 2) c.fail_create_number(n);
            return;
        }
        if (hook == Hook::validate) c.fail_next_validations(1);
        if (hook == Hook::reset) c.fail_next_resets(1);
        (hook == Hook::validate ? f.validate_failure : f.reset_failure) = 0.5;
        c.set_random_faults(f);
        return;
    case Behaviour::slow:
        if (hook == Hook::create) c.set_create_delay(2ms);
        if (hook == Hook::validate) c.set_validate_delay(2ms);
        if (hook == Hook::reset) c.set_reset_delay(2ms);
        return;
    case Behaviour::hang:
        if (hook == Hook::create) c.hang_creates(true);
        if (hook == Hook::validate) c.hang_validations(true);
        if (hook == Hook::reset) c.hang_resets(true);  // no deadline: until release_hangs()
        return;
    }
}

respool::PoolOptions matrix_options()
{
    respool::PoolOptions o;
    o.name = "s2";
    o.max_size = max_size;
    o.max_concurrent_creates = 2;
    // Hung hooks last seconds, far beyond any acquire's deadline (0-5 ms): an
    // acquire that waited for one would come back seconds late.
    o.create_timeout = 3s;
    o.validation_timeout = 3s;
    o.validate_after_idle = 0ms;  // validate every borrow but a fresh resource's first
    o.housekeeping_interval = 5ms;
    o.logger = [](respool::LogLevel, std::string_view) {};
    return o;
}

void worker(std::size_t index, respool::Pool<FakeAdapter>& pool, stress::WorkBudget& budget,
            stress::OpCounts& counts, stress::Failures& failures)
{
    std::mt19937_64 rng(stress::seed() + index);
    while (!budget.over()) {
        budget.add();
        const auto timeout = std::chrono::milliseconds(rng() % 6);
        auto lease = rng() % 5 == 0 ? stress::counted_try_acquire(pool, counts, failures)
                                    : stress::timed_acquire(pool, {.timeout = timeout}, counts, failures);
        if (!lease) continue;
        stress::touch(*lease);
        // Some resources come back broken, so creation keeps running in every cell.
        if (rng() % 10 == 0) lease->mark_broken();
    }
}

/// Checks that the cell's fault was really met, where it should show.
void check_fault_seen(Hook hook, Behaviour b, const respool::PoolStats& s, const stress::OpCounts& counts,
                      const FakeController& c, const stress::WorkBudget& budget)
{
    CHECK_MESSAGE(budget.reached(), "time cap hit: ", budget.describe());
    if (b == Behaviour::ok) {
        CHECK(s.create_failures == 0);
        CHECK(s.validation_failures == 0);
        CHECK(counts.create_failed.load() == 0);
        // Healthy hooks: most attempts get a lease (a 0 ms deadline on a busy
        // pool may not); a tenth is far below what a working pool gives.
        CHECK(counts.acquired.load() > budget.minimum() / 10);
        return;
    }
    switch (hook) {
    case Hook::create:
        if (b == Behaviour::error) CHECK(s.create_failures > 0);
        if (b == Behaviour::hang) CHECK(counts.timeouts_creating.load() > 0);  // the phase is named
        if (b == Behaviour::hang) CHECK(s.created == 0);
        break;
    case Hook::validate:
        CHECK(c.validate_calls() > 0);
        if (b != Behaviour::slow) CHECK(s.validation_failures > 0);
        if (b == Behaviour::hang) CHECK(counts.timeouts_validating.load() > 0);
        break;
    case Hook::reset:
        if (b == Behaviour::error) CHECK(s.destroyed[respool::DestroyReason::broken] > 0);
        // Every resource ends up stuck in a release, so the others time out.
        if (b == Behaviour::hang) CHECK(c.reset_calls() > 0);
        if (b == Behaviour::hang) CHECK(counts.timeouts.load() > 0);
        break;
    }
}

void run_cell(Hook hook, Behaviour b)
{
    const std::string cell = fmt::format("{} {}", hook_names[static_cast<int>(hook)],
                                         behaviour_names[static_cast<int>(b)]);
    INFO("cell: ", cell, "; seed ", stress::seed(), " (set RESPOOL_STRESS_SEED to repeat), scale ", stress::scale());
    auto controller = std::make_shared<FakeController>();
    script(*controller, hook, b, stress::seed());
    std::optional<respool::Pool<FakeAdapter>> pool;
    pool.emplace(FakeAdapter{controller}, matrix_options());

    stress::OpCounts counts;
    stress::Failures failures;
    stress::WorkBudget budget(stress::scaled(std::uint64_t{10'000}));
    {
        stress::InvariantMonitor monitor(*pool, *controller, 1, thread_count, failures);
        std::vector<std::jthread> workers;
        for (std::size_t i = 0; i < thread_count; ++i)
            workers.emplace_back([&, i] { worker(i, *pool, budget, counts, failures); });
        // Once the work is done, threads stuck in a hung reset may finish.
        while (!budget.over()) std::this_thread::sleep_for(1ms);
        controller->release_hangs();
    }
    const auto s = pool->stats();
    MESSAGE(cell, ": ", budget.describe(), "; ", stress::summary(s, counts));
    check_fault_seen(hook, b, s, counts, *controller, budget);
    stress::check_after_close(pool, *controller, counts, failures);
}

} // namespace

TEST_CASE("S2 fault matrix: create x {ok, error, slow, hang}")
{
    for (auto b : {Behaviour::ok, Behaviour::error, Behaviour::slow, Behaviour::hang}) run_cell(Hook::create, b);
}

TEST_CASE("S2 fault matrix: validate x {ok, error, slow, hang}")
{
    for (auto b : {Behaviour::ok, Behaviour::error, Behaviour::slow, Behaviour::hang}) run_cell(Hook::validate, b);
}

TEST_CASE("S2 fault matrix: reset x {ok, error, slow, hang until released}")
{
    for (auto b : {Behaviour::ok, Behaviour::error, Behaviour::slow, Behaviour::hang}) run_cell(Hook::reset, b);
}
