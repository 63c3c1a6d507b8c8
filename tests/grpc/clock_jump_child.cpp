// The child half of channel_clock_test (TESTPLAN G4): runs under libfaketime
// with the wall clock read from a file (argv[1], re-read every second:
// FAKETIME_CACHE_DURATION=1; FAKETIME_NO_CACHE hangs grpc's poller) and the
// monotonic clock left real. It jumps the wall clock itself, mid-wait, and checks that the
// gRPC adapter's create, validate and the pool's acquire timeout measure
// time on the steady clock only. Exit 0 when every check held; each failed
// check prints one line.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include <respool/grpc.hpp>
#include <respool/pool.hpp>

#include "grpc_test_util.hpp"
#include "local_servers/grpc_echo_server.hpp"
#include "local_servers/temp_dir.hpp"

using namespace std::chrono_literals;
using GrpcAdapter = respool::grpc::Adapter;
using Ms = std::chrono::milliseconds;

namespace {

int failures = 0;

void check(bool ok, const std::string& what)
{
    std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
    if (!ok) ++failures;
}

Ms since(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - t);
}

// Writes the wall-clock offset libfaketime reads ("+0", "+3600", "-3600").
void set_offset(const std::string& file, const std::string& offset)
{
    std::ofstream(file, std::ios::trunc) << offset << "\n";
}

// Back to the true time, and past libfaketime's 1 s cache of the file.
void reset_offset(const std::string& file)
{
    set_offset(file, "+0");
    std::this_thread::sleep_for(1200ms);
}

// Jumps the wall clock by `offset` after `delay`, on a thread of its own,
// and notes when this process first sees the jump (libfaketime re-reads the
// file at most once a second). A busy machine can delay both, so a caller
// checks `landed_before` instead of assuming the jump came mid-wait.
class Jump {
public:
    Jump(const std::string& file, Ms delay, std::string offset)
        : thread_([this, file, delay, offset] {
              const auto wall0 = std::chrono::system_clock::now();
              const auto steady0 = std::chrono::steady_clock::now();
              std::this_thread::sleep_for(delay);
              set_offset(file, offset);
              while (since(steady0) < 10s) {
                  const auto wall = std::chrono::system_clock::now() - wall0;
                  const auto steady = std::chrono::steady_clock::now() - steady0;
                  if (std::chrono::abs(wall - steady) >= 50min) {
                      seen_ = std::chrono::steady_clock::now();
                      return;
                  }
                  std::this_thread::sleep_for(10ms);
              }
          })
    {
    }
    /// Waits for the jump to be seen (or 10 s); true when it was seen before `t`.
    bool landed_before(std::chrono::steady_clock::time_point t)
    {
        thread_.join();
        return seen_ && *seen_ < t;
    }

private:
    std::optional<std::chrono::steady_clock::time_point> seen_;  // written by thread_ before it ends
    std::jthread thread_;
};

bool within(Ms d, Ms low, Ms high) { return d >= low && d <= high + 300ms; }

// Runs `attempt` (which returns when its wait ended) with a jump 200 ms into
// it, until the jump landed mid-wait (at most 5 tries): the precondition is
// then certain, and `judge` checks the wait's outcome.
template <class Attempt>
void with_jump_mid_wait(const std::string& file, const std::string& offset, const std::string& what,
                        Attempt attempt)
{
    for (int tries = 1; tries <= 5; ++tries) {
        reset_offset(file);
        Jump jump(file, 200ms, offset);
        const auto ended = attempt();
        if (jump.landed_before(ended)) {
            check(true, what + " " + offset + ": the wall clock jumped (try " + std::to_string(tries) + ")");
            return;
        }
        std::printf("note: %s %s: the jump landed after the wait (a busy machine); again\n", what.c_str(),
                    offset.c_str());
    }
    check(false, what + " " + offset + ": the wall clock jumped: never mid-wait in 5 tries");
}

// create against a refused port ends at its deadline, whatever the wall clock does.
void create_deadline(const std::string& file, const std::string& offset)
{
    const auto port = respool::test::free_tcp_port();
    GrpcAdapter adapter =
        respool::test::adapter_for("127.0.0.1:" + std::to_string(port), respool::test::insecure_options());
    Ms took{0};
    with_jump_mid_wait(file, offset, "create", [&] {
        const auto start = std::chrono::steady_clock::now();
        try {
            adapter.create(respool::deadline_after(2500ms));
            check(false, "create " + offset + ": a channel to a refused port");
        } catch (const respool::grpc::Error&) {
        }
        took = since(start);
        return std::chrono::steady_clock::now();
    });
    check(within(took, 2500ms, 2500ms), "create " + offset + ": ended at its 2500 ms deadline (took " +
                                            std::to_string(took.count()) + " ms)");
}

// A pool's acquire times out on the steady clock; a healthy channel validates after a jump.
void pool_and_validate(const std::string& file, const std::string& offset)
{
    respool::test::GrpcEchoServer server;
    respool::PoolOptions po;
    po.max_size = 1;
    po.create_timeout = 2s;
    respool::Pool pool{respool::test::adapter_for(server.address(), respool::test::insecure_options()), po};
    auto lease = pool.acquire(respool::AcquireOptions{.timeout = 3s});
    // A shared channel's cap is 100 calls; take all 100 so the next acquire must wait.
    std::vector<respool::Lease<GrpcAdapter>> held;
    for (int i = 1; i < 100; ++i) held.push_back(pool.acquire(respool::AcquireOptions{.timeout = 1s}));
    Ms took{0};
    with_jump_mid_wait(file, offset, "acquire", [&] {
        const auto start = std::chrono::steady_clock::now();
        try {
            auto extra = pool.acquire(respool::AcquireOptions{.timeout = 2000ms});
            check(false, "acquire " + offset + ": got a lease beyond the cap");
        } catch (const respool::AcquireTimeout&) {
        }
        took = since(start);
        return std::chrono::steady_clock::now();
    });
    check(within(took, 2000ms, 2000ms), "acquire " + offset + ": timed out at 2000 ms (took " +
                                          std::to_string(took.count()) + " ms)");
    GrpcAdapter adapter = respool::test::adapter_for(server.address(), respool::test::insecure_options());
    auto channel = adapter.create(respool::deadline_after(2s));
    set_offset(file, "-7200");  // another hour back, while the channel is live
    const auto vstart = std::chrono::steady_clock::now();
    check(adapter.validate(channel, respool::deadline_after(2s)), "validate " + offset + ": a healthy channel passes");
    check(since(vstart) < 1s, "validate " + offset + ": answered promptly");
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s FAKETIME_TIMESTAMP_FILE\n", argv[0]);
        return 2;
    }
    std::setvbuf(stdout, nullptr, _IONBF, 0);  // every line reaches the log, even if killed
    const std::string file = argv[1];
    // Only backward: a faked forward jump stalls grpc's own timer thread
    // (absl waits on absolute CLOCK_REALTIME futexes, which libfaketime
    // cannot fake, so the kernel would wait until the faked future), which
    // says nothing about the adapter. The adapter's deadlines hand grpc
    // monotonic times either way; a backward jump is the one that used to
    // stretch a system_clock deadline.
    for (const char* offset : {"-3600"}) {
        create_deadline(file, offset);
        pool_and_validate(file, offset);
    }
    std::printf("%d failed\n", failures);
    return failures == 0 ? 0 : 1;
}
