#include "stop_wake.hpp"

#include <cstdint>

#include <sys/eventfd.h>
#include <unistd.h>

namespace respool::detail::net {

namespace {
thread_local const StopScope* innermost = nullptr;
} // namespace

StopScope::StopScope(std::stop_token stop) : stop_(std::move(stop)), previous_(innermost)
{
    if (stop_.stop_possible()) {
        fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        // Without an fd (out of descriptors) the waits still end at their
        // deadlines, and stopped() is still checked between steps.
        if (fd_ >= 0)
            wake_.emplace(stop_, std::function<void()>([fd = fd_] {
                              const std::uint64_t one = 1;
                              [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
                          }));
    }
    innermost = this;
}

StopScope::~StopScope()
{
    innermost = previous_;
    wake_.reset();  // waits for a callback running on another thread
    if (fd_ >= 0) ::close(fd_);
}

const StopScope* StopScope::current() noexcept { return innermost; }

} // namespace respool::detail::net
