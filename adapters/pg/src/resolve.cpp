#include "resolve.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <respool/pg/error.hpp>

#include "wait.hpp"

namespace respool::pg::detail {

namespace {

bool needs_lookup(const std::string& host)
{
    if (host.empty() || host[0] == '/' || host[0] == '@') return false;  // default or unix socket
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, host.c_str(), buf) != 1 && inet_pton(AF_INET6, host.c_str(), buf) != 1;
}

std::vector<std::string> getaddrinfo_resolver(const std::string& host)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
    if (rc != 0) throw std::runtime_error(rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc));
    std::vector<std::string> out;
    for (addrinfo* a = list; a; a = a->ai_next) {
        char text[INET6_ADDRSTRLEN] = {};
        const void* addr = a->ai_family == AF_INET
                               ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                               : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
        if (inet_ntop(a->ai_family, addr, text, sizeof text) &&
            std::find(out.begin(), out.end(), text) == out.end())
            out.emplace_back(text);
    }
    ::freeaddrinfo(list);
    return out;
}

// Shared with the helper thread, which may finish long after we stopped waiting.
struct Lookup {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    std::vector<std::vector<std::string>> addresses;  // per name
    std::vector<std::string> errors;                  // per name, "" when resolved
};

std::shared_ptr<Lookup> start_lookup(const std::vector<std::string>& names, Resolver resolver)
{
    auto lookup = std::make_shared<Lookup>();
    lookup->addresses.resize(names.size());
    lookup->errors.resize(names.size());
    if (!resolver) resolver = getaddrinfo_resolver;
    try {
        std::thread([lookup, names, resolver = std::move(resolver)] {
            std::vector<std::vector<std::string>> addresses(names.size());
            std::vector<std::string> errors(names.size());
            for (std::size_t i = 0; i < names.size(); ++i) {
                try {
                    addresses[i] = resolver(names[i]);
                    if (addresses[i].empty()) errors[i] = "no addresses";
                } catch (const std::exception& e) {
                    errors[i] = e.what();
                } catch (...) {
                    errors[i] = "unknown error";
                }
            }
            std::lock_guard lock(lookup->mutex);
            lookup->addresses = std::move(addresses);
            lookup->errors = std::move(errors);
            lookup->done = true;
            lookup->done_cv.notify_all();
        }).detach();
    } catch (const std::system_error& e) {
        throw Error(ErrorKind::connect, std::string("respool::pg: cannot start a resolver thread: ") + e.what());
    }
    return lookup;
}

} // namespace

void resolve_hosts(ParamList& params, const Settings& settings, Deadline deadline, Deadline started)
{
    const char* env_hostaddr = std::getenv("PGHOSTADDR");
    if (find_param(params, "hostaddr") || (env_hostaddr && *env_hostaddr)) return;
    const std::string* host_param = find_param(params, "host");
    const char* env_host = std::getenv("PGHOST");
    std::string host_list = host_param ? *host_param : env_host ? env_host : "";
    if (host_list.empty()) return;
    std::vector<std::string> hosts = split_list(host_list);
    const std::string* port_param = find_param(params, "port");
    const char* env_port = std::getenv("PGPORT");
    std::string port_list = port_param ? *port_param : env_port ? env_port : "";
    std::vector<std::string> ports = port_list.empty() ? std::vector<std::string>{} : split_list(port_list);
    if (ports.size() > 1 && ports.size() != hosts.size()) return;  // libpq reports the mismatch

    std::vector<std::string> names;
    for (const auto& h : hosts)
        if (needs_lookup(h) && std::find(names.begin(), names.end(), h) == names.end()) names.push_back(h);
    if (names.empty()) return;

    auto lookup = start_lookup(names, settings.resolver);
    std::unique_lock lock(lookup->mutex);
    if (!lookup->done_cv.wait_until(lock, deadline, [&] { return lookup->done; }))
        throw Error(ErrorKind::timeout, "respool::pg: resolving host \"" + join_list(names) +
                                            "\" did not finish within the deadline (" +
                                            std::to_string(elapsed_ms(started)) + " ms)");

    std::vector<std::string> new_hosts, new_addrs, new_ports, failures;
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        std::string port = ports.empty() ? "" : ports[ports.size() == 1 ? 0 : i];
        auto n = std::find(names.begin(), names.end(), hosts[i]);
        if (n == names.end()) {
            new_hosts.push_back(hosts[i]), new_addrs.emplace_back(), new_ports.push_back(port);
            continue;
        }
        std::size_t k = static_cast<std::size_t>(n - names.begin());
        if (!lookup->errors[k].empty()) failures.push_back("\"" + hosts[i] + "\": " + lookup->errors[k]);
        for (const auto& addr : lookup->addresses[k])
            new_hosts.push_back(hosts[i]), new_addrs.push_back(addr), new_ports.push_back(port);
    }
    if (new_hosts.empty()) {
        std::string all;
        for (const auto& f : failures) all += (all.empty() ? "" : "; ") + f;
        throw Error(ErrorKind::connect, settings.scrub("respool::pg: cannot resolve host " + all));
    }
    set_param(params, "host", join_list(new_hosts));
    set_param(params, "hostaddr", join_list(new_addrs));
    if (!ports.empty()) set_param(params, "port", join_list(new_ports));
}

} // namespace respool::pg::detail
