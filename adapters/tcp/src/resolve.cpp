#include "resolve.hpp"

#include <optional>
#include <system_error>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <respool/tcp/error.hpp>

#include "resolve_async.hpp"

namespace respool::tcp::detail {

namespace {

/// Runs the resolver on the shared helper thread and waits for it until `deadline`.
std::vector<std::string> lookup(const std::string& host, const Resolver& resolver,
                                Deadline deadline, const std::string& endpoint)
{
    std::optional<std::vector<respool::detail::net::NameResult>> results;
    try {
        results = respool::detail::net::resolve_on_helper({host}, resolver, deadline);
    } catch (const std::system_error& e) {
        throw Error(Errc::io, "tcp " + endpoint + ": cannot start the resolver thread: " + e.what(), 0,
                    "resolve", endpoint);
    }
    if (!results)
        throw Error(Errc::timeout, "tcp " + endpoint + ": resolving '" + host +
                                       "' did not finish before the deadline", 0, "resolve", endpoint);
    auto& result = results->front();
    if (result.error) {
        // A user resolver is a hook: its failure says it happened there.
        const std::string op = resolver ? "resolver" : "resolve";
        const std::string where = resolver ? "in the resolver hook: " : "cannot resolve host '" + host + "': ";
        try {
            std::rethrow_exception(result.error);
        } catch (const Error& e) {
            throw Error(e.kind(), "tcp " + endpoint + ": " + where + e.what(), e.sys_errno(), op, endpoint);
        } catch (const std::exception& e) {
            throw Error(Errc::resolve, "tcp " + endpoint + ": " + where + e.what(), 0, op, endpoint);
        } catch (...) {
            throw Error(Errc::resolve, "tcp " + endpoint + ": " + where + "an exception not derived from std::exception",
                        0, op, endpoint);
        }
    }
    return std::move(result.addresses);
}

} // namespace

bool is_ip_literal(const std::string& host) noexcept
{
    return respool::detail::net::is_ip_literal(host);
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
                                           "', which is not an IP address", 0, "resolve", endpoint);
        }
        out.push_back(std::move(a));
    }
    if (out.empty())
        throw Error(Errc::resolve, "tcp " + endpoint + ": host '" + host + "' has no address", 0, "resolve", endpoint);
    return out;
}

} // namespace respool::tcp::detail
