// echo_servers — the resources of bench_oversubscribed: socketpairs whose
// far end a server thread echoes, so holding one is a real round trip of a
// few microseconds in which the holder sleeps in read(), as with a database
// backend. Construct and destroy from one thread; each client end is used
// by one holder at a time (the pool under test sees to that).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace bench {

namespace echo_detail {
[[noreturn]] inline void die(const char* what)
{
    std::perror(what);
    std::exit(1);
}
} // namespace echo_detail

/// R socketpairs; a server thread per pair echoes what the client end writes.
/// The client ends are the resources (plain fds, owned here).
class EchoServers {
public:
    explicit EchoServers(std::size_t count)
    {
        for (std::size_t i = 0; i < count; ++i) {
            int sv[2];
            if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) echo_detail::die("socketpair");
            clients_.push_back(sv[0]);
            servers_.push_back(sv[1]);
        }
        for (int fd : servers_)
            threads_.emplace_back([fd] {
                char buf[64];
                for (;;) {
                    const ssize_t n = ::read(fd, buf, sizeof buf);
                    if (n <= 0) return;  // the client end closed: the bench is over
                    if (::write(fd, buf, static_cast<std::size_t>(n)) != n) return;
                }
            });
    }
    ~EchoServers()
    {
        for (int fd : clients_) ::close(fd);
        for (auto& t : threads_) t.join();
        for (int fd : servers_) ::close(fd);
    }
    EchoServers(const EchoServers&) = delete;
    EchoServers& operator=(const EchoServers&) = delete;

    std::size_t size() const { return clients_.size(); }
    int client(std::size_t i) const { return clients_.at(i); }

private:
    std::vector<int> clients_, servers_;
    std::vector<std::thread> threads_;
};

/// One byte there and back: a few microseconds of system calls, and a
/// sleep in read() until the server thread has run.
inline void round_trip(int fd)
{
    char b = 'x';
    if (::write(fd, &b, 1) != 1) echo_detail::die("echo write");
    if (::read(fd, &b, 1) != 1) echo_detail::die("echo read");
}

} // namespace bench
