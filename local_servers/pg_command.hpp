// pg_command.hpp — runs the PostgreSQL server programs for the throwaway cluster.
//
// `run_command` starts a program with posix_spawn (safe in a threaded test
// process), captures its stdout and stderr together and waits for it. When
// the test runs as root, `as_server_user` runs it as the `postgres` system
// user through `runuser`, because initdb and the postmaster refuse root.
// `Watchdog` starts a detached shell that stops the cluster and removes its
// directory when the test process dies without cleaning up (crash, SIGKILL).
// Thread-safety: free functions are thread-safe; a Watchdog is one object.
#pragma once

#include <string>
#include <vector>

namespace respool::test {

/// What a finished command printed and how it ended.
struct CommandResult {
    int exit_code = -1;  ///< exit status, or 128 + signal number
    std::string output;  ///< stdout and stderr interleaved
};

/// True when the server programs must run as another user (we are root).
bool running_as_root() noexcept;

/// Runs `argv` (argv[0] looked up in PATH unless it contains a '/') and waits.
/// With `as_server_user` and root, runs it as the `postgres` system user.
/// Throws std::system_error when the program cannot be started.
CommandResult run_command(const std::vector<std::string>& argv, bool as_server_user = false);

/// Like `run_command`, but throws std::runtime_error with the output when the
/// exit code is not 0.
std::string run_checked(const std::vector<std::string>& argv, bool as_server_user = false);

/// Gives `path` to the `postgres` system user when running as root (no-op otherwise).
void give_to_server_user(const std::string& path);

/// A process that runs `cleanup` (a shell script) once this process is gone,
/// or when the Watchdog is destroyed. It runs in its own session, so a test
/// runner killing our process group does not kill it too.
class Watchdog {
public:
    /// `script` is run by /bin/sh with `args` as $1, $2, ...
    Watchdog(const std::string& script, const std::vector<std::string>& args);
    /// Lets the script run now and waits for it; never throws.
    ~Watchdog();
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

private:
    int pipe_write_ = -1;  // the script starts when this end closes
    int pid_ = -1;
};

} // namespace respool::test
