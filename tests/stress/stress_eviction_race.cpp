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
    std::chrono::milliseconds duration;
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

void borrower(std::size_t index, respool::Pool<FakeAdapter>& pool, std::chrono::steady_clock::time_point until,
              stress::OpCounts& counts, stress::Failures& failures)
{
    std::mt19937_64 rng(stress::seed() + index);
    while (std::chrono::steady_clock::now() < until) {
        auto lease = rng() % 4 == 0 ? stress::counted_try_acquire(pool, counts, failures)
                                    : stress::timed_acquire(pool, {.timeout = 100ms}, counts, failures);
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
    const auto until = std::chrono::steady_clock::now() + stress::scaled(cfg.duration);
    std::atomic<std::uint64_t> sweeps{0};
    {
        stress::InvariantMonitor monitor(*pool, *controller, cfg.mode.cap, borrower_count, failures);
        std::vector<std::jthread> threads;
        for (std::size_t i = 0; i < borrower_count; ++i)
            threads.emplace_back([&, i] { borrower(i, *pool, until, counts, failures); });
        for (std::size_t i = 0; i < sweeper_count; ++i)
            threads.emplace_back([&] {
                while (std::chrono::steady_clock::now() < until) {
                    pool->run_maintenance();
                    sweeps.fetch_add(1, std::memory_order_relaxed);
                    std::this_thread::sleep_for(200us);  // pacing of the sweeps
                }
            });
    }
    const auto s = pool->stats();
    MESSAGE(std::string(cfg.name), ": ", sweeps.load(), " extra sweeps; ", stress::summary(s, counts));
    // The race must have happened: resources retired by age and by idleness while others were borrowed.
    CHECK(s.destroyed[respool::DestroyReason::lifetime] > 10 * stress::scale());
    CHECK(s.destroyed[respool::DestroyReason::idle] > 0);
    CHECK(counts.acquired.load() > 1000 * stress::scale());
    CHECK(counts.timeouts.load() == 0);  // 100 ms is ample: resources are cheap and never fail here
    stress::check_after_close(pool, *controller, counts, failures);
}

} // namespace

TEST_CASE("S5 eviction and lifetime race borrows: exclusive")
{
    run({.name = "s5-exclusive", .duration = 4s});
}

TEST_CASE("S5 eviction and lifetime race borrows: shared, make-before-break")
{
    run({.name = "s5-shared", .duration = 4s, .mode = respool::LeaseMode::shared(3)});
}
