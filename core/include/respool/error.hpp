// respool/error.hpp — every way the pool can say no, as typed exceptions.
//
// All derive from `respool::Error`, itself a `std::system_error` (and so a
// `std::runtime_error`) whose `code()` lies in `respool::error_category()`.
// Catch the derived type to act on the cause: a pool that is too small
// (`AcquireTimeout` with the holders), a server that is down (`CreateFailed`,
// `CircuitOpen` with the last creation error), or a pool going away
// (`PoolClosed`). Messages never contain secrets: adapters must redact what
// they put into creation errors, and the pool adds nothing secret.
#pragma once

#include <exception>
#include <string>
#include <system_error>
#include <vector>

#include <respool/detail/export.hpp>
#include <respool/lease_info.hpp>

namespace respool {

/// The error codes of respool's category.
enum class errc {
    acquire_timeout = 1,  ///< no resource became available before the deadline
    pool_closed,          ///< the pool is closed or closing
    create_failed,        ///< creating a resource failed (and no other one came)
    circuit_open,         ///< creation is failing; the breaker fails acquires fast
    queue_full,           ///< `max_waiters` callers are already waiting
    cancelled,            ///< the caller's stop token fired
    invalid_options,      ///< a `PoolOptions` field broke a rule
};

/// The category of `respool::errc`; its name is "respool".
RESPOOL_API const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

/// Base of every error the pool throws. `what()` is the message alone
/// (std::system_error would append ": " and the code's text).
class RESPOOL_API Error : public std::system_error {
public:
    Error(errc code, const std::string& what) : std::system_error(make_error_code(code), what), what_(what) {}
    const char* what() const noexcept override { return what_.c_str(); }

private:
    std::string what_;
};

/// Where an acquire was when it gave up.
enum class AcquirePhase {
    queued,      ///< waiting for a resource to be given back
    creating,    ///< waiting for a resource being created
    validating,  ///< validating a resource before handing it out
};

/// The caller waited its whole timeout. `holders()` says who holds the pool.
class RESPOOL_API AcquireTimeout : public Error {
public:
    AcquireTimeout(const std::string& what, AcquirePhase phase, PoolSnapshot snapshot,
                   std::vector<LeaseInfo> holders)
        : Error(errc::acquire_timeout, what), phase_(phase), snapshot_(snapshot),
          holders_(std::move(holders))
    {
    }
    AcquirePhase phase() const noexcept { return phase_; }
    const PoolSnapshot& snapshot() const noexcept { return snapshot_; }
    /// Outstanding leases when the wait ended, oldest first.
    const std::vector<LeaseInfo>& holders() const noexcept { return holders_; }

private:
    AcquirePhase phase_;
    PoolSnapshot snapshot_;
    std::vector<LeaseInfo> holders_;
};

/// The exception of type `T` held by `cause`, or null: `T` itself or, when
/// `cause` holds a `CreateFailed` or a `std::nested_exception`, what they
/// hold in turn. The pointer refers to the object `cause` keeps alive.
template <class T>
const T* find_cause(const std::exception_ptr& cause) noexcept;

/// Creating a resource failed; `last_error()` is the adapter's message and
/// `cause()` the adapter's own exception; `cause_as<T>()` reaches it typed.
class RESPOOL_API CreateFailed : public Error {
public:
    CreateFailed(const std::string& what, std::string last_error, std::exception_ptr cause = nullptr,
                 errc code = errc::create_failed)
        : Error(code, what), last_error_(std::move(last_error)), cause_(std::move(cause))
    {
    }
    const std::string& last_error() const noexcept { return last_error_; }
    const std::exception_ptr& cause() const noexcept { return cause_; }
    /// The adapter's exception as a `T` (e.g. `respool::tcp::Error`), or null
    /// when the cause is of another type. Valid while this exception lives.
    ///   catch (const respool::CreateFailed& e) {
    ///       if (auto* tcp = e.cause_as<respool::tcp::Error>()) log(tcp->kind(), tcp->endpoint());
    ///   }
    template <class T>
    const T* cause_as() const noexcept
    {
        return find_cause<T>(cause_);
    }

private:
    std::string last_error_;
    std::exception_ptr cause_;
};

/// Creation has failed repeatedly; acquires fail at once until a probe succeeds.
class RESPOOL_API CircuitOpen : public CreateFailed {
public:
    CircuitOpen(const std::string& what, std::string last_error, std::exception_ptr cause = nullptr)
        : CreateFailed(what, std::move(last_error), std::move(cause), errc::circuit_open)
    {
    }
};

/// The pool is closed or closing.
class RESPOOL_API PoolClosed : public Error {
public:
    explicit PoolClosed(const std::string& what) : Error(errc::pool_closed, what) {}
};

/// `max_waiters` callers were already queued; this one was turned away at once.
class RESPOOL_API QueueFull : public Error {
public:
    explicit QueueFull(const std::string& what) : Error(errc::queue_full, what) {}
};

/// The caller's stop token fired while it waited.
class RESPOOL_API Cancelled : public Error {
public:
    explicit Cancelled(const std::string& what) : Error(errc::cancelled, what) {}
};

/// A `PoolOptions` field broke a rule; the message names the field and the rule.
class RESPOOL_API InvalidOptions : public Error {
public:
    InvalidOptions(const std::string& what, std::string field)
        : Error(errc::invalid_options, what), field_(std::move(field))
    {
    }
    /// The offending field, e.g. "min_idle".
    const std::string& field() const noexcept { return field_; }

private:
    std::string field_;
};

template <class T>
const T* find_cause(const std::exception_ptr& cause) noexcept
{
    // Only a rethrow reveals an exception_ptr's type. The Itanium C++ ABI
    // (g++, clang) rethrows the held object itself, not a copy, so the
    // address stays valid as long as `cause` holds it.
    for (std::exception_ptr current = cause; current;) {
        std::exception_ptr next;
        try {
            std::rethrow_exception(current);
        } catch (const T& found) {
            return &found;
        } catch (const CreateFailed& wrapper) {
            next = wrapper.cause();
        } catch (const std::nested_exception& nested) {
            next = nested.nested_ptr();
        } catch (...) {
        }
        if (next == current) break;
        current = std::move(next);
    }
    return nullptr;
}

/// `find_cause` for an exception already caught: `e` itself when it is a
/// `T`, else what a `CreateFailed` or `std::nested_exception` holds.
template <class T>
const T* find_cause(const std::exception& e) noexcept
{
    if (const auto* found = dynamic_cast<const T*>(&e)) return found;
    if (const auto* failed = dynamic_cast<const CreateFailed*>(&e)) return find_cause<T>(failed->cause());
    if (const auto* nested = dynamic_cast<const std::nested_exception*>(&e))
        return find_cause<T>(nested->nested_ptr());
    return nullptr;
}

} // namespace respool

template <>
struct std::is_error_code_enum<respool::errc> : std::true_type {};
