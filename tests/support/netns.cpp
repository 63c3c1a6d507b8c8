#include "support/netns.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace respool::test {

namespace {

bool entered = false;
constexpr const char* table = "respool_netfault";

/// Runs `nft -f -` with `script` on stdin; returns its exit status and output.
int run_nft(const std::string& script, std::string& output)
{
    // Output to a temporary file: no second pipe to drain, no deadlock.
    char path[] = "/tmp/respool-nft-XXXXXX";
    int out = ::mkstemp(path);
    if (out < 0) {
        output = std::string("mkstemp: ") + std::strerror(errno);
        return -1;
    }
    ::unlink(path);
    int in[2];
    if (::pipe(in) != 0) {
        ::close(out);
        output = std::string("pipe: ") + std::strerror(errno);
        return -1;
    }
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(in[0], 0);
        ::dup2(out, 1);
        ::dup2(out, 2);
        ::close(in[0]);
        ::close(in[1]);
        ::execlp("nft", "nft", "-f", "-", static_cast<char*>(nullptr));
        std::fprintf(stderr, "cannot run nft: %s\n", std::strerror(errno));
        ::_exit(127);
    }
    ::close(in[0]);
    if (pid > 0) {
        const char* p = script.data();
        std::size_t left = script.size();
        while (left > 0) {
            ssize_t n = ::write(in[1], p, left);
            if (n <= 0 && errno != EINTR) break;
            if (n > 0) p += n, left -= static_cast<std::size_t>(n);
        }
    }
    ::close(in[1]);
    int status = -1;
    if (pid > 0)
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    output.clear();
    char buf[512];
    ::lseek(out, 0, SEEK_SET);
    for (ssize_t n; (n = ::read(out, buf, sizeof buf)) > 0;) output.append(buf, static_cast<std::size_t>(n));
    ::close(out);
    if (pid < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string chain_of(std::uint16_t port) { return "p" + std::to_string(port); }

} // namespace

bool enter_private_netns(std::string& why_not)
{
    if (entered) return true;
    if (::unshare(CLONE_NEWNET) != 0) {
        why_not = std::string("cannot create a network namespace (unshare(CLONE_NEWNET): ") + std::strerror(errno) +
                  "); these tests need CAP_SYS_ADMIN, e.g. root in a container that allows it";
        return false;
    }
    // Loopback starts down in a new namespace.
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (fd < 0 || ::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0 ||
        (ifr.ifr_flags |= IFF_UP, ::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)) {
        why_not = std::string("cannot bring loopback up in the new network namespace: ") + std::strerror(errno);
        if (fd >= 0) ::close(fd);
        return false;
    }
    ::close(fd);
    std::string out;
    // The table every fault adds its chain to; proves nft works here.
    if (run_nft(std::string("add table inet ") + table + "\n", out) != 0) {
        why_not = "nftables is not usable in the network namespace (nft: " + out + ")";
        return false;
    }
    entered = true;
    return true;
}

bool in_private_netns() noexcept { return entered; }

NetFault::NetFault(std::uint16_t port, Kind kind) : port_(port)
{
    if (!entered) throw std::runtime_error("NetFault: call enter_private_netns() first (faults stay in the test's own namespace)");
    const std::string p = std::to_string(port);
    const std::string c = chain_of(port);
    std::string script = std::string("add chain inet ") + table + " " + c +
                         " { type filter hook input priority -10 ; policy accept ; }\n";
    if (kind == Kind::blackhole) {
        script += std::string("add rule inet ") + table + " " + c + " tcp dport " + p + " counter drop\n";
        script += std::string("add rule inet ") + table + " " + c + " tcp sport " + p + " counter drop\n";
    } else {
        // Every packet either way is answered with a reset; resets themselves
        // pass (the ones the rules send must arrive, or this is a blackhole).
        script += std::string("add rule inet ") + table + " " + c + " tcp dport " + p +
                  " tcp flags & rst == 0 counter reject with tcp reset\n";
        script += std::string("add rule inet ") + table + " " + c + " tcp sport " + p +
                  " tcp flags & rst == 0 counter reject with tcp reset\n";
    }
    std::string out;
    if (run_nft(script, out) != 0) throw std::runtime_error("NetFault: nft rejected the rules: " + out);
    active_ = true;
}

NetFault::~NetFault() { clear(); }

void NetFault::clear()
{
    if (!active_) return;
    std::string out;
    run_nft(std::string("delete chain inet ") + table + " " + chain_of(port_) + "\n", out);
    active_ = false;
}

std::uint64_t NetFault::packets() const
{
    if (!active_) return 0;
    char cmd[128];
    std::snprintf(cmd, sizeof cmd, "nft list chain inet %s %s 2>/dev/null", table, chain_of(port_).c_str());
    FILE* f = ::popen(cmd, "r");
    if (!f) return 0;
    std::uint64_t total = 0;
    char line[512];
    while (std::fgets(line, sizeof line, f))
        if (const char* at = std::strstr(line, "packets ")) total += std::strtoull(at + 8, nullptr, 10);
    ::pclose(f);
    return total;
}

} // namespace respool::test
