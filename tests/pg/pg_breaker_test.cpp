// Issue 6 with the real adapter: the PostgreSQL server down for 10 s under
// 16 threads. Passes when, while the breaker is open, at most one connection
// attempt is in flight; waiters fail fast (well within their timeout) with a
// typed error carrying the cause; and service resumes within 2 s of the
// server coming back.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <respool/pg.hpp>
#include <respool/pool.hpp>

#include "pg_test_util.hpp"

using namespace respool::test;
using Clock = std::chrono::steady_clock;

TEST_CASE("server down 10 s under 16 threads: one attempt at a time while open, fast typed failures, back within 2 s")
{
    PgCluster& cluster = owned_cluster("stop and start the server");
    auto counters = std::make_shared<CountingAdapter::Counters>();
    respool::PoolOptions o;
    o.name = "breaker";
    o.max_size = 8;
    o.max_concurrent_creates = 2;
    o.create_timeout = 2s;
    o.validate_after_idle = 0ms;  // a connection that survived nothing must prove itself
    o.circuit_breaker_threshold = 3;
    o.circuit_open_time = 500ms;
    o.logger = [](respool::LogLevel, std::string_view) {};
    respool::Pool pool{CountingAdapter{options_for(cluster, "respool-breaker"), counters}, o};

    constexpr auto acquire_timeout = 3s;
    std::atomic<bool> stop{false}, server_down{false};
    std::atomic<long> ok{0}, typed_failures{0}, slow_failures{0}, untyped{0}, with_cause{0};
    std::atomic<Clock::rep> first_ok_after_up{0};
    std::atomic<Clock::rep> up_at{0};
    std::vector<std::jthread> workers;
    for (int t = 0; t < 16; ++t)
        workers.emplace_back([&] {
            while (!stop) {
                const auto start = Clock::now();
                try {
                    auto conn = pool.acquire({.timeout = acquire_timeout});
                    if (conn->exec("SELECT 1").value<int>() == 1) {
                        ++ok;
                        const auto up = up_at.load();
                        if (up != 0) {
                            Clock::rep expected = 0;
                            first_ok_after_up.compare_exchange_strong(expected, Clock::now().time_since_epoch().count());
                        }
                    }
                } catch (const respool::CreateFailed& e) {  // includes CircuitOpen
                    ++typed_failures;
                    if (Clock::now() - start > 1s) ++slow_failures;
                    if (!e.last_error().empty()) ++with_cause;
                    std::this_thread::sleep_for(5ms);
                } catch (const respool::Error&) {
                    ++typed_failures;
                    if (Clock::now() - start > 1s) ++slow_failures;
                    std::this_thread::sleep_for(5ms);
                } catch (const respool::pg::Error&) {
                    ++typed_failures;  // in-flight query on a killed connection
                } catch (...) {
                    ++untyped;
                }
            }
        });

    REQUIRE(wait_for([&] { return ok.load() > 100; }, 10s));
    cluster.stop_immediate();
    server_down = true;
    // Let the breaker open, then watch the rest of the outage.
    REQUIRE(wait_for([&] { return pool.stats().circuit_opened > 0; }, 5s));
    std::this_thread::sleep_for(1s);
    const long failures_before = typed_failures.load();
    const long slow_before = slow_failures.load();
    counters->peak = counters->in_flight.load();  // from here on: the deep outage
    const int attempts_before = counters->attempts.load();
    std::this_thread::sleep_for(8s);
    const int peak_in_outage = counters->peak.load();
    const int attempts_in_outage = counters->attempts.load() - attempts_before;
    const long failures_in_outage = typed_failures.load() - failures_before;
    const long slow_in_outage = slow_failures.load() - slow_before;

    cluster.start();
    up_at = Clock::now().time_since_epoch().count();
    const auto up = Clock::now();
    REQUIRE(wait_for([&] { return first_ok_after_up.load() != 0; }, 10s));
    const auto back_after = std::chrono::duration_cast<std::chrono::milliseconds>(
        Clock::time_point(Clock::duration(first_ok_after_up.load())) - up);
    std::this_thread::sleep_for(500ms);
    stop = true;
    workers.clear();

    MESSAGE("outage: ", failures_in_outage, " fast typed failures, ", attempts_in_outage,
            " connection attempts, at most ", peak_in_outage, " at once; served again after ",
            back_after.count(), " ms");
    CHECK(peak_in_outage <= 1);
    CHECK(failures_in_outage > 100);        // callers are told, not kept waiting
    CHECK(slow_in_outage == 0);             // nobody waits out a timeout while the breaker is open
    CHECK(with_cause.load() > 0);           // the failure carries libpq's error
    CHECK(untyped.load() == 0);
    CHECK(back_after <= 2000ms);
    CHECK(pool.stats().circuit == respool::CircuitState::closed);
    CHECK(pool.leases().empty());
}
