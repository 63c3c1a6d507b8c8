// demo/pooled_target.hpp — what every target shares: its pool, the timing and
// classification of each request, and the planted leak.
//
// A concrete target starts its server, then calls `start_pool`, and provides
// `use`: the request on a leased resource, throwing on any failure.
// `attempt` turns every way a request can end into an `Outcome`, using the
// pool's typed errors to tell a busy pool (AcquireTimeout) from a server
// known to be down (CircuitOpen) from one that just failed (CreateFailed).
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "leak.hpp"
#include "target.hpp"

namespace demo {

template <respool::Adapter A>
class PooledTarget : public Target {
public:
    using Lease = respool::Lease<A>;

    Attempt attempt(std::uint64_t n) noexcept override
    {
        Attempt a;
        const auto start = std::chrono::steady_clock::now();
        try {
            Lease lease = pool_->acquire(respool::AcquireOptions{.timeout = acquire_timeout});
            a.acquired = true;
            a.wait = std::chrono::steady_clock::now() - start;
            use(lease, n);
            a.outcome = Outcome::ok;
        } catch (const respool::AcquireTimeout& e) {
            fail(a, Outcome::timeout, e);
        } catch (const respool::CircuitOpen& e) {  // before CreateFailed: it derives from it
            fail(a, Outcome::circuit_open, e);
        } catch (const respool::CreateFailed& e) {
            fail(a, Outcome::create_failed, e);
        } catch (const respool::Error& e) {
            fail(a, Outcome::other, e);
        } catch (const std::exception& e) {
            fail(a, a.acquired ? Outcome::request_failed : Outcome::other, e);
        }
        return a;
    }

    respool::PoolStats stats() const override { return pool_->stats(); }
    std::vector<respool::LeaseInfo> leases() const override { return pool_->leases(); }

    respool::LeaseInfo plant_leak() override
    {
        std::lock_guard lock(leak_mutex_);
        keep_for_later(*pool_, forgotten_);
        return *forgotten_.back().info();
    }
    void release_leak() noexcept override
    {
        std::lock_guard lock(leak_mutex_);
        forgotten_.clear();
    }
    bool close() override
    {
        release_leak();
        return pool_->close();
    }

protected:
    PooledTarget() = default;
    /// Makes the pool; called by the derived constructor once its server runs.
    void start_pool(A adapter, respool::PoolOptions options)
    {
        pool_ = std::make_unique<respool::Pool<A>>(std::move(adapter), std::move(options));
    }
    /// Destroys the pool; derived destructors call it while their server still exists.
    void stop_pool() noexcept
    {
        release_leak();
        pool_.reset();
    }
    /// One request on a leased resource; throws on any failure.
    virtual void use(Lease& lease, std::uint64_t n) = 0;

private:
    static void fail(Attempt& a, Outcome o, const std::exception& e)
    {
        a.outcome = o;
        a.error = e.what();
    }

    std::unique_ptr<respool::Pool<A>> pool_;
    std::mutex leak_mutex_;
    std::vector<Lease> forgotten_;  // guarded by leak_mutex_: the planted leak
};

} // namespace demo
