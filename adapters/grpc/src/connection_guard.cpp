// The socket mutator behind ConnectionGuard. grpc 1.51 does not install the
// header that defines a socket mutator (src/core/lib/iomgr/socket_mutator.h),
// only the type's name and ChannelArguments::SetSocketMutator; the layout
// below is that header's, unchanged from 1.25 to 1.60 at least.
#include "connection_guard.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <linux/tcp.h>  // struct tcp_info with tcpi_segs_out (glibc's lacks it)
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <grpc/support/sync.h>

typedef enum {
    GRPC_FD_CLIENT_CONNECTION_USAGE,
    GRPC_FD_SERVER_LISTENER_USAGE,
    GRPC_FD_SERVER_CONNECTION_USAGE,
} grpc_fd_usage;

typedef struct {
    int fd;
    grpc_fd_usage usage;
} grpc_mutate_socket_info;

struct grpc_socket_mutator_vtable {
    bool (*mutate_fd)(int fd, grpc_socket_mutator* mutator);
    int (*compare)(grpc_socket_mutator* a, grpc_socket_mutator* b);
    void (*destroy)(grpc_socket_mutator* mutator);
    bool (*mutate_fd_2)(const grpc_mutate_socket_info* info, grpc_socket_mutator* mutator);
};

struct grpc_socket_mutator {
    const grpc_socket_mutator_vtable* vtable;
    gpr_refcount refcount;
};

namespace respool::grpc::detail {

namespace {
// How long shut_down waits for a socket grpc made but has not connected yet
// (normally microseconds: grpc calls connect() right after the mutator).
constexpr std::chrono::milliseconds linger_bound{1000};

// tcp_info::tcpi_state values (the kernel's tcp_states.h; <netinet/tcp.h>
// has them too, but its tcp_info clashes with <linux/tcp.h>'s).
enum : std::uint8_t {
    tcp_established = 1, tcp_syn_sent = 2, tcp_syn_recv = 3, tcp_close = 7, tcp_close_wait = 8,
};

/// One socket grpc made: its fd, the socket's inode (an fd number grpc
/// closed may name another socket later), and when it was made.
struct Recorded {
    int fd;
    ino_t ino;
    std::chrono::steady_clock::time_point made;
};

bool same_socket(int fd, ino_t ino) noexcept
{
    struct stat st {};
    return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == ino;
}

bool get_info(int fd, tcp_info& info) noexcept
{
    socklen_t len = sizeof info;
    return ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0;
}

/// One step of shutting a socket down for good; true when it is done: it
/// can no longer be, or become, an established connection (see shut_down).
bool finish(const Recorded& s) noexcept
{
    if (!same_socket(s.fd, s.ino)) return true;  // grpc closed it
    tcp_info info{};
    if (!get_info(s.fd, info)) return true;
    switch (info.tcpi_state) {
    case tcp_established:
    case tcp_syn_sent:
    case tcp_syn_recv:
    case tcp_close_wait:
        // Connected or connecting: FIN (or, while connecting, abort). Done
        // once the state says so, on the next pass.
        ::shutdown(s.fd, SHUT_RDWR);
        return false;
    case tcp_close:
        // Never sent a segment: grpc made the socket but has not called
        // connect() yet. shutdown() now fails with ENOTCONN and the connect()
        // after it still succeeds (the server then holds an established
        // connection): wait until grpc connects (then FIN it) or closes it.
        return info.tcpi_segs_out != 0;
    default:
        return true;  // FIN sent (FIN_WAIT*, CLOSING, LAST_ACK, TIME_WAIT)
    }
}

} // namespace

/// Kernel keepalive and user timeout (see Options); errors are ignored (a
/// unix socket has no TCP options, and grpc's connection works without).
void set_tcp_options(int fd, const ConnectionGuard::Settings& s) noexcept
{
    if (s.tcp_keepalive_time.count() > 0) {
        const int on = 1;
        const int idle = static_cast<int>(std::max<long long>(1, s.tcp_keepalive_time.count() / 1000));
        const int interval = 1;
        const int count = 10;  // TCP_USER_TIMEOUT, when set, ends probing first
        ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
        ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
        ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    }
    if (s.tcp_user_timeout.count() > 0) {
        const unsigned ms = static_cast<unsigned>(s.tcp_user_timeout.count());
        ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
    }
}

struct ConnectionGuard::State {
    explicit State(const Settings& s) : settings(s) {}

    const Settings settings;
    std::atomic<std::size_t> made{0};
    std::mutex mutex;
    bool shut = false;               // guarded by mutex
    std::vector<Recorded> sockets;   // guarded by mutex

    /// A socket grpc made for this channel: recorded, or refused once shut down.
    bool add(int fd)
    {
        struct stat st {};
        if (::fstat(fd, &st) != 0) return false;
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard lock(mutex);
        if (shut) return false;  // grpc fails this connection attempt
        made.fetch_add(1, std::memory_order_relaxed);
        set_tcp_options(fd, settings);
        // Forget sockets grpc has closed since (the fd is gone or is another socket now).
        std::erase_if(sockets, [](const Recorded& s) { return !same_socket(s.fd, s.ino); });
        // An attempt grpc gave up on: connected, but the server never sent
        // a byte (no HTTP/2 SETTINGS) for at least half grpc's connect
        // timeout. grpc 1.51 starts its next attempt before it closes such a
        // socket (it destroys the transport later, on another thread), so
        // one channel held two connections for a moment (issue 25); it
        // cannot have carried a call, so it goes now.
        for (const Recorded& s : sockets) {
            tcp_info info{};
            if (now - s.made >= settings.connect_timeout / 2 && get_info(s.fd, info) && info.tcpi_bytes_received == 0 &&
                (info.tcpi_state == tcp_established || info.tcpi_state == tcp_close_wait))
                ::shutdown(s.fd, SHUT_RDWR);
        }
        sockets.push_back({fd, st.st_ino, now});
        return true;
    }

    /// Shuts every socket down, refuses new ones, and returns once none of
    /// them can still be (or become) an established connection: each is
    /// closed by grpc, or has sent its FIN, or has failed after trying.
    /// Waits at most `linger_bound` (see connection_guard.hpp).
    void shut_down() noexcept
    {
        std::vector<Recorded> left;
        {
            std::lock_guard lock(mutex);
            shut = true;
            left.swap(sockets);
        }
        const auto give_up = std::chrono::steady_clock::now() + linger_bound;
        for (;;) {
            std::erase_if(left, [](const Recorded& s) { return finish(s); });
            if (left.empty() || std::chrono::steady_clock::now() >= give_up) return;
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }
};

namespace {

/// What grpc holds: the C base first, so its pointer is ours.
struct Mutator {
    grpc_socket_mutator base;
    std::shared_ptr<ConnectionGuard::State> state;
};

bool mutate_fd(int fd, grpc_socket_mutator* m)
{
    return reinterpret_cast<Mutator*>(m)->state->add(fd);
}

bool mutate_fd_2(const grpc_mutate_socket_info* info, grpc_socket_mutator* m)
{
    if (info->usage != GRPC_FD_CLIENT_CONNECTION_USAGE) return true;
    return mutate_fd(info->fd, m);
}

int compare(grpc_socket_mutator* a, grpc_socket_mutator* b)
{
    return a == b ? 0 : (a < b ? -1 : 1);  // distinct per channel, like its id
}

void destroy(grpc_socket_mutator* m)
{
    delete reinterpret_cast<Mutator*>(m);
}

constexpr grpc_socket_mutator_vtable vtable{mutate_fd, compare, destroy, mutate_fd_2};

} // namespace

ConnectionGuard::ConnectionGuard(const Settings& settings) : state_(std::make_shared<State>(settings)) {}

std::size_t ConnectionGuard::sockets_made() const noexcept
{
    return state_->made.load(std::memory_order_relaxed);
}

ConnectionGuard::~ConnectionGuard() = default;

void ConnectionGuard::install(::grpc::ChannelArguments& args)
{
    auto* m = new Mutator{{&vtable, {}}, state_};
    gpr_ref_init(&m->base.refcount, 1);
    args.SetSocketMutator(&m->base);  // the arguments own this reference
}

void ConnectionGuard::shut_down() noexcept
{
    state_->shut_down();
}

} // namespace respool::grpc::detail
