// S4 of TESTPLAN.md: a release racing a new waiter. Pool of 1; per round the
// holder takes the resource, the other thread sees try_acquire fail, then
// calls acquire(50 ms) while the holder gives the resource back — the lost
// wake-up window. 100k rounds (scaled); not one acquire may time out.
//
// The two threads meet through atomics with wait/notify (futexes): no sleeps,
// and the release really does race the acquire.
#include "stress_support.hpp"

namespace {

using namespace std::chrono_literals;
using respool::testing::FakeAdapter;
using respool::testing::FakeController;

enum class Release { plain, broken };

struct Config {
    const char* name;
    std::uint64_t rounds;
    std::chrono::microseconds fairness_window{1000};
    Release release = Release::plain;
    bool with_stop_token = false;  // the waiter registers a stop callback (another path through the wait)
};

/// TESTPLAN's 50 ms; ten times that under a sanitizer, whose threads run ~10x
/// slower and can sit that long in the run queue of a loaded machine. A lost
/// wake-up waits out any timeout, so the longer one still catches it.
std::chrono::milliseconds waiter_timeout()
{
    return stress::sanitized ? 500ms : 50ms;
}

/// Round counter both threads advance: `phase_` tells whose turn it is.
class Rendezvous {
public:
    enum Phase : int { held, tried, done };
    void announce(std::uint64_t round, Phase p)
    {
        state_.store(round * 4 + static_cast<std::uint64_t>(p), std::memory_order_release);
        state_.notify_all();
    }
    void await(std::uint64_t round, Phase p) const
    {
        const std::uint64_t want = round * 4 + static_cast<std::uint64_t>(p);
        for (std::uint64_t now = state_.load(std::memory_order_acquire); now < want;
             now = state_.load(std::memory_order_acquire))
            state_.wait(now, std::memory_order_acquire);
    }

private:
    std::atomic<std::uint64_t> state_{0};
};

void run(const Config& cfg)
{
    INFO(std::string(cfg.name), "; scale ", stress::scale());
    auto controller = std::make_shared<FakeController>();
    respool::PoolOptions o;
    o.name = cfg.name;
    o.max_size = 1;
    o.fairness_window = cfg.fairness_window;
    o.create_timeout = 1s;
    std::optional<respool::Pool<FakeAdapter>> pool;
    pool.emplace(FakeAdapter{controller}, o);

    const std::uint64_t rounds = stress::scaled(cfg.rounds);
    stress::OpCounts counts;
    stress::Failures failures;
    Rendezvous meet;
    std::stop_source never;  // a token that can stop but never does
    std::jthread holder([&] {
        for (std::uint64_t r = 1; r <= rounds; ++r) {
            if (r > 1) meet.await(r - 1, Rendezvous::done);
            auto lease = stress::timed_acquire(*pool, {.timeout = waiter_timeout()}, counts, failures);
            if (!lease) {
                failures.add(fmt::format("round {}: the holder could not acquire", r));
                meet.announce(r, Rendezvous::held);
                continue;
            }
            stress::touch(*lease);
            meet.announce(r, Rendezvous::held);
            meet.await(r, Rendezvous::tried);
            if (cfg.release == Release::broken) lease->mark_broken();
            lease->release();  // races the other thread's acquire
        }
    });
    std::jthread waiter([&] {
        for (std::uint64_t r = 1; r <= rounds; ++r) {
            meet.await(r, Rendezvous::held);
            if (auto stolen = stress::counted_try_acquire(*pool, counts, failures))
                failures.add(fmt::format("round {}: try_acquire got the resource the holder has", r));
            meet.announce(r, Rendezvous::tried);
            const respool::AcquireOptions wait{.timeout = waiter_timeout(),
                                               .stop = cfg.with_stop_token ? never.get_token() : std::stop_token{}};
            if (auto lease = stress::timed_acquire(*pool, wait, counts, failures)) stress::touch(*lease);
            else failures.add(fmt::format("round {}: acquire({} ms) failed although the resource was given back", r,
                                          waiter_timeout().count()));
            meet.announce(r, Rendezvous::done);
        }
    });
    holder.join();
    waiter.join();

    const auto s = pool->stats();
    MESSAGE(std::string(cfg.name), ": ", rounds, " rounds; ", stress::summary(s, counts));
    CHECK(counts.timeouts.load() == 0);
    CHECK(counts.create_failed.load() == 0);
    CHECK(counts.acquired.load() == 2 * rounds);
    CHECK(counts.try_empty.load() == rounds);
    if (cfg.release == Release::broken) CHECK(s.created == rounds + 1);
    else CHECK(s.created == 1);
    stress::check_after_close(pool, *controller, counts, failures);
}

} // namespace

TEST_CASE("S4 release races a new waiter: default fairness window")
{
    run({.name = "s4-window", .rounds = 100'000});
}

TEST_CASE("S4 release races a new waiter: strict FIFO hand-off")
{
    run({.name = "s4-strict", .rounds = 100'000, .fairness_window = 0us});
}

TEST_CASE("S4 release races a new waiter that has a stop token")
{
    run({.name = "s4-stop-token", .rounds = 50'000, .with_stop_token = true});
}

TEST_CASE("S4 broken release races a new waiter: served by the replacement")
{
    // Each round destroys the resource and makes a new one on a new thread: fewer rounds.
    run({.name = "s4-broken", .rounds = 10'000, .release = Release::broken});
}
