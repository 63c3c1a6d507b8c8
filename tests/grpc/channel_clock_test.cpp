// TESTPLAN G4: the wall clock jumps an hour back while
// the gRPC adapter waits for a channel, validates one, and while the pool
// times out an acquire. Everything must keep to the steady clock.
//
// The jump needs libfaketime (Debian's `faketime`, installed by
// scripts/install-deps), which only works when preloaded into a process:
// so this test runs clock_jump_child under it, with the monotonic clock
// left real and the wall clock read from a file the child rewrites mid-wait.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local_servers/temp_dir.hpp"

extern char** environ;

namespace {

const char* const faketime_candidates[] = {
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/faketime/libfaketimeMT.so.1",
};

std::string find_faketime()
{
    for (const char* path : faketime_candidates)
        if (::access(path, R_OK) == 0) return path;
    return {};
}

struct ChildResult {
    int status = -1;
    std::string output;
};

// Runs `exe arg` with `env` added, output to `log`; kills it after `limit`.
ChildResult run_child(const std::string& exe, const std::string& arg, const std::vector<std::string>& env,
                      const std::string& log, std::chrono::seconds limit)
{
    std::vector<std::string> env_text;
    // Ours replace inherited ones of the same name (getenv takes the first).
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry = *e;
        const std::string key = entry.substr(0, entry.find('=') + 1);
        bool replaced = false;
        for (const auto& mine : env) replaced = replaced || mine.rfind(key, 0) == 0;
        if (!replaced) env_text.push_back(entry);
    }
    for (const auto& e : env) env_text.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string exe_copy = exe, arg_copy = arg;
    char* argv[] = {exe_copy.data(), arg_copy.data(), nullptr};

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE_MESSAGE(rc == 0, "cannot start " << exe);

    ChildResult result;
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
        const pid_t done = ::waitpid(pid, &result.status, WNOHANG);
        if (done == pid) break;
        if (std::chrono::steady_clock::now() >= until) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &result.status, 0);
            result.status = -1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::ifstream in(log);
    result.output.assign(std::istreambuf_iterator<char>(in), {});
    return result;
}

} // namespace

TEST_CASE("G4: a wall-clock jump moves no gRPC deadline and no pool timeout")
{
    const std::string faketime = find_faketime();
    REQUIRE_MESSAGE(!faketime.empty(), "libfaketime is missing: run scripts/install-deps (package faketime)");
    respool::test::TempDir dir("respool-g4");
    const std::string offset_file = dir.path() + "/offset";
    std::ofstream(offset_file) << "+0\n";

    const auto result = run_child(RESPOOL_CLOCK_JUMP_CHILD, offset_file,
                                  {"LD_PRELOAD=" + faketime, "FAKETIME_TIMESTAMP_FILE=" + offset_file,
                                   "FAKETIME_CACHE_DURATION=1", "FAKETIME_DONT_FAKE_MONOTONIC=1",
                                   // a sanitized build: libfaketime is preloaded before the runtime
                                   "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0"},
                                  dir.path() + "/child.log", std::chrono::seconds(60));
    INFO("child output:\n" << result.output);
    CHECK(result.status != -1);  // not killed at the time limit
    REQUIRE(WIFEXITED(result.status));
    CHECK(WEXITSTATUS(result.status) == 0);
    // The child checked something: each of its checks prints one line.
    CHECK(result.output.find("ok: create -3600: the wall clock jumped") != std::string::npos);
    CHECK(result.output.find("ok: acquire -3600: the wall clock jumped") != std::string::npos);
    CHECK(result.output.find("ok: validate -3600: a healthy channel passes") != std::string::npos);
    CHECK(result.output.find("ok: create -3600: ended at its 2500 ms deadline") != std::string::npos);
    CHECK(result.output.find("0 failed") != std::string::npos);
}
