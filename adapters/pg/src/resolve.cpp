#include "resolve.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <system_error>

#include <respool/pg/error.hpp>

#include "resolve_async.hpp"
#include "wait.hpp"

namespace respool::pg::detail {

namespace {

namespace net = respool::detail::net;

bool needs_lookup(const std::string& host)
{
    if (host.empty() || host[0] == '/' || host[0] == '@') return false;  // default or unix socket
    return !net::is_ip_literal(host);
}

/// What went wrong with one name, "" when it resolved to at least one address.
std::string error_text(const net::NameResult& r)
{
    if (!r.error) return r.addresses.empty() ? "no addresses" : "";
    try {
        std::rethrow_exception(r.error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown error";
    }
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

    // The shared helper (adapters/common): a detached thread, waited for until the deadline.
    std::optional<std::vector<net::NameResult>> results;
    try {
        results = net::resolve_on_helper(names, settings.resolver, deadline);
    } catch (const std::system_error& e) {
        throw Error(ErrorKind::connect, std::string("respool::pg: cannot start a resolver thread: ") + e.what());
    }
    if (!results)
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
        const net::NameResult& r = (*results)[static_cast<std::size_t>(n - names.begin())];
        if (std::string why = error_text(r); !why.empty()) failures.push_back("\"" + hosts[i] + "\": " + why);
        for (const auto& addr : r.addresses)
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
