// G4 of TESTPLAN.md for the core: the wall clock jumps a day forward and a
// day back while acquires wait and resources age; timeouts and lifetimes do
// not notice (they run on the steady clock). The checks run in a child
// process (wall_clock_jump_child) under libfaketime (Debian's `faketime`
// package), which fakes CLOCK_REALTIME from a file the child rewrites and,
// with FAKETIME_DONT_FAKE_MONOTONIC=1, leaves CLOCK_MONOTONIC alone: the jump
// a system administrator's `date -s` or a bad NTP step would make, without
// touching the machine's clock. No libfaketime: the test fails, it is not
// skipped.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {
std::string find_libfaketime()
{
    for (const char* p : {"/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                          "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
                          "/usr/lib/faketime/libfaketimeMT.so.1", "/usr/local/lib/faketime/libfaketimeMT.so.1"})
        if (access(p, R_OK) == 0) return p;
    return {};
}
} // namespace

TEST_CASE("G4: a wall-clock jump of a day either way changes no acquire timeout and no lifetime")
{
    const char* child = std::getenv("RESPOOL_WALL_CLOCK_CHILD");
    REQUIRE_MESSAGE(child != nullptr, "RESPOOL_WALL_CLOCK_CHILD names the child program (set by meson)");
    const std::string lib = find_libfaketime();
    REQUIRE_MESSAGE(!lib.empty(), "libfaketime not found: install Debian's faketime package (scripts/install-deps)");

    char dir_template[] = "/tmp/respool-g4-XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    const std::string dir = dir_template;
    const std::string spec = dir + "/faketime", out = dir + "/out";
    std::ofstream(spec) << "+0\n";

    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
    env_strings.push_back("LD_PRELOAD=" + lib);
    env_strings.push_back("FAKETIME_TIMESTAMP_FILE=" + spec);
    env_strings.push_back("FAKETIME_NO_CACHE=1");             // re-read the file on every clock call
    env_strings.push_back("FAKETIME_DONT_FAKE_MONOTONIC=1");  // the steady clock stays true
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::string child_path = child, spec_arg = spec;
    char* argv[] = {child_path.data(), spec_arg.data(), nullptr};
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, child, &actions, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(spawned == 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);

    std::stringstream text;
    text << std::ifstream(out).rdbuf();
    INFO("child output:\n", text.str());
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(text.str().find("0 check(s) failed") != std::string::npos);
    std::remove(spec.c_str());
    std::remove(out.c_str());
    rmdir(dir.c_str());
}
