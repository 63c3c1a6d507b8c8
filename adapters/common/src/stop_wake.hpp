// stop_wake.hpp (internal to the adapters) — lets `create(Deadline,
// std::stop_token)` end at once when the pool closes, not at its deadline.
//
// A creation waits in poll() (connect, TLS handshake, libpq's connect loop,
// the setup statements) and on the resolver helper. While a `StopScope` is
// alive on a thread, those waits also watch an eventfd that a
// std::stop_callback makes readable when stop is requested, so they return
// early and the adapter reports "abandoned: the pool is closing". A thread
// without a scope waits as before (no fd, no cost).
#pragma once

#include <functional>
#include <optional>
#include <stop_token>

namespace respool::detail::net {

class StopScope {
public:
    /// Watches `stop` on this thread until destroyed. Scopes nest (the inner one wins).
    explicit StopScope(std::stop_token stop);
    ~StopScope();
    StopScope(const StopScope&) = delete;
    StopScope& operator=(const StopScope&) = delete;

    /// The innermost scope of this thread, or null.
    static const StopScope* current() noexcept;
    /// Readable once stop is requested; -1 when stop can never be requested.
    int fd() const noexcept { return fd_; }
    bool stopped() const noexcept { return stop_.stop_requested(); }
    const std::stop_token& token() const noexcept { return stop_; }

private:
    std::stop_token stop_;
    int fd_ = -1;
    std::optional<std::stop_callback<std::function<void()>>> wake_;
    const StopScope* previous_;
};

/// True when this thread's creation was asked to stop (the pool is closing).
inline bool stop_requested_here() noexcept
{
    const StopScope* s = StopScope::current();
    return s != nullptr && s->stopped();
}

} // namespace respool::detail::net
