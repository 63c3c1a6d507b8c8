// Queries from eight threads through a pool of four PostgreSQL connections:
// parameters in, typed values out, a server error caught by SQLSTATE, a
// transaction left open by a holder and rolled back before the next one, and
// the pool's numbers at the end.
//
// Run: build/examples/pg_pool 'host=localhost dbname=app user=app'
//      build/examples/pg_pool 'postgresql://app@localhost/app?sslmode=require'
// Without an argument: RESPOOL_PG_DSN, else libpq's defaults (PGHOST, PGUSER, ...).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <respool/pg.hpp>
#include <respool/pool.hpp>

int main(int argc, char** argv)
{
    const char* env = std::getenv("RESPOOL_PG_DSN");
    respool::pg::Options db;
    db.conninfo = argc > 1 ? argv[1] : env ? env : "";
    db.setup = {"SET application_name = 'respool-example'", "SET statement_timeout = '5s'"};

    respool::PoolOptions options;
    options.name = "example-db";
    options.max_size = 4;
    options.acquire_timeout = std::chrono::seconds(5);

    try {
        respool::Pool pool{respool::pg::Adapter{db}, options};
        std::printf("connecting to %s\n", pool.adapter().target().c_str());  // never shows a password

        std::atomic<long> sum{0};
        std::mutex mutex;
        std::set<int> backends;
        std::vector<std::jthread> threads;
        for (int t = 0; t < 8; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 1; i <= 25; ++i) {
                    auto conn = pool.acquire();  // given back when `conn` goes out of scope
                    auto r = conn->exec("SELECT $1::int * $1::int AS square, pg_backend_pid() AS pid", t * 100 + i);
                    sum += r.get<long>(0, "square");
                    std::lock_guard lock(mutex);
                    backends.insert(r.get<int>(0, "pid"));
                }
            });
        }
        threads.clear();
        std::printf("200 queries from 8 threads on %zu server connections, sum of squares %ld\n", backends.size(),
                    sum.load());

        {
            auto conn = pool.acquire();
            try {
                conn->exec("SELECT 1 / $1::int", 0);
            } catch (const respool::pg::Error& e) {
                // The connection stays usable after an ordinary query error.
                std::printf("caught SQLSTATE %s (%s)\n", e.sqlstate().c_str(), e.server_message().c_str());
            }
            conn->exec("BEGIN");  // left open on purpose: the pool rolls it back on return
        }
        auto conn = pool.acquire();
        std::printf("next borrower's transaction status is idle: %s\n",
                    conn->transaction_status() == respool::pg::TransactionStatus::idle ? "yes" : "no");
        conn.release();

        std::printf("\n%s\n", respool::to_string(pool.stats()).c_str());
        return 0;
    } catch (const respool::CreateFailed& e) {
        std::fprintf(stderr, "cannot connect: %s\n", e.what());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
    }
    return 1;
}
