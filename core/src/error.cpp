#include <respool/error.hpp>

namespace respool {

namespace {
class Category final : public std::error_category {
public:
    const char* name() const noexcept override { return "respool"; }
    std::string message(int code) const override
    {
        switch (static_cast<errc>(code)) {
        case errc::acquire_timeout: return "acquire timed out";
        case errc::pool_closed: return "pool closed";
        case errc::create_failed: return "creating a resource failed";
        case errc::circuit_open: return "circuit open: creation is failing";
        case errc::queue_full: return "too many waiters";
        case errc::cancelled: return "acquire cancelled";
        case errc::invalid_options: return "invalid pool options";
        }
        return "unknown respool error";
    }
};
} // namespace

const std::error_category& error_category() noexcept
{
    static const Category category;
    return category;
}

} // namespace respool
