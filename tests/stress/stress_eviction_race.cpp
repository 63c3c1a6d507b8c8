// S5 of TESTPLAN.md: eviction and lifetime racing borrows. Resources live a
// few milliseconds, idle ones time out after one, housekeeping runs every
// millisecond on the pool's thread and, at the same time, from two test
// threads, while borrowers take, use and return resources, validating on
// every borrow. The fake adapter records any use, check, validation or reset
// of a resource that was already destroyed, and any double destroy.
#include "stress_support.hpp"

namespace {

using namespace std::chrono_literals;
using respool::testing::FakeAdapter;
using respool::testing::FakeController;

constexpr std::size_t borrower_count = 6;
constexpr std::size_t sweeper_count = 2;

struct Config {
    const char* name;
    std::uint64_t min_borrows;  // before scale()
    respool::LeaseMode mode = respool::LeaseMode::exclusive();
};

respool::PoolOptions eviction_options(const Config& cfg)
{
    respool::PoolOptions o;
    o.name = cfg.name;
    o.max_size = 4;
    o.min_idle = 2;  // refills race evictions too
    o.max_lifetime = 3ms;
    o.lifetime_jitter = 0.5;
    o.idle_timeout = 1ms;
    o.validate_after_idle = 0ms;
    o.housekeeping_interval = 1ms;
    o.max_concurrent_creates = 2;
    o.create_timeout = 100ms;
    o.logger = [](respool::LogLevel, std::string_view) {};
    return o;
}

// Resources are cheap and never fail here, so a borrow that waits its whole
// second is a bug — unless the machine itself stalled (the lag monitor saw a
// wake-up late by half the timeout or more meanwhile): each timeout is a
// suspect, judged against the measured lag at the end.
constexpr auto borrow_timeout = 1000ms;

void borrower(std::size_t index, respool::Pool<FakeAdapter>& pool, stress::WorkBudget& budget,
              stress::OpCounts& counts, stress::Failures& failures, stress::Suspects& timeouts)
{
    std::mt19937_64 rng(stress::seed() + index);
    while (!budget.over()) {
        budget.add();
        std::optional<respool::Lease<FakeAdapter>> lease;
        if (rng() % 4 == 0) {
            lease = stress::counted_try_acquire(pool, counts, failures);
        } else {
            const auto timeouts_before = counts.timeouts.load();
            const stress::OwnDelay own;
            const auto t0 = std::chrono::steady_clock::now();
            lease = stress::timed_acquire(pool, {.timeout = borrow_timeout}, counts, failures);
            if (!lease && counts.timeouts.load() != timeouts_before)
                timeouts.note(t0, std::chrono::steady_clock::now(), borrow_timeout / 2, "a 1 s borrow timed out",
                              own.so_far());
        }
        if (!lease) continue;
        {
            auto in_use = (*lease)->use();
            // Hold across a lifetime now and then, so retirement meets leased resources.
            if (rng() % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 4));
        }
        lease.reset();
        if (rng() % 8 == 0) std::this_thread::sleep_for(1500us);  // let resources sit idle past idle_timeout
    }
}

void run(const Config& cfg)
{
    INFO(std::string(cfg.name), "; seed ", stress::seed(), " (set RESPOOL_STRESS_SEED to repeat), scale ",
         stress::scale());
    auto controller = std::make_shared<FakeController>();
    std::optional<respool::Pool<FakeAdapter>> pool;
    pool.emplace(FakeAdapter{controller, cfg.mode}, eviction_options(cfg));

    stress::OpCounts counts;
    stress::Failures failures;
    stress::WorkBudget budget(stress::scaled(cfg.min_borrows));
    std::atomic<std::uint64_t> sweeps{0};
    stress::Suspects timeouts;
    {
        stress::InvariantMonitor monitor(*pool, *controller, cfg.mode.cap, borrower_count, failures);
        std::vector<std::jthread> threads;
        for (std::size_t i = 0; i < borrower_count; ++i)
            threads.emplace_back([&, i] { borrower(i, *pool, budget, counts, failures, timeouts); });
        for (std::size_t i = 0; i < sweeper_count; ++i)
            threads.emplace_back([&] {
                while (!budget.over()) {
                    pool->run_maintenance();
                    sweeps.fetch_add(1, std::memory_order_relaxed);
                    std::this_thread::sleep_for(200us);  // pacing of the sweeps
                }
            });
    }
    const auto s = pool->stats();
    MESSAGE(std::string(cfg.name), ": ", budget.describe(), "; ", sweeps.load(), " extra sweeps; ",
            stress::summary(s, counts));
    CHECK_MESSAGE(budget.reached(), "time cap hit: ", budget.describe());
    // The race must have happened: resources retired by age and by idleness while others were borrowed.
    CHECK(s.destroyed[respool::DestroyReason::lifetime] > 10);
    CHECK(s.destroyed[respool::DestroyReason::idle] > 0);
    CHECK(counts.acquired.load() > budget.minimum() / 2);  // 3/4 of borrows wait a second if need be
    std::string first;
    const std::uint64_t unexplained = timeouts.unexplained(&first);
    CHECK_MESSAGE(unexplained == 0, unexplained, " of ", counts.timeouts.load(),
                  " one-second timeouts with no machine stall to explain them; first: ", first);
    stress::check_after_close(pool, *controller, counts, failures);
}

} // namespace

TEST_CASE("S5 eviction and lifetime race borrows: exclusive")
{
    run({.name = "s5-exclusive", .min_borrows = 40'000});
}

TEST_CASE("S5 eviction and lifetime race borrows: shared, make-before-break")
{
    run({.name = "s5-shared", .min_borrows = 40'000, .mode = respool::LeaseMode::shared(3)});
}
