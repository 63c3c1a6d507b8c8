// Internal: the typed half of a pool — owns the adapter by value and turns
// the core's calls (`AdapterOps`) into calls on it. Optional hooks the
// adapter lacks compile to nothing. The core owns it (see pool_core.hpp).
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <stop_token>
#include <type_traits>
#include <utility>

#include <respool/adapter.hpp>
#include <respool/adapter_error.hpp>
#include <respool/error.hpp>
#include <respool/hooks.hpp>
#include <respool/detail/pool_core.hpp>

namespace respool::detail {

template <Adapter A>
class PoolState final : public AdapterOps {
public:
    using Resource = typename A::Resource;

    struct TypedSlot : Slot {
        explicit TypedSlot(Resource&& r) : resource(std::move(r)) {}
        Resource resource;
    };

    /// Makes the core for a pool of `adapter`'s resources; the core owns the
    /// typed half (and the adapter) from here on.
    static PoolCore* make_core(A adapter, PoolOptions options, Hooks<Resource> hooks)
    {
        const LeaseMode mode = mode_of(adapter);
        const Capabilities caps{HasIsBroken<A>, HasValidate<A>, HasReset<A>, HasInterrupt<A>,
                                static_cast<bool>(hooks.on_acquire), static_cast<bool>(hooks.on_release)};
        return PoolCore::create(std::move(options), mode, caps,
                                std::unique_ptr<PoolState>(new PoolState(std::move(adapter), std::move(hooks))));
    }
    /// The typed half of `core` (made by `make_core`).
    static PoolState& of(PoolCore& core) noexcept { return static_cast<PoolState&>(core.ops()); }

    A& adapter() noexcept { return adapter_; }
    static Resource& resource_of(Slot* slot) noexcept { return static_cast<TypedSlot*>(slot)->resource; }
    static const Resource& resource_of(const Slot& slot) noexcept
    {
        return static_cast<const TypedSlot&>(slot).resource;
    }
    /// Moves the resource out of a slot the pool has let go (`PoolCore::detach`)
    /// and frees the slot; the adapter's `destroy` is not called.
    static Resource take_resource(Slot* slot)
    {
        std::unique_ptr<TypedSlot> typed(static_cast<TypedSlot*>(slot));
        return Resource(std::move(typed->resource));
    }

    ~PoolState() override = default;

private:
    PoolState(A adapter, Hooks<Resource> hooks) : adapter_(std::move(adapter)), hooks_(std::move(hooks)) {}

    // A hook with the right name but the wrong signature would be silently
    // ignored; make that a compile error instead.
    static_assert(!requires { &A::is_broken; } || HasIsBroken<A>,
                  "respool: Adapter::is_broken must be callable as bool is_broken(const Resource&)");
    static_assert(!requires { &A::validate; } || HasValidate<A>,
                  "respool: Adapter::validate must be callable as bool validate(Resource&, Deadline)");
    static_assert(!requires { &A::reset; } || HasReset<A>,
                  "respool: Adapter::reset must be callable as void reset(Resource&)");
    static_assert(!requires { &A::destroy; } || HasDestroy<A>,
                  "respool: Adapter::destroy must be callable as void destroy(Resource&) noexcept");
    static_assert(!requires { &A::interrupt; } || HasInterrupt<A>,
                  "respool: Adapter::interrupt must be callable as void interrupt(Resource&) noexcept");
    static_assert(!requires { &A::is_fatal; } || HasIsFatal<A>,
                  "respool: Adapter::is_fatal must be callable as bool is_fatal(const std::exception&)");
    static_assert(!requires { &A::lease_mode; } || HasLeaseMode<A>,
                  "respool: Adapter::lease_mode must be callable as LeaseMode lease_mode() const");

    static LeaseMode mode_of(const A& adapter)
    {
        if constexpr (HasLeaseMode<A>) return adapter.lease_mode();
        else return LeaseMode::exclusive();
    }

    Slot* create_slot(Deadline deadline, std::stop_token stop) override
    {
        if constexpr (HasStoppableCreate<A>) return new TypedSlot(adapter_.create(deadline, std::move(stop)));
        else return new TypedSlot(adapter_.create(deadline));
    }

    bool creation_is_fatal(const std::exception& e) noexcept override
    {
        if (find_cause<FatalError>(e)) return true;
        if constexpr (HasIsFatal<A>) {
            try {
                return adapter_.is_fatal(e);
            } catch (...) {
                return false;  // cannot tell: retrying is the safe default
            }
        } else {
            const auto* adapter_error = find_cause<AdapterError>(e);
            return adapter_error && adapter_error->fatal();
        }
    }

    void destroy_slot(Slot* slot) noexcept override
    {
        auto* typed = static_cast<TypedSlot*>(slot);
        if constexpr (HasDestroy<A>) {
            static_assert(noexcept(adapter_.destroy(typed->resource)),
                          "respool: Adapter::destroy(Resource&) must be noexcept (it runs on release paths)");
            adapter_.destroy(typed->resource);
        }
        static_assert(std::is_nothrow_destructible_v<Resource>, "respool: Resource's destructor must not throw");
        delete typed;
    }

    bool slot_is_broken(const Slot& slot) noexcept override
    {
        if constexpr (HasIsBroken<A>) {
            try {
                return adapter_.is_broken(static_cast<const TypedSlot&>(slot).resource);
            } catch (...) {
                return true;  // cannot tell: do not lend it
            }
        } else {
            return false;
        }
    }

    bool validate_slot(Slot& slot, Deadline deadline) noexcept override
    {
        if constexpr (HasValidate<A>) {
            try {
                return adapter_.validate(static_cast<TypedSlot&>(slot).resource, deadline);
            } catch (...) {
                return false;
            }
        } else {
            return true;
        }
    }

    bool reset_slot(Slot& slot) noexcept override
    {
        if constexpr (HasReset<A>) {
            try {
                adapter_.reset(static_cast<TypedSlot&>(slot).resource);
                return true;
            } catch (...) {
                return false;  // a resource that cannot be reset is destroyed, never lent again
            }
        } else {
            return true;
        }
    }

    void interrupt_slot(Slot& slot) noexcept override
    {
        if constexpr (HasInterrupt<A>) {
            static_assert(noexcept(adapter_.interrupt(static_cast<TypedSlot&>(slot).resource)),
                          "respool: Adapter::interrupt(Resource&) must be noexcept");
            adapter_.interrupt(static_cast<TypedSlot&>(slot).resource);
        }
    }

    bool on_acquire_slot(Slot& slot) noexcept override
    {
        return run_hook(hooks_.on_acquire, "on_acquire", slot);
    }
    bool on_release_slot(Slot& slot) noexcept override
    {
        return run_hook(hooks_.on_release, "on_release", slot);
    }
    bool run_hook(const std::function<bool(Resource&)>& hook, const char* name, Slot& slot) noexcept
    {
        try {
            return hook(static_cast<TypedSlot&>(slot).resource);
        } catch (const std::exception& e) {
            core().report_hook_failure(name, e.what());
        } catch (...) {
            core().report_hook_failure(name, "an exception not derived from std::exception");
        }
        return false;  // cannot tell: do not lend it
    }

    A adapter_;
    const Hooks<Resource> hooks_;
};

} // namespace respool::detail
