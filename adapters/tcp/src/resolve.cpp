#include "resolve.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <respool/tcp/error.hpp>

namespace respool::tcp::detail {

namespace {

/// The result of one lookup, shared with the helper thread that may outlive the caller.
struct Lookup {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    std::vector<std::string> addresses;
    std::exception_ptr error;
};

std::vector<std::string> system_resolver(const std::string& host)
{
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
    if (rc != 0) {
        std::string why = rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc);
        throw Error(Errc::resolve, "cannot resolve host: " + why);
    }
    std::vector<std::string> out;
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN] = {};
        const void* a = ai->ai_family == AF_INET6
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr);
        if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
            ::inet_ntop(ai->ai_family, a, text, sizeof text) != nullptr &&
            std::find(out.begin(), out.end(), text) == out.end())
            out.emplace_back(text);
    }
    ::freeaddrinfo(list);
    return out;
}

/// Runs the resolver on a detached thread and waits for it until `deadline`.
std::vector<std::string> lookup(const std::string& host, const Resolver& resolver,
                                Deadline deadline, const std::string& endpoint)
{
    auto state = std::make_shared<Lookup>();
    Resolver fn = resolver ? resolver : Resolver(system_resolver);
    try {
        std::thread([state, fn = std::move(fn), host] {
            std::vector<std::string> result;
            std::exception_ptr error;
            try {
                result = fn(host);
            } catch (...) {
                error = std::current_exception();
            }
            std::lock_guard lock(state->mutex);
            state->addresses = std::move(result);
            state->error = error;
            state->done = true;
            state->done_cv.notify_all();
        }).detach();
    } catch (const std::system_error& e) {
        throw Error(Errc::io, "tcp " + endpoint + ": cannot start the resolver thread: " + e.what());
    }
    std::unique_lock lock(state->mutex);
    if (!state->done_cv.wait_until(lock, deadline, [&] { return state->done; }))
        throw Error(Errc::timeout, "tcp " + endpoint + ": resolving '" + host +
                                       "' did not finish before the deadline");
    if (state->error) {
        try {
            std::rethrow_exception(state->error);
        } catch (const Error& e) {
            throw Error(e.kind(), "tcp " + endpoint + ": " + e.what(), e.sys_errno());
        } catch (const std::exception& e) {
            throw Error(Errc::resolve, "tcp " + endpoint + ": resolver failed: " + e.what());
        }
    }
    return std::move(state->addresses);
}

} // namespace

bool is_ip_literal(const std::string& host) noexcept
{
    unsigned char buf[sizeof(in6_addr)];
    return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::vector<Address> resolve(const std::string& host, int port, const Resolver& resolver,
                             Deadline deadline, const std::string& endpoint)
{
    std::vector<std::string> texts =
        is_ip_literal(host) ? std::vector<std::string>{host} : lookup(host, resolver, deadline, endpoint);
    std::vector<Address> out;
    for (const auto& t : texts) {
        Address a;
        auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
        if (::inet_pton(AF_INET, t.c_str(), &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons(static_cast<std::uint16_t>(port));
            a.length = sizeof(sockaddr_in);
            a.text = t + ":" + std::to_string(port);
        } else if (::inet_pton(AF_INET6, t.c_str(), &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons(static_cast<std::uint16_t>(port));
            a.length = sizeof(sockaddr_in6);
            a.text = "[" + t + "]:" + std::to_string(port);
        } else {
            throw Error(Errc::resolve, "tcp " + endpoint + ": the resolver returned '" + t +
                                           "', which is not an IP address");
        }
        out.push_back(std::move(a));
    }
    if (out.empty()) throw Error(Errc::resolve, "tcp " + endpoint + ": host '" + host + "' has no address");
    return out;
}

} // namespace respool::tcp::detail
