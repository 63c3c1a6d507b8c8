// The socket mutator behind ConnectionGuard. grpc 1.51 does not install the
// header that defines a socket mutator (src/core/lib/iomgr/socket_mutator.h),
// only the type's name and ChannelArguments::SetSocketMutator; the layout
// below is that header's, unchanged from 1.25 to 1.60 at least.
#include "connection_guard.hpp"

#include <mutex>
#include <utility>
#include <vector>

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

struct ConnectionGuard::State {
    std::mutex mutex;
    bool shut = false;                                   // guarded by mutex
    std::vector<std::pair<int, ino_t>> sockets;          // guarded by mutex: fd and its socket inode

    /// A socket grpc made for this channel: recorded, or refused once shut down.
    bool add(int fd)
    {
        struct stat st {};
        if (::fstat(fd, &st) != 0) return false;
        std::lock_guard lock(mutex);
        if (shut) return false;  // grpc fails this connection attempt
        // Forget sockets grpc has closed since (the fd is gone or is another socket now).
        std::erase_if(sockets, [](const std::pair<int, ino_t>& s) { return !same_socket(s.first, s.second); });
        sockets.emplace_back(fd, st.st_ino);
        return true;
    }

    static bool same_socket(int fd, ino_t ino) noexcept
    {
        struct stat st {};
        return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == ino;
    }

    void shut_down() noexcept
    {
        std::lock_guard lock(mutex);
        shut = true;
        // Only a socket that is still the one grpc opened (same inode) is
        // touched: an fd number grpc closed may belong to another socket now.
        for (const auto& [fd, ino] : sockets)
            if (same_socket(fd, ino)) ::shutdown(fd, SHUT_RDWR);
        sockets.clear();
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

ConnectionGuard::ConnectionGuard() : state_(std::make_shared<State>()) {}

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
