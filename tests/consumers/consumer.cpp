// A downstream program, built by tests/consumers/run.sh the ways a user's
// project would consume respool: a CMake project against the installed
// package, a plain compiler line with pkg-config, meson against the install
// and meson with respool as a subproject. It needs nothing but the public
// headers and the libraries, and checks it got the build's own version.
#include <cstdio>
#include <string>

#include <respool/pool.hpp>
#include <respool/prometheus.hpp>
#include <respool/testing.hpp>
#include <respool/version.hpp>

#if RESPOOL_CONSUMER_PG
#include <respool/pg.hpp>
#endif
#if RESPOOL_CONSUMER_TCP
#include <respool/tcp.hpp>
#endif

static_assert(RESPOOL_VERSION_AT_LEAST(0, 1, 0));

int main(int argc, char** argv)
{
    respool::PoolOptions options;
    options.name = "consumer";
    options.max_size = 2;
    respool::Pool pool{respool::testing::FakeAdapter{}, options};
    { auto lease = pool.acquire(); }   // made, then given back: idle
    if (!pool.try_acquire()) return 2;  // takes the idle one without waiting
    try {
        respool::PoolOptions bad;
        bad.max_size = 0;
        respool::Pool broken{respool::testing::FakeAdapter{}, bad};
        return 3;
    } catch (const respool::InvalidOptions& e) {  // typeinfo across the library boundary
        if (e.field() != "max_size") return 4;
    }
#if RESPOOL_CONSUMER_PG
    respool::pg::Adapter pg{"host=localhost dbname=app connect_timeout=1"};
    (void)pg;
#endif
#if RESPOOL_CONSUMER_TCP
    respool::tcp::Options tcp;
    tcp.host = "localhost";
    tcp.port = 6379;
    respool::tcp::Adapter tcp_adapter{tcp};
    (void)tcp_adapter;
#endif
    const std::string text = respool::to_prometheus(pool.stats());
    if (text.find("respool_acquired_total{pool=\"consumer\"} 2") == std::string::npos) return 5;
    if (argc > 1 && std::string(argv[1]) != RESPOOL_VERSION_STRING) {
        std::fprintf(stderr, "built against respool %s, expected %s\n", RESPOOL_VERSION_STRING, argv[1]);
        return 6;
    }
    std::printf("respool %s consumer ok\n", RESPOOL_VERSION_STRING);
    return 0;
}
