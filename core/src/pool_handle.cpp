// PoolCore: the opaque handle's entry points, each a call into the engine
// (pool_engine.hpp), so that the installed headers carry none of the core's
// parts. `create` is the one place a core is made: validated, then started.
#include "pool_core_internal.hpp"

namespace respool::detail {

namespace {
PoolEngine* engine(PoolCore* core) noexcept { return static_cast<PoolEngine*>(core); }
const PoolEngine* engine(const PoolCore* core) noexcept { return static_cast<const PoolEngine*>(core); }
} // namespace

PoolCore* PoolCore::create(PoolOptions options, LeaseMode mode, Capabilities caps, std::unique_ptr<AdapterOps> ops)
{
    auto* made = new PoolEngine(std::move(options), mode, caps, std::move(ops));
    try {
        made->start();
    } catch (...) {
        made->destroy_handle();
        throw;
    }
    return made;
}

void PoolCore::destroy_handle() noexcept { engine(this)->destroy_handle(); }

LeaseRecord* PoolCore::acquire(std::chrono::milliseconds timeout, const std::stop_token& stop,
                               const SourceLocation& site, bool may_wait)
{
    return engine(this)->acquire(timeout, stop, site, may_wait);
}

void PoolCore::release(LeaseRecord* record) noexcept { engine(this)->release(record); }
std::stop_token PoolCore::lease_stop_token(LeaseRecord* record) { return engine(this)->lease_stop_token(record); }
void PoolCore::heartbeat(LeaseRecord* record) noexcept { engine(this)->heartbeat(record); }
LeaseInfo PoolCore::lease_info(const LeaseRecord* record) const { return engine(this)->lease_info(record); }
std::vector<LeaseInfo> PoolCore::leases() const { return engine(this)->leases(); }
PoolStats PoolCore::stats() const { return engine(this)->stats(); }
bool PoolCore::close(std::chrono::milliseconds drain_timeout) { return engine(this)->close(drain_timeout); }
void PoolCore::run_maintenance() { engine(this)->run_maintenance(); }
const PoolOptions& PoolCore::options() const noexcept { return engine(this)->options(); }
AdapterOps& PoolCore::ops() noexcept { return engine(this)->ops(); }
void PoolCore::resize(std::size_t max_size) { engine(this)->resize(max_size); }
void PoolCore::set_min_idle(std::size_t min_idle) { engine(this)->set_min_idle(min_idle); }
void PoolCore::wait_ready(std::chrono::milliseconds timeout) { engine(this)->wait_ready(timeout); }
void PoolCore::pause() { engine(this)->pause(); }
void PoolCore::resume() { engine(this)->resume(); }
void PoolCore::retire_all() { engine(this)->retire_all(); }
void PoolCore::retire_if(const std::function<bool(const Slot&)>& pred) { engine(this)->retire_if(pred); }
Slot* PoolCore::detach(LeaseRecord* record) { return engine(this)->detach(record); }
void PoolCore::report_hook_failure(const char* hook, const char* what) const noexcept
{
    engine(this)->report_hook_failure(hook, what);
}

} // namespace respool::detail
