// pg_test_util.hpp — what the PostgreSQL adapter tests share.
//
// `shared_cluster()` is the server most tests use: the one RESPOOL_TEST_PG_DSN
// names (it must allow pg_stat_activity and pg_terminate_backend, e.g. a
// superuser), else a throwaway cluster started once per test executable.
// `owned_cluster(why)` is always a throwaway cluster, for tests that stop the
// server, need known passwords or TLS; when the DSN is set it says so on
// stderr rather than skip. Timing checks are windows [T, T + tolerance].
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <respool/pg.hpp>

#include "local_servers/pg_cluster.hpp"

namespace respool::test {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

/// Room for a loaded, shared 2-core machine on loopback.
inline constexpr milliseconds tolerance{250};

inline const char* external_dsn()
{
    const char* dsn = std::getenv("RESPOOL_TEST_PG_DSN");
    return dsn && *dsn ? dsn : nullptr;
}

inline PgCluster& shared_cluster()
{
    static std::unique_ptr<PgCluster> cluster = [] {
        if (const char* dsn = external_dsn()) return PgCluster::external(dsn);
        return std::make_unique<PgCluster>();
    }();
    return *cluster;
}

/// One throwaway cluster per executable; `options` count on the first call only.
inline PgCluster& owned_cluster(const char* why, PgClusterOptions options = {})
{
    static std::unique_ptr<PgCluster> cluster = [&] {
        if (external_dsn())
            std::fprintf(stderr,
                         "note: RESPOOL_TEST_PG_DSN is set, but these tests %s, so they run against "
                         "a throwaway cluster started for them\n",
                         why);
        return std::make_unique<PgCluster>(std::move(options));
    }();
    return *cluster;
}

/// Adapter options for `cluster` with an application_name that tells this
/// test's connections apart on the server.
inline pg::Options options_for(const PgCluster& cluster, const std::string& application_name)
{
    pg::Options o;
    o.conninfo = cluster.conninfo();
    o.params = {{"application_name", application_name}};
    return o;
}

/// The adapter, counting connection attempts and how many run at once.
struct CountingAdapter : pg::Adapter {
    struct Counters {
        std::atomic<int> in_flight{0};
        std::atomic<int> peak{0};      ///< most in flight at once since set
        std::atomic<int> attempts{0};
    };

    CountingAdapter(pg::Options o, std::shared_ptr<Counters> c) : Adapter(std::move(o)), counters(std::move(c)) {}

    pg::Connection create(Deadline deadline)
    {
        ++counters->attempts;
        const int now = ++counters->in_flight;
        for (int seen = counters->peak.load(); now > seen && !counters->peak.compare_exchange_weak(seen, now);) {
        }
        struct Leave {
            Counters& c;
            ~Leave() { --c.in_flight; }
        } leave{*counters};
        return Adapter::create(deadline);
    }

    std::shared_ptr<Counters> counters;
};
static_assert(respool::Adapter<CountingAdapter>);

class Stopwatch {
public:
    milliseconds elapsed() const
    {
        return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start_);
    }
    void restart() { start_ = std::chrono::steady_clock::now(); }

private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// Polls `condition` every 20 ms until it holds or `limit` passes.
inline bool wait_for(const std::function<bool()>& condition, milliseconds limit)
{
    auto end = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= end) return false;
        std::this_thread::sleep_for(20ms);
    }
}

inline bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

/// The pg::Error inside a pool's CreateFailed (or the exception itself).
inline const pg::Error* pg_cause(const std::exception_ptr& cause, std::string* what = nullptr)
{
    try {
        if (cause) std::rethrow_exception(cause);
    } catch (const pg::Error& e) {
        if (what) *what = e.what();
        static thread_local std::unique_ptr<pg::Error> kept;
        kept = std::make_unique<pg::Error>(e);
        return kept.get();
    } catch (...) {
    }
    return nullptr;
}

} // namespace respool::test
