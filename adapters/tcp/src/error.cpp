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
        }
        return "unknown respool.tcp error";
    }
};

} // namespace

const std::error_category& error_category() noexcept
{
    static const Category category;
    return category;
}

Error::Error(Errc kind, std::string message, int sys_errno)
    : std::system_error(make_error_code(kind)), message_(std::move(message)), sys_errno_(sys_errno)
{
}

} // namespace respool::tcp
