// Prints the Prometheus text of two pools with a history, one of them named
// with a newline, an ESC sequence and a byte that is not UTF-8, for
// check_prometheus_text.py to read with the official client's parser.
// Linked against the shared libraries, as a user's program would be.
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include <respool/prometheus.hpp>
#include <respool/testing.hpp>

using namespace std::chrono_literals;

namespace {

respool::PoolStats exercised(const std::string& name, std::shared_ptr<respool::testing::ManualClock> clock)
{
    auto fake = std::make_shared<respool::testing::FakeController>();
    respool::PoolOptions o;
    o.name = name;
    o.max_size = 2;
    o.clock = clock;
    o.background_housekeeping = false;
    o.logger = [](respool::LogLevel, std::string_view) {};
    respool::Pool pool{respool::testing::FakeAdapter{fake}, o};
    {
        auto a = pool.acquire();
        clock->advance(3ms);
        auto b = pool.acquire();
        clock->advance(2s);
        try {
            (void)pool.acquire({.timeout = 1ms});
        } catch (const respool::AcquireTimeout&) {
        }
    }
    for (int i = 0; i < 5; ++i) {
        auto c = pool.acquire();
        clock->advance(std::chrono::microseconds(200 * i));
    }
    return pool.stats();
}

} // namespace

int main()
{
    auto clock = std::make_shared<respool::testing::ManualClock>();
    const std::vector<respool::PoolStats> pools{exercised("orders", clock),
                                                exercised("evil\n\x1b[31mname\xff\"\\", clock)};
    const std::string text = respool::to_prometheus(pools);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
}
