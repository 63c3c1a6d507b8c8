#include <respool/event.hpp>

namespace respool {

std::string_view to_string(EventKind kind) noexcept
{
    switch (kind) {
    case EventKind::created: return "created";
    case EventKind::create_failed: return "create_failed";
    case EventKind::destroyed: return "destroyed";
    case EventKind::validation_failed: return "validation_failed";
    case EventKind::acquire_timeout: return "acquire_timeout";
    case EventKind::leak_suspected: return "leak_suspected";
    case EventKind::leak_returned: return "leak_returned";
    case EventKind::leak_at_close: return "leak_at_close";
    case EventKind::lease_overdue: return "lease_overdue";
    case EventKind::lease_reclaimed: return "lease_reclaimed";
    case EventKind::circuit_opened: return "circuit_opened";
    case EventKind::circuit_closed: return "circuit_closed";
    case EventKind::keepalive_failed: return "keepalive_failed";
    case EventKind::pool_closed: return "pool_closed";
    }
    return "unknown";
}

} // namespace respool
