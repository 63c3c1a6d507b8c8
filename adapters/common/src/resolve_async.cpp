#include "resolve_async.hpp"

#include "stop_wake.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace respool::detail::net {

namespace {

/// Shared with the helper thread, which may finish long after the caller left.
struct Lookup {
    std::mutex mutex;
    std::condition_variable_any done_cv;  // _any: also ends at a creation's stop request
    bool done = false;
    std::vector<NameResult> results;
};

} // namespace

std::vector<std::string> system_resolve(const std::string& host)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
    if (rc != 0) throw std::runtime_error(rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc));
    std::vector<std::string> out;
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
        char text[INET6_ADDRSTRLEN] = {};
        const void* a = ai->ai_family == AF_INET6
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr);
        if (::inet_ntop(ai->ai_family, a, text, sizeof text) != nullptr &&
            std::find(out.begin(), out.end(), text) == out.end())
            out.emplace_back(text);
    }
    ::freeaddrinfo(list);
    return out;
}

bool is_ip_literal(const std::string& host) noexcept
{
    unsigned char buf[sizeof(in6_addr)];
    return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::optional<std::vector<NameResult>> resolve_on_helper(std::vector<std::string> names,
                                                         NameResolver resolver, Deadline deadline)
{
    auto lookup = std::make_shared<Lookup>();
    if (!resolver) resolver = system_resolve;
    // The thread owns copies of everything it touches: the caller may be gone.
    std::thread([lookup, names = std::move(names), resolver = std::move(resolver)] {
        std::vector<NameResult> results(names.size());
        for (std::size_t i = 0; i < names.size(); ++i) {
            try {
                results[i].addresses = resolver(names[i]);
            } catch (...) {
                results[i].error = std::current_exception();
            }
        }
        std::lock_guard lock(lookup->mutex);
        lookup->results = std::move(results);
        lookup->done = true;
        lookup->done_cv.notify_all();
    }).detach();
    std::unique_lock lock(lookup->mutex);
    // A creation asked to stop (the pool is closing) stops waiting too.
    const StopScope* scope = StopScope::current();
    const bool done = scope ? lookup->done_cv.wait_until(lock, scope->token(), deadline, [&] { return lookup->done; })
                            : lookup->done_cv.wait_until(lock, deadline, [&] { return lookup->done; });
    if (!done) return std::nullopt;
    return std::move(lookup->results);
}

} // namespace respool::detail::net
