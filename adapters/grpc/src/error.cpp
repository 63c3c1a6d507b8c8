// Error and its category.
#include <respool/grpc/error.hpp>

namespace respool::grpc {
namespace {

class Category final : public std::error_category {
public:
    const char* name() const noexcept override { return "respool.grpc"; }
    std::string message(int value) const override
    {
        switch (static_cast<Error::Kind>(value)) {
        case Error::Kind::not_ready: return "channel not READY before the deadline";
        case Error::Kind::unhealthy: return "health check did not answer SERVING";
        case Error::Kind::tls: return "TLS handshake or server certificate failed";
        }
        return "unknown respool.grpc error";
    }
};

} // namespace

const std::error_category& error_category() noexcept
{
    static const Category category;
    return category;
}

std::error_code make_error_code(Error::Kind kind) noexcept
{
    return {static_cast<int>(kind), error_category()};
}

Error::Error(Kind kind, const std::string& what, std::string target, grpc_connectivity_state last_state,
             std::string reason, std::string operation)
    : respool::AdapterError(make_error_code(kind), what, std::move(operation), std::move(target),
                            kind == Kind::tls),
      kind_(kind), last_state_(last_state), reason_(std::move(reason))
{
}

std::string_view to_string(Error::Kind kind) noexcept
{
    switch (kind) {
    case Error::Kind::not_ready: return "not_ready";
    case Error::Kind::unhealthy: return "unhealthy";
    case Error::Kind::tls: return "tls";
    }
    return "unknown";
}

} // namespace respool::grpc
