#include "pg_command.hpp"

#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace respool::test {

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what)
{
    throw std::system_error(err, std::generic_category(), what);
}

// posix_spawn's C API wrapped so every exit path releases what it set up.
class SpawnSetup {
public:
    SpawnSetup()
    {
        posix_spawn_file_actions_init(&actions_);
        posix_spawnattr_init(&attr_);
        // Children start with default signal handling, whatever the test did
        // (ignoring SIGPIPE is common in network tests).
        sigset_t none, defaults;
        sigemptyset(&none);
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        posix_spawnattr_setsigmask(&attr_, &none);
        posix_spawnattr_setsigdefault(&attr_, &defaults);
        flags_ = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    }
    ~SpawnSetup()
    {
        posix_spawn_file_actions_destroy(&actions_);
        posix_spawnattr_destroy(&attr_);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;

    void dup_to(int fd, int target) { posix_spawn_file_actions_adddup2(&actions_, fd, target); }
    void null_to(int target)
    {
        posix_spawn_file_actions_addopen(&actions_, target, "/dev/null", O_RDWR, 0);
    }
    void new_session() { flags_ |= POSIX_SPAWN_SETSID; }

    pid_t spawn(const std::vector<std::string>& argv)
    {
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        posix_spawnattr_setflags(&attr_, static_cast<short>(flags_));
        pid_t pid = -1;
        int rc = posix_spawnp(&pid, args[0], &actions_, &attr_, args.data(), environ);
        if (rc != 0) throw_errno(rc, "cannot start " + argv[0]);
        return pid;
    }

private:
    posix_spawn_file_actions_t actions_;
    posix_spawnattr_t attr_;
    int flags_ = 0;
};

std::vector<std::string> with_user(const std::vector<std::string>& argv, bool as_server_user)
{
    if (!as_server_user || !running_as_root()) return argv;
    std::vector<std::string> full{"runuser", "-u", "postgres", "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

int wait_for(pid_t pid) noexcept
{
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

} // namespace

bool running_as_root() noexcept { return ::geteuid() == 0; }

CommandResult run_command(const std::vector<std::string>& argv, bool as_server_user)
{
    int fds[2];
    // CLOEXEC: a process spawned by another thread must not inherit the write
    // end, or our read would wait for that process to end.
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
    SpawnSetup setup;
    setup.null_to(0);
    setup.dup_to(fds[1], 1);
    setup.dup_to(fds[1], 2);
    pid_t pid = -1;
    try {
        pid = setup.spawn(with_user(argv, as_server_user));
    } catch (...) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw;
    }
    ::close(fds[1]);
    CommandResult result;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n > 0) result.output.append(buf, static_cast<std::size_t>(n));
        else if (n == 0 || errno != EINTR) break;
    }
    ::close(fds[0]);
    result.exit_code = wait_for(pid);
    return result;
}

std::string run_checked(const std::vector<std::string>& argv, bool as_server_user)
{
    CommandResult r = run_command(argv, as_server_user);
    if (r.exit_code != 0) {
        std::string cmd;
        for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
        throw std::runtime_error(cmd + " failed with exit code " + std::to_string(r.exit_code) +
                                 ":\n" + r.output);
    }
    return r.output;
}

void give_to_server_user(const std::string& path)
{
    if (!running_as_root()) return;
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr)
        throw std::runtime_error("running as root, but there is no `postgres` system user to run "
                                 "the test server as (install the postgresql package)");
    if (::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw_errno(errno, "chown " + path);
}

Watchdog::Watchdog(const std::string& script, const std::vector<std::string>& args)
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
    SpawnSetup setup;
    setup.dup_to(fds[0], 0);
    setup.null_to(1);
    setup.null_to(2);
    setup.new_session();
    // `cat` returns when every write end is closed: ours, at destruction or
    // when the kernel closes it because this process died.
    std::vector<std::string> argv{"/bin/sh", "-c", "cat >/dev/null; " + script, "respool-watchdog"};
    argv.insert(argv.end(), args.begin(), args.end());
    try {
        pid_ = setup.spawn(argv);
    } catch (...) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw;
    }
    ::close(fds[0]);
    pipe_write_ = fds[1];
}

Watchdog::~Watchdog()
{
    if (pipe_write_ >= 0) ::close(pipe_write_);
    if (pid_ > 0) wait_for(pid_);
}

} // namespace respool::test
