// demo/target.hpp — one pool and the real server behind it, as the demo drives it.
//
// A `Target` owns a server (or reaches an external one), a respool pool of
// connections to it and the request the workers repeat. It can break its
// server on purpose (`begin_fault` / `end_fault`) and leak a lease on purpose
// (`plant_leak`). The PostgreSQL, gRPC and TLS targets implement it in
// pg_target.cpp, grpc_target.cpp and tcp_target.cpp; `PooledTarget`
// (pooled_target.hpp) holds what they share.
//
// Thread-safety: `attempt`, `stats` and `leases` are called from many threads
// at once; the fault and leak members from one scenario thread at a time.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <respool/pool.hpp>

namespace demo {

/// How one request ended; every attempt has exactly one outcome.
enum class Outcome {
    ok,              ///< leased, used, answered correctly
    timeout,         ///< respool::AcquireTimeout: no connection within the acquire timeout
    circuit_open,    ///< respool::CircuitOpen: the pool failed fast, the server is known down
    create_failed,   ///< respool::CreateFailed: making a connection failed
    request_failed,  ///< leased, but the request on it failed (I/O error, server gone)
    other,           ///< anything else (QueueFull, PoolClosed, ...)
};
inline constexpr std::size_t outcome_count = 6;

/// "ok", "timeout", "circuit_open", "create_failed", "request_failed", "other".
std::string_view to_string(Outcome outcome) noexcept;

/// What one request did.
struct Attempt {
    Outcome outcome = Outcome::other;
    bool acquired = false;            ///< a lease was handed out
    std::chrono::nanoseconds wait{};  ///< time in acquire, when `acquired`
    std::string error;                ///< the exception's text, when not ok
};

/// Attempts and outcomes so far; while workers run, attempts may run ahead
/// of the outcomes by the requests in flight.
struct Counts {
    std::uint64_t attempts = 0;
    std::uint64_t leased = 0;  ///< attempts that got a lease (ok or request_failed)
    std::array<std::uint64_t, outcome_count> outcomes{};

    std::uint64_t operator[](Outcome o) const noexcept { return outcomes[static_cast<std::size_t>(o)]; }
    std::uint64_t ok() const noexcept { return (*this)[Outcome::ok]; }
    std::uint64_t errors() const noexcept;
    Counts operator-(const Counts& earlier) const noexcept;
};

class Target {
public:
    virtual ~Target() = default;

    /// "pg", "grpc" or "tcp": also the pool's name.
    virtual std::string_view name() const noexcept = 0;
    /// The server, e.g. "PostgreSQL, throwaway cluster on 127.0.0.1:40123".
    virtual std::string server() const = 0;
    /// What one request does while it holds its lease.
    virtual std::string work() const = 0;

    /// One request: acquire, use, give back. Never throws.
    virtual Attempt attempt(std::uint64_t n) noexcept = 0;
    virtual respool::PoolStats stats() const = 0;
    virtual std::vector<respool::LeaseInfo> leases() const = 0;

    /// What `begin_fault` does to the server, in a few words.
    virtual std::string fault() const = 0;
    /// Breaks the server; returns when it is broken.
    virtual void begin_fault() = 0;
    /// False when the fault is over once `begin_fault` returns (connections
    /// killed, the server itself never down): then `end_fault` is not called.
    virtual bool fault_lasts() const { return true; }
    /// Lets the server serve again; returns when it does. Throws
    /// std::runtime_error when it cannot (e.g. its port was taken meanwhile).
    virtual void end_fault() = 0;

    /// Acquires a lease and keeps it: a leak, on purpose. Returns the lease's
    /// description (to recognise the pool's report of it). Throws what acquire throws.
    virtual respool::LeaseInfo plant_leak() = 0;
    /// Gives the planted lease back, so the pool can close cleanly.
    virtual void release_leak() noexcept = 0;
    /// Closes the pool (after `release_leak`); true if every lease came back.
    virtual bool close() = 0;
};

/// The pool settings every target shares: `pool_size`, short timeouts that
/// suit servers on loopback, leak reports after `leak_threshold`, events to `listener`.
respool::PoolOptions demo_pool_options(std::string_view name, std::size_t pool_size,
                                       std::shared_ptr<respool::EventListener> listener);

/// How long a worker waits for a lease, and how long one request may take.
inline constexpr std::chrono::milliseconds acquire_timeout{500};
inline constexpr std::chrono::milliseconds request_timeout{1000};
/// A lease held longer is reported as a suspected leak; above `request_timeout`,
/// so only the planted leak is ever reported.
inline constexpr std::chrono::milliseconds leak_threshold{1500};
/// How long each request keeps its connection busy (the server's work, or
/// for the echo server the client's).
inline constexpr std::chrono::milliseconds hold_time{5};

} // namespace demo
