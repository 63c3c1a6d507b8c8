#include <respool/tcp/error.hpp>

namespace respool::tcp {

namespace {

class Category : public std::error_category {
public:
    const char* name() const noexcept override { return "respool.tcp"; }
    std::string message(int code) const override
    {
        switch (static_cast<Errc>(code)) {
        case Errc::resolve: return "host name did not resolve";
        case Errc::refused: return "connection refused";
        case Errc::unreachable: return "host or network unreachable";
        case Errc::timeout: return "deadline passed";
        case Errc::tls_verify: return "TLS certificate verification failed";
        case Errc::tls_handshake: return "TLS handshake failed";
        case Errc::closed: return "connection closed by the peer";
        case Errc::protocol: return "protocol error";
        case Errc::io: return "I/O error";
        case Errc::hook: return "a user hook failed";
        }
        return "unknown respool.tcp error";
    }
};

} // namespace

std::string_view to_string(Errc kind) noexcept
{
    switch (kind) {
    case Errc::resolve: return "resolve";
    case Errc::refused: return "refused";
    case Errc::unreachable: return "unreachable";
    case Errc::timeout: return "timeout";
    case Errc::tls_verify: return "tls_verify";
    case Errc::tls_handshake: return "tls_handshake";
    case Errc::closed: return "closed";
    case Errc::protocol: return "protocol";
    case Errc::io: return "io";
    case Errc::hook: return "hook";
    }
    return "unknown";
}

const std::error_category& error_category() noexcept
{
    static const Category category;
    return category;
}

namespace {

// Whether a new connection can get past this error (fatal()).
bool fatal_for_connect(Errc kind, std::string_view message, int sys_errno) noexcept
{
    if (kind == Errc::tls_verify) return true;
    if (kind != Errc::tls_handshake || sys_errno != 0) return false;
    // A handshake cut short (the peer closed, or said nothing within
    // hello_timeout) may be a server restarting: retried. A refusal by
    // OpenSSL or an alert from the peer is configuration: fatal.
    return message.find("the peer closed the connection") == std::string_view::npos &&
           message.find("tls.hello_timeout") == std::string_view::npos;
}

} // namespace

Error::Error(Errc kind, std::string message, int sys_errno, std::string operation, std::string endpoint)
    : AdapterError(make_error_code(kind), message, std::move(operation), std::move(endpoint),
                   fatal_for_connect(kind, message, sys_errno)),
      sys_errno_(sys_errno)
{
}

} // namespace respool::tcp
