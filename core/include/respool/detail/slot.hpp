// Internal: the pool's records — one `Slot` per live resource, one
// `LeaseRecord` per outstanding lease.
//
// Every live resource is in exactly one `SlotState`, changed only by
// `Inventory::set_state`, which checks that the transition is legal:
//
//            ┌──────────────── checking ───────────────┐
//            │  (a validation runs: keepalive or the   │
//            v   borrower's check)                     v
//   create ─> idle <───> leased ───> retiring ───> destroying
//            │  ^          │                           ^
//            │  └──────────┘  (last lease back)        │
//            └─────────────────────────────────────────┘
//
// `creating` is not a slot state: a creation in flight has no slot yet, and
// `Inventory` counts it (it holds a place under `max_size` all the same).
// Every field is guarded by the pool's mutex unless it says otherwise.
#pragma once

#include <cstdint>
#include <optional>
#include <respool/detail/source_location.hpp>
#include <stop_token>
#include <thread>

#include <respool/stats.hpp>

namespace respool::detail {

enum class SlotState : std::uint8_t {
    idle,        ///< no holder; may be handed out; in the idle list
    leased,      ///< held by one exclusive lease, or by 1..cap shared ones (more may join below cap)
    checking,    ///< a validation runs on it (the pool's keepalive, or its one borrower's); no lease may join
    retiring,    ///< still held (leases or pins), takes no new lease; destroyed when the last lets go
    destroying,  ///< out of the pool; destroyed outside the lock by whoever doomed it
};
inline constexpr std::size_t slot_state_count = 5;

struct Slot {
    std::uint64_t id = 0;
    SlotState state = SlotState::idle;
    bool fresh = true;                  // never leased yet: needs no validation on its first borrow
    bool proven = false;                // returned healthy once, or passed a validation (see PoolCore)
    bool replacement_pending = false;   // shared mode: a make-before-break replacement is on its way
    DestroyReason reason = DestroyReason::closed;  // why it retires or is destroyed
    std::uint32_t leases = 0;           // leases out on it
    std::uint32_t pins = 0;             // pool work on it outside the lock (keepalive check, interrupt)
    std::uint32_t index = 0;            // position in Inventory's list of live slots
    std::int64_t created_ticks = 0;
    std::int64_t expires_ticks = INT64_MAX;      // lifetime deadline, jitter applied
    std::int64_t idle_since_ticks = 0;           // when its last lease ended
    std::int64_t checked_ticks = 0;              // last successful validation
    std::int64_t keepalive_due_ticks = INT64_MAX;
    std::thread::id last_holder{};      // thread of the last lease (affinity on borrow)
    Slot* next_doomed = nullptr;        // link in a to-destroy list

    bool held() const noexcept { return leases + pins > 0; }
};

struct LeaseRecord {
    Slot* slot = nullptr;
    SourceLocation site{};
    std::thread::id thread{};
    std::int64_t acquired_ticks = 0;
    std::uint32_t site_index = 0;
    bool broken = false;          // mark_broken(); read by the releasing thread only
    bool validate_due = false;    // idle long enough to be validated before it is handed out
    bool leak_reported = false;
    bool overdue = false;         // past its deadline without a heartbeat
    bool reclaimed = false;       // its resource was interrupted; destroy on return
    std::int64_t deadline_ticks = INT64_MAX;  // max_lease_time, moved on by heartbeats
    std::optional<std::stop_source> stop;     // made on first `Lease::stop_token()`
    LeaseRecord* prev = nullptr;  // outstanding list, or free list (next only)
    LeaseRecord* next = nullptr;
};

} // namespace respool::detail
