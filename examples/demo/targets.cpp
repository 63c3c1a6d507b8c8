#include "targets.hpp"

#include <cerrno>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace demo {

std::unique_ptr<Target> make_target(PoolKind kind, const DemoConfig& config,
                                    std::shared_ptr<respool::EventListener> listener)
{
    switch (kind) {
    case PoolKind::pg: return make_pg_target(config, std::move(listener));
    case PoolKind::grpc: return make_grpc_target(config, std::move(listener));
    case PoolKind::tcp: return make_tcp_target(config, std::move(listener));
    }
    throw std::logic_error("unknown pool kind");
}

bool port_in_use(std::uint16_t port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    const bool in_use = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno == EADDRINUSE;
    ::close(fd);
    return in_use;
}

} // namespace demo
