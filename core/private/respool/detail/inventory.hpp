// Internal: the pool's resources and the state each one is in.
//
// The inventory owns the list of live slots, the idle list, and a count per
// state, and it is the only code that changes a slot's state
// (`set_state`, which asserts the transition is legal; see slot.hpp). What
// the rest of the pool asks of it — how many are idle, how much spare
// capacity there is, which slot to lend — is derived from those states the
// same way in exclusive and shared lease mode: a slot may be lent when it is
// idle or leased and has fewer than `cap` leases; spare capacity is the sum
// of the free lease places on such slots.
//
// Not thread-safe: every member is called under the pool's lock. Nothing
// here calls user code.
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include <respool/detail/idle_list.hpp>
#include <respool/detail/slot.hpp>
#include <respool/options.hpp>

namespace respool::detail {

class Inventory {
public:
    Inventory(std::size_t max_size, std::size_t cap) noexcept : max_size_(max_size), ceiling_(max_size), cap_(cap) {}
    Inventory(const Inventory&) = delete;
    Inventory& operator=(const Inventory&) = delete;

    // --- counts ---
    /// Everything that holds a place under max_size: live slots, slots being
    /// destroyed and creations in flight.
    std::size_t total() const noexcept { return slots_.size() + count(SlotState::destroying) + creating_; }
    bool at_max() const noexcept { return total() >= max_size_; }
    /// The limit now (`Pool::resize` changes it).
    std::size_t max_size() const noexcept { return max_size_; }
    /// A new limit. Lowering it below `total()` starts no creation until
    /// enough places are freed; the pool retires the excess (PoolCore).
    void set_max_size(std::size_t n) noexcept
    {
        max_size_ = n;
        ceiling_ = std::max(n, total());
    }
    /// Above the limit (after a shrink), not counting slots already on their
    /// way out (retiring or being destroyed): those free their places anyway.
    bool over_max() const noexcept
    {
        return total() - count(SlotState::retiring) - count(SlotState::destroying) > max_size_;
    }
    std::size_t creating() const noexcept { return creating_; }
    std::size_t count(SlotState s) const noexcept { return counts_[static_cast<std::size_t>(s)]; }
    /// Slots with at least one lease.
    std::size_t in_use() const noexcept { return in_use_; }
    /// Free lease places on slots that may be lent (in exclusive mode: idle slots).
    std::size_t spare() const noexcept { return spare_; }
    std::size_t cap() const noexcept { return cap_; }
    /// Idle slots out for a check by the pool (keepalive, retire_if): idle to
    /// the outside world, but not lendable.
    std::size_t pool_checks() const noexcept { return pool_checks_; }
    /// Shared slots waiting for their make-before-break replacement.
    std::size_t replacements_pending() const noexcept { return replacements_; }
    bool shared() const noexcept { return cap_ > 1; }
    /// Live slots in any state but `destroying`.
    const std::vector<Slot*>& slots() const noexcept { return slots_; }
    const IdleList& idle_list() const noexcept { return idle_; }

    bool may_lend(const Slot& s) const noexcept
    {
        return (s.state == SlotState::idle || s.state == SlotState::leased) && s.leases < cap_;
    }

    // --- creations ---
    void begin_creation() noexcept
    {
        assert(!at_max());
        ++creating_;
    }
    void creation_failed() noexcept
    {
        --creating_;
        lower_ceiling();
    }
    /// A created resource joins, idle. Grows the lists (allocates), so that
    /// lending and returning never do.
    void add(Slot* s);

    // --- states ---
    /// The one place a slot's state changes. Keeps the idle list and the
    /// counts in step; aborts on an illegal transition. Inline: it is on the
    /// acquire and release paths.
    void set_state(Slot* s, SlotState to) noexcept
    {
        const SlotState from = s->state;
        if (!legal_transition(from, to)) [[unlikely]]
            broken_invariant("illegal slot state transition");
        if (lendable_state(from)) spare_ -= cap_ - s->leases;
        if (lendable_state(to)) spare_ += cap_ - s->leases;
        if (from == SlotState::idle) idle_.remove(s);
        if (to == SlotState::idle) {
            assert(s->leases == 0);
            idle_.insert_in_order(s);  // room reserved by `add`
        }
        if (s->leases == 0 && from == SlotState::checking) --pool_checks_;
        if (s->leases == 0 && to == SlotState::checking) ++pool_checks_;
        if ((to == SlotState::retiring || to == SlotState::destroying) && s->replacement_pending) {
            // Going anyway: the creation that was to replace it is for capacity now.
            s->replacement_pending = false;
            --replacements_;
        }
        --counter(from);
        ++counter(to);
        s->state = to;
        if (to == SlotState::destroying) unlist(s);
        check_sums();
    }
    /// A lease joins `s`, which must be lendable; an idle slot becomes leased,
    /// or checking when its borrower must validate it first.
    void lend(Slot* s, bool check_first) noexcept
    {
        assert(may_lend(*s));
        add_lease(s);  // first: a slot checking for its borrower has a lease (see pool_checks)
        if (s->state == SlotState::idle) set_state(s, check_first ? SlotState::checking : SlotState::leased);
    }
    /// Marks a shared slot to be replaced make-before-break: it keeps taking
    /// leases until its replacement arrives (`take_replaced`).
    void mark_for_replacement(Slot* s) noexcept
    {
        assert(!s->replacement_pending && s->state != SlotState::retiring && s->state != SlotState::destroying);
        s->replacement_pending = true;
        ++replacements_;
    }
    /// A slot waiting for the replacement that just arrived, or null.
    Slot* replaced_slot() const noexcept
    {
        if (replacements_ == 0) return nullptr;
        for (Slot* s : slots_)
            if (s->replacement_pending) return s;
        return nullptr;
    }
    /// A lease leaves `s`; its state is the caller's to settle.
    void drop_lease(Slot* s) noexcept
    {
        assert(s->leases > 0 && s->state != SlotState::checking);
        if (lendable_state(s->state)) ++spare_;
        if (--s->leases == 0) --in_use_;
    }
    void add_lease(Slot* s) noexcept
    {
        if (lendable_state(s->state)) --spare_;
        if (s->leases++ == 0) ++in_use_;
    }
    /// Takes `s` (not held) out of the pool: state destroying, off the lists,
    /// linked into `list` for destruction outside the lock.
    void doom(Slot* s, DestroyReason why, Slot*& list) noexcept;
    /// Stops `s` taking new leases: an idle one is doomed at once, a held one
    /// retires (destroyed when its last holder lets go).
    void retire(Slot* s, DestroyReason why, Slot*& list) noexcept;
    /// `n` doomed slots were destroyed; their places are free.
    void destroyed(std::size_t n) noexcept
    {
        assert(counts_[static_cast<std::size_t>(SlotState::destroying)] >= n);
        counts_[static_cast<std::size_t>(SlotState::destroying)] -= n;
        lower_ceiling();
    }
    /// Takes `s` (no lease, no pin) out of the pool for good without
    /// destroying it (`Lease::detach`): its place is free at once.
    void forget(Slot* s) noexcept
    {
        assert(!s->held());
        set_state(s, SlotState::destroying);
        --counter(SlotState::destroying);
        lower_ceiling();
    }

    // --- finding ---
    /// The slot a borrow should take, or null: in exclusive mode an idle one
    /// (by `order`, preferring the one `thread` used last), dooming expired
    /// ones met on the way into `doomed`; in shared mode the least loaded
    /// lendable one.
    Slot* find(IdleOrder order, std::thread::id thread, std::int64_t now, Slot*& doomed) noexcept
    {
        if (shared()) return find_shared();
        const std::size_t n = idle_.size();
        if (n == 0) return nullptr;
        Slot* s = order == IdleOrder::lifo ? idle_.back() : idle_.front();
        // The common case inline: the end a borrow takes from is fresh and,
        // for LIFO, is the one this thread used last (or there is no other).
        if (now < s->expires_ticks && (order == IdleOrder::fifo || n == 1 || s->last_holder == thread)) return s;
        return find_idle(order, thread, now, doomed);
    }

    /// Checks every invariant by a full scan (O(n); the pool calls it in
    /// debug builds only). Aborts on a violation.
    void check() const noexcept;

private:
    static constexpr std::size_t affinity_scan = 8;  // idle slots looked at for this thread's last one
    static bool lendable_state(SlotState s) noexcept { return s == SlotState::idle || s == SlotState::leased; }
    static constexpr bool legal_transition(SlotState from, SlotState to) noexcept
    {
        using S = SlotState;
        switch (from) {
        case S::idle: return to == S::leased || to == S::checking || to == S::destroying;
        case S::leased: return to == S::idle || to == S::retiring || to == S::destroying;
        case S::checking: return to == S::idle || to == S::leased || to == S::retiring || to == S::destroying;
        case S::retiring: return to == S::destroying;
        case S::destroying: return false;
        }
        return false;
    }
    [[noreturn]] static void broken_invariant(const char* what) noexcept;
    void unlist(Slot* s) noexcept;
    std::size_t& counter(SlotState s) noexcept { return counts_[static_cast<std::size_t>(s)]; }
    Slot* find_idle(IdleOrder order, std::thread::id thread, std::int64_t now, Slot*& doomed) noexcept;
    Slot* find_shared() const noexcept;
    void check_sums() const noexcept
    {
        assert(count(SlotState::idle) + count(SlotState::leased) + count(SlotState::checking) +
                   count(SlotState::retiring) == slots_.size());
        assert(idle_.size() == count(SlotState::idle));
        assert(total() <= ceiling_);
    }
    // After a shrink, places above the new limit go as they are freed, and
    // none is taken again: the most that may be taken only falls.
    void lower_ceiling() noexcept { ceiling_ = std::max(max_size_, std::min(ceiling_, total())); }

    std::size_t max_size_;
    std::size_t ceiling_;  // most places that may be taken: max_size_, or more just after a shrink
    const std::size_t cap_;
    std::vector<Slot*> slots_;
    IdleList idle_;
    std::array<std::size_t, slot_state_count> counts_{};
    std::size_t creating_ = 0;
    std::size_t in_use_ = 0;
    std::size_t spare_ = 0;
    std::size_t pool_checks_ = 0;   // slots in `checking` with no lease
    std::size_t replacements_ = 0;  // slots with `replacement_pending`
};

} // namespace respool::detail
