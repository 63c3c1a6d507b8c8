// The `demo` suite: runs respool-demo as a subprocess, as a newcomer would,
// and checks what it reports against what must be true of an honest run.
//
// The short run (--duration 12 --json) starts real servers, breaks them and
// plants a leak; its JSON summary must show each pool recovered after its
// fault (requests succeeded after the server came back), the leak reported at
// the very line that acquired it (found here in the source by its marker, not
// taken from the demo), and counts that add up, both among the workers' own
// figures and against the pool's count of leases. The other cases check that
// bad flags and a port in use end with a clear message and status 2.
//
// RESPOOL_DEMO is the demo's path, RESPOOL_DEMO_LEAK_SOURCE examples/demo/leak.hpp
// (both set by examples/meson.build).
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mini_json.hpp"

extern char** environ;

namespace {

using demo_test::Json;

std::string env(const char* name)
{
    const char* v = std::getenv(name);
    if (!v || !*v) throw std::runtime_error(std::string(name) + " is not set (run through meson test)");
    return v;
}

std::string read_all(const std::string& path)
{
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

class TempDir {
public:
    TempDir()
    {
        std::string pattern = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + std::string("/respool-demo-test-XXXXXX");
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

struct Run {
    int status = -1;  // exit status, or 128 + signal
    std::string out, err;
};

// Runs the demo with `args`, stdout and stderr captured in files of `dir`.
Run run_demo(const std::vector<std::string>& args, const TempDir& dir)
{
    const std::string out_path = dir.path() + "/stdout", err_path = dir.path() + "/stderr";
    std::vector<std::string> argv_s{env("RESPOOL_DEMO")};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot start " + argv_s[0]);
    int ws = 0;
    while (::waitpid(pid, &ws, 0) < 0) {
    }
    Run r;
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    r.out = read_all(out_path);
    r.err = read_all(err_path);
    return r;
}

// The line of `path` holding the planted leak's marker comment (1-based).
int marker_line(const std::string& path)
{
    std::ifstream in(path);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n)
        if (line.find("respool-demo: the planted leak") != std::string::npos) return n;
    throw std::runtime_error("no leak marker in " + path);
}

std::uint64_t u(const Json& j)
{
    return static_cast<std::uint64_t>(j.number());
}

void check_counts(const Json& pool)
{
    const Json& errors = pool["errors"];
    std::uint64_t error_sum = 0;
    for (const auto& [kind, n] : errors.object()) error_sum += u(n);
    CHECK(u(pool["ok"]) + error_sum == u(pool["attempts"]));
    CHECK(u(pool["errors_total"]) == error_sum);
    CHECK(u(pool["ok"]) > 0);
    // The pool's own count of leases handed out agrees with the workers'.
    const std::uint64_t planted = pool["leak_planted"].boolean() ? 1 : 0;
    CHECK(u(pool["pool"]["acquired"]) == u(pool["leased"]) + planted);
    CHECK(u(pool["leased"]) == u(pool["ok"]) + u(errors["request_failed"]));
}

// Checks the pool's fault; returns a line of its figures for the test log.
std::string check_fault(const Json& pool)
{
    const Json& f = pool["fault"];
    REQUIRE_FALSE(f.is_null());
    INFO("fault: ", f["what"].str(), "; error: ", f["error"].str());
    CHECK(f["error"].str().empty());
    CHECK(f["began_s"].number() > 0);
    CHECK(f["ended_s"].number() > f["began_s"].number());
    // The outage was felt: requests failed, or connections were found broken.
    CHECK(u(f["errors_during"]) + u(pool["pool"]["destroyed"]["broken"]) > 0);
    // Recovered: requests succeeded after the server came back.
    CHECK(f["recovered"].boolean());
    CHECK(u(f["ok_after"]) > 0);
    REQUIRE_FALSE(f["first_ok_after_s"].is_null());
    CHECK(f["first_ok_after_s"].number() >= 0);
    return pool["name"].str() + ": " + std::to_string(u(f["errors_during"])) + " errors during the fault, first " +
           "success " + std::to_string(f["first_ok_after_s"].number()) + " s after it ended, " +
           std::to_string(u(f["ok_after"])) + " successes after it";
}

void check_leak(const Json& leak, const Json& pools)
{
    REQUIRE(leak["reported"].boolean());
    const std::string site = leak["site"].str();
    const auto colon = site.rfind(':');
    REQUIRE(colon != std::string::npos);
    const std::string file = site.substr(0, colon);
    const std::string expected_file = "leak.hpp";
    CHECK(file.size() >= expected_file.size());
    CHECK(file.compare(file.size() - expected_file.size(), expected_file.size(), expected_file) == 0);
    CHECK(std::stoi(site.substr(colon + 1)) == marker_line(env("RESPOOL_DEMO_LEAK_SOURCE")));
    // The printed report names the same line, and the pool counted the leak.
    CHECK(leak["report"].str().find(site) != std::string::npos);
    for (const Json& p : pools.array())
        if (p["name"].str() == leak["pool"].str()) CHECK(u(p["pool"]["leaks_suspected"]) >= 1);
}

// The checks of the short run; returns lines of figures for the test log.
std::vector<std::string> check_short_run(const Run& r, const std::string& svg)
{
    // The tail is enough to see what went wrong, and keeps a failure readable.
    INFO("end of the demo's stderr:\n", r.err.size() > 6000 ? r.err.substr(r.err.size() - 6000) : r.err);
    CHECK(r.status == 0);
    const Json doc = demo_test::parse_json(r.out);

    CHECK(doc["skipped"].array().empty());
    const Json& pools = doc["pools"];
    REQUIRE(pools.array().size() == 3);
    std::vector<std::string> names, notes;
    for (const Json& p : pools.array()) {
        names.push_back(p["name"].str());
        INFO("pool ", p["name"].str());
        check_counts(p);
        notes.push_back(check_fault(p));
    }
    CHECK(names == std::vector<std::string>{"pg", "grpc", "tcp"});
    check_leak(doc["leak"], pools);
    notes.push_back("leak reported at " + doc["leak"]["site"].str());
    CHECK(doc["ok"].boolean());

    // No control codes when the output is not a terminal.
    CHECK(r.err.find('\x1b') == std::string::npos);
    CHECK(r.out.find('\x1b') == std::string::npos);
    const std::string chart = read_all(svg);
    CHECK(chart.rfind("<svg", 0) == 0);
    CHECK(chart.find("</svg>") != std::string::npos);
    CHECK(chart.find("<polyline") != std::string::npos);
    return notes;
}

} // namespace

TEST_CASE("respool-demo --duration 12 --json: every pool recovers, the leak is named, the counts add up")
{
    TempDir dir;
    const std::string svg = dir.path() + "/demo.svg";
    const Run r = run_demo({"--duration", "12", "--json", "--svg", svg}, dir);
    for (const auto& note : check_short_run(r, svg)) MESSAGE(note);
}

TEST_CASE("bad flags end with a message naming the flag and status 2")
{
    TempDir dir;
    const Run r = run_demo({"--only", "mysql"}, dir);
    CHECK(r.status == 2);
    CHECK(r.err.find("--only") != std::string::npos);
    CHECK(run_demo({"--duration", "3"}, dir).status == 2);
    const Run help = run_demo({"--help"}, dir);
    CHECK(help.status == 0);
    CHECK(help.out.find("--duration") != std::string::npos);
}

TEST_CASE("a port in use ends with a clear message and status 2, not a crash")
{
    // Hold a loopback port (without SO_REUSEPORT, so nobody can share it).
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), len) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    const std::string port = std::to_string(ntohs(sa.sin_port));

    TempDir dir;
    const Run r = run_demo({"--only", "grpc", "--grpc-port", port, "--json"}, dir);
    ::close(fd);
    INFO("stderr of the demo:\n", r.err);
    CHECK(r.status == 2);
    CHECK(r.err.find("port " + port + " is in use") != std::string::npos);
    const Json doc = demo_test::parse_json(r.out);
    REQUIRE(doc["skipped"].array().size() == 1);
    CHECK(doc["skipped"].array()[0]["pool"].str() == "grpc");
    CHECK(doc["skipped"].array()[0]["reason"].str().find("in use") != std::string::npos);
    CHECK_FALSE(doc["ok"].boolean());
}
