// S1 of TESTPLAN.md: 16 threads run a random mix of every operation against a
// pool of 4 whose adapter fails 2 % of creates, delays 1 % and hangs 0.1 %
// until the deadline — acquire with short deadlines, try_acquire, release,
// mark_broken, cancellation, two leases at once, moved leases, eviction and
// lifetime, stats. Gauges are sampled throughout; at the end nothing is
// leased and the pool's counters equal the fake adapter's and the test's own.
//
// A run lasts until the workers have obtained a minimum number of leases
// (scaled for sanitizers), not a number of seconds: a busy or sanitized
// machine makes it slower, not thinner. The fault paths every run must show are scheduled
// (the 5th create fails, the 3rd check finds its resource broken, a stop
// token already fired on 3 % of the operations), the random faults come on
// top.
#include "stress_support.hpp"

#include <stop_token>

namespace {

using namespace std::chrono_literals;
using respool::testing::FakeAdapter;
using respool::testing::FakeController;
using respool::testing::FakeRandomFaults;

constexpr std::size_t thread_count = 16;

/// Hands each worker's current stop source to a thread that fires them at
/// random, so cancellations land while the worker is queued, creating or
/// validating — not only before it starts.
class CancelBoard {
public:
    std::stop_token publish(std::size_t worker)
    {
        std::lock_guard lk(mu_);
        sources_[worker].emplace();
        return sources_[worker]->get_token();
    }
    void withdraw(std::size_t worker)
    {
        std::lock_guard lk(mu_);
        sources_[worker].reset();
    }
    void fire_one(std::size_t worker)
    {
        std::optional<std::stop_source> s;
        {
            std::lock_guard lk(mu_);
            s = sources_[worker];
        }
        if (s) s->request_stop();  // outside our lock: it runs the pool's callback
    }

private:
    std::mutex mu_;
    std::optional<std::stop_source> sources_[thread_count];
};

struct Config {
    const char* name;
    std::uint64_t min_leases;  // leases obtained, before scale()
    respool::LeaseMode mode = respool::LeaseMode::exclusive();
    respool::IdleOrder idle_order = respool::IdleOrder::lifo;
    std::chrono::microseconds fairness_window{1000};
};

respool::PoolOptions options_for(const Config& cfg)
{
    respool::PoolOptions o;
    o.name = cfg.name;
    o.max_size = 4;
    o.min_idle = 1;
    o.max_idle = 3;
    o.idle_order = cfg.idle_order;
    o.fairness_window = cfg.fairness_window;
    o.max_concurrent_creates = 2;
    // A hung create or validate lasts up to a second, far beyond any acquire's
    // deadline (0-10 ms): an acquire that waited for one would come back late.
    o.create_timeout = 1s;
    o.validation_timeout = 1s;
    o.validate_after_idle = 1ms;
    o.idle_timeout = 5ms;
    o.max_lifetime = 20ms;
    o.lifetime_jitter = 0.3;
    o.leak_threshold = 10ms;
    o.housekeeping_interval = 2ms;
    o.logger = [](respool::LogLevel, std::string_view) {};  // leak and create-failure lines are expected
    return o;
}

FakeRandomFaults faults_for_s1(std::uint64_t seed)
{
    FakeRandomFaults f;
    f.create_failure = 0.02;
    f.create_delay = 0.01;
    f.create_hang = 0.001;
    f.validate_failure = 0.01;
    f.validate_hang = 0.001;
    f.broken_on_check = 0.002;
    f.reset_failure = 0.002;
    f.delay = 1ms;
    f.seed = seed;
    return f;
}

/// What a thread does with a lease it got: use it for a random while, maybe
/// mark it broken, maybe move it, then give it back one of two ways.
void hold(std::optional<respool::Lease<FakeAdapter>>& lease, std::mt19937_64& rng)
{
    const int r = static_cast<int>(rng() % 100);
    {
        auto in_use = (*lease)->use();
        if (r < 5) std::this_thread::sleep_for(std::chrono::microseconds(100 + rng() % 400));  // a slow caller
        else if (r < 30) std::this_thread::yield();
    }
    if (rng() % 200 == 0) lease->mark_broken();
    if (r % 7 == 0) {
        respool::Lease<FakeAdapter> moved = std::move(*lease);
        stress::touch(moved);
        if (*lease) throw std::logic_error("a moved-from lease still holds a resource");
        moved.release();
        moved.release();  // twice: harmless
    } else if (r % 2 == 0) {
        lease->release();
    }
    lease.reset();
}

void worker(std::size_t index, respool::Pool<FakeAdapter>& pool, const FakeController& c, CancelBoard& board,
            stress::WorkBudget& budget, stress::OpCounts& counts, stress::Failures& failures)
{
    std::mt19937_64 rng(stress::seed() + index);
    auto timeout = [&] { return std::chrono::milliseconds(rng() % 6); };  // 0..5 ms
    const std::size_t cap = pool.adapter().lease_mode().cap;
    while (!budget.over()) {
        const int op = static_cast<int>(rng() % 100);
        std::optional<respool::Lease<FakeAdapter>> lease;
        if (op < 45) {
            lease = stress::timed_acquire(pool, {.timeout = timeout()}, counts, failures);
        } else if (op < 63) {
            lease = stress::counted_try_acquire(pool, counts, failures);
        } else if (op < 73) {
            const std::stop_token token = board.publish(index);
            lease = stress::timed_acquire(pool, {.timeout = 10ms, .stop = token}, counts, failures);
            board.withdraw(index);
        } else if (op < 76) {
            std::stop_source stopped;
            stopped.request_stop();
            lease = stress::timed_acquire(pool, {.timeout = 5ms, .stop = stopped.get_token()}, counts, failures);
            if (lease) failures.add("acquire with a stop token already fired returned a lease");
        } else if (op < 86) {
            // Two at once, released in either order.
            auto first = stress::timed_acquire(pool, {.timeout = timeout()}, counts, failures);
            auto second = stress::timed_acquire(pool, {.timeout = 1ms}, counts, failures);
            if (first && second && (*first)->serial == (*second)->serial && cap == 1)
                failures.add(fmt::format("one thread holds resource #{} twice", (*first)->serial));
            if (rng() % 2 == 0) std::swap(first, second);
            if (first) hold(first, rng);
            if (second) hold(second, rng);
        } else if (op < 92) {
            pool.run_maintenance();  // eviction and lifetime from a caller's thread, racing the housekeeper
        } else {
            stress::check_gauges(pool.stats(), c, cap, thread_count, failures);
        }
        if (lease) hold(lease, rng);
    }
}

void run(const Config& cfg)
{
    INFO("seed ", stress::seed(), " (set RESPOOL_STRESS_SEED to repeat), scale ", stress::scale());
    auto controller = std::make_shared<FakeController>();
    controller->set_random_faults(faults_for_s1(stress::seed()));
    // Scheduled, so every run sees them whatever the random draws: creates #5
    // and #6 fail, and the first check finds its resource broken.
    controller->fail_create_number(5);
    controller->fail_create_number(6);
    controller->break_next_checks(1);
    std::optional<respool::Pool<FakeAdapter>> pool;
    pool.emplace(FakeAdapter{controller, cfg.mode}, options_for(cfg));

    stress::OpCounts counts;
    stress::Failures failures;
    CancelBoard board;
    stress::WorkBudget budget(counts.acquired, stress::scaled(cfg.min_leases), "leases");
    {
        stress::InvariantMonitor monitor(*pool, *controller, cfg.mode.cap, thread_count, failures);
        std::vector<std::jthread> workers;
        for (std::size_t i = 0; i < thread_count; ++i)
            workers.emplace_back([&, i] {
                try {
                    worker(i, *pool, *controller, board, budget, counts, failures);
                } catch (const std::exception& e) {
                    failures.add(fmt::format("worker {} stopped: {}", i, e.what()));
                }
            });
        std::jthread canceller([&](std::stop_token stop) {
            std::mt19937_64 rng(stress::seed() ^ 0xc0ffee);
            while (!stop.stop_requested() && !budget.over()) {
                board.fire_one(rng() % thread_count);
                std::this_thread::sleep_for(300us);  // pacing of the faults, not synchronisation
            }
        });
        workers.clear();  // joins
        MESSAGE(std::string(cfg.name), ": ", monitor.samples(), " invariant samples");
    }
    const auto s = pool->stats();
    MESSAGE(std::string(cfg.name), ": ", budget.describe(), "; ", stress::summary(s, counts));
    // The work was done (not cut short by the time cap), and the mix really
    // exercised the fault paths.
    CHECK_MESSAGE(budget.reached(), "time cap hit: ", budget.describe());
    CHECK(counts.timeouts.load() > 0);   // 16 threads, 4 resources, 0-5 ms deadlines
    CHECK(counts.cancelled.load() > 0);  // 3 % of operations carry a token already fired
    CHECK(s.create_failures >= 2);       // creates #5 and #6 fail as scheduled
    CHECK(s.destroyed[respool::DestroyReason::broken] > 0);
    CHECK(s.destroyed[respool::DestroyReason::lifetime] + s.destroyed[respool::DestroyReason::idle] > 0);
    stress::check_after_close(pool, *controller, counts, failures);
}

} // namespace

TEST_CASE("S1 random operations: exclusive, LIFO, default fairness window")
{
    run({.name = "s1-lifo", .min_leases = 120'000});
}

TEST_CASE("S1 random operations: exclusive, FIFO idle order, strict FIFO hand-off")
{
    run({.name = "s1-fifo-strict", .min_leases = 60'000, .idle_order = respool::IdleOrder::fifo,
         .fairness_window = 0us});
}

TEST_CASE("S1 random operations: shared mode, 3 leases per resource")
{
    run({.name = "s1-shared", .min_leases = 60'000, .mode = respool::LeaseMode::shared(3)});
}
