// Internal: the pool's bookkeeping records.
//
// A `Slot` is one live resource's metadata; `PoolState<A>` derives a typed
// slot holding the resource itself. A `LeaseRecord` is one outstanding lease;
// records are recycled through a free list so a warm acquire allocates nothing.
// Every field is guarded by the pool's mutex unless it says otherwise.
#pragma once

#include <cstdint>
#include <optional>
#include <source_location>
#include <stop_token>
#include <thread>

#include <respool/stats.hpp>

namespace respool::detail {

struct Slot {
    std::uint64_t id = 0;
    std::int64_t created_ticks = 0;
    std::int64_t expires_ticks = INT64_MAX;  // lifetime deadline, jitter applied
    std::int64_t idle_since_ticks = 0;       // when its last lease ended
    std::int64_t checked_ticks = 0;          // last successful keepalive validation
    std::int64_t keepalive_due_ticks = INT64_MAX;
    std::size_t leases = 0;                  // holders now (granted counts)
    std::thread::id last_holder{};           // thread of the last lease (affinity on borrow)
    bool retiring = false;                   // takes no new leases; destroyed once free
    bool replacement_requested = false;      // shared mode: make-before-break pending
    bool fresh = true;                       // never leased yet: needs no validation
    bool checking = false;                   // out of the idle list for a keepalive check
    DestroyReason destroy_reason = DestroyReason::closed;
    Slot* next_doomed = nullptr;             // link in a to-destroy list
};

struct LeaseRecord {
    Slot* slot = nullptr;
    std::source_location site{};
    std::thread::id thread{};
    std::int64_t acquired_ticks = 0;
    std::uint32_t site_index = 0;
    bool broken = false;          // mark_broken(); read by the releasing thread only
    bool validate_due = false;    // idle long enough to be validated before it is handed out
    bool leak_reported = false;
    bool overdue = false;         // past its deadline without a heartbeat
    bool reclaimed = false;       // its resource was interrupted; destroy on return
    std::int64_t deadline_ticks = INT64_MAX;  // max_lease_time, moved on by heartbeats
    std::optional<std::stop_source> stop;  // made on first `Lease::stop_token()`
    LeaseRecord* prev = nullptr;  // outstanding list, or free list (next only)
    LeaseRecord* next = nullptr;
};

} // namespace respool::detail
