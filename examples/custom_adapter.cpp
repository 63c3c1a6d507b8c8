// A complete adapter for a resource of our own: a "connection" to a pretend
// key-value service, in about twenty lines (the struct below), and a pool
// that lends it to eight threads. Run: build/examples/custom_adapter
#include <atomic>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <respool/pool.hpp>

// The resource: anything movable. Here, a pretend connection with an id.
struct KvConnection {
    int id;
    bool healthy = true;
    std::string get(const std::string& key) const { return fmt::format("value-of-{}@conn{}", key, id); }
};

// The adapter: how to make one, and (optionally) how to tell it is broken.
struct KvAdapter {
    using Resource = KvConnection;
    std::string endpoint;
    std::shared_ptr<std::atomic<int>> made = std::make_shared<std::atomic<int>>(0);

    KvConnection create(respool::Deadline deadline)
    {
        if (respool::SteadyClock::now() >= deadline) throw std::runtime_error("connect to " + endpoint + " timed out");
        return KvConnection{++*made};
    }
    bool is_broken(const KvConnection& c) const { return !c.healthy; }   // cheap, on every borrow and return
    void reset(KvConnection&) {}                                          // on return: nothing to undo here
};
static_assert(respool::Adapter<KvAdapter>);

int main()
{
    respool::PoolOptions options;
    options.name = "kv";
    options.max_size = 3;
    // The user's own check on every borrow (hooks.hpp): false refuses a connection.
    respool::Hooks<KvConnection> hooks;
    hooks.on_acquire = [](KvConnection& c) { return c.healthy; };
    respool::Pool pool{KvAdapter{"kv.internal:7000"}, options, hooks};

    std::vector<std::jthread> workers;
    for (int t = 0; t < 8; ++t) {
        workers.emplace_back([&pool, t] {
            for (int i = 0; i < 100; ++i) {
                auto conn = pool.acquire();  // waits when all 3 are out
                if (i == 50 && t == 0) conn.mark_broken();  // e.g. after an I/O error: destroyed, not reused
                (void)conn->get("user:" + std::to_string(i));
            }
        });
    }
    workers.clear();  // joins

    // Changing the running pool: more room, then every connection replaced
    // (as after a failover), and a connection taken out of the pool for good.
    pool.resize(4);
    pool.retire_all();
    KvConnection own = pool.acquire().detach();  // ours now; its place is free again
    (void)own.get("listen");

    const respool::PoolStats stats = pool.stats();
    std::printf("%s", respool::to_string(stats).c_str());
    std::printf("8 threads x 100 requests served by %llu connections (max_size %zu); %llu destroyed as broken; "
                "%llu acquires served at once, %llu after waiting\n",
                static_cast<unsigned long long>(stats.created), stats.max_size,
                static_cast<unsigned long long>(stats.destroyed[respool::DestroyReason::broken]),
                static_cast<unsigned long long>(stats.acquired_direct),
                static_cast<unsigned long long>(stats.acquired_waited));
    return stats.acquired == 801 && stats.detached == 1 ? 0 : 1;
}
