// Inventory: the one place slot states change, and the scans that find a
// slot to lend.
#include <respool/detail/inventory.hpp>

#include <cstdio>
#include <cstdlib>

namespace respool::detail {

void Inventory::broken_invariant(const char* what) noexcept
{
    std::fprintf(stderr, "respool: internal invariant broken: %s\n", what);
    std::abort();
}

void Inventory::add(Slot* s)
{
    idle_.reserve(slots_.size() + 1);  // amortized: grows by doubling
    assert(creating_ > 0);
    --creating_;
    s->index = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(s);
    s->state = SlotState::idle;
    s->leases = s->pins = 0;
    ++counter(SlotState::idle);
    idle_.insert_in_order(s);
    spare_ += cap_;
    check_sums();
}

void Inventory::unlist(Slot* s) noexcept
{
    // Off the list of live slots; its place under max_size stays counted
    // until `destroyed`.
    Slot* last = slots_.back();
    slots_[s->index] = last;
    last->index = s->index;
    slots_.pop_back();
}

void Inventory::doom(Slot* s, DestroyReason why, Slot*& list) noexcept
{
    assert(!s->held());
    s->reason = why;
    set_state(s, SlotState::destroying);
    s->next_doomed = list;
    list = s;
}

void Inventory::retire(Slot* s, DestroyReason why, Slot*& list) noexcept
{
    switch (s->state) {
    case SlotState::idle:
        doom(s, why, list);
        return;
    case SlotState::leased:
    case SlotState::checking:
        s->reason = why;
        set_state(s, SlotState::retiring);
        return;
    case SlotState::retiring:
    case SlotState::destroying:
        return;  // already on its way out, for the first reason given
    }
}

Slot* Inventory::find_idle(IdleOrder order, std::thread::id thread, std::int64_t now, Slot*& doomed) noexcept
{
    const std::size_t n = idle_.size();
    if (order == IdleOrder::lifo && n > 1 && idle_.back()->last_holder != thread) {
        // Thread affinity: the resource this thread used last, if it is
        // among the most recently returned, still has this core's caches
        // (a connection's buffers, say) warm.
        for (std::size_t k = 2; k <= n && k <= affinity_scan; ++k) {
            Slot* s = idle_.at(n - k);
            if (s->last_holder != thread) continue;
            if (now < s->expires_ticks) return s;
            break;
        }
    }
    while (!idle_.empty()) {
        Slot* s = order == IdleOrder::lifo ? idle_.back() : idle_.front();
        if (now < s->expires_ticks) return s;
        doom(s, DestroyReason::lifetime, doomed);
    }
    return nullptr;
}

Slot* Inventory::find_shared() const noexcept
{
    Slot* best = nullptr;
    for (Slot* s : slots_)
        if (may_lend(*s) && (!best || s->leases < best->leases)) best = s;
    return best;
}

void Inventory::check() const noexcept
{
    std::array<std::size_t, slot_state_count> seen{};
    std::size_t in_use = 0, spare = 0, pool_checks = 0, replacements = 0;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        const Slot* s = slots_[i];
        if (s->index != i) broken_invariant("slot index out of step with its position");
        if (s->state == SlotState::destroying) broken_invariant("a destroyed slot is still listed");
        ++seen[static_cast<std::size_t>(s->state)];
        if (s->leases > 0) ++in_use;
        if (s->leases > cap_) broken_invariant("more leases on a slot than its cap");
        if (lendable_state(s->state)) spare += cap_ - s->leases;
        if (s->state == SlotState::checking && s->leases == 0) ++pool_checks;
        if (s->replacement_pending) ++replacements;
        if (s->replacement_pending && s->state == SlotState::retiring)
            broken_invariant("a retiring slot still waits for a replacement");
        if (s->state == SlotState::idle && s->held()) broken_invariant("an idle slot is held");
        if (s->state == SlotState::leased && s->leases == 0) broken_invariant("a leased slot has no lease");
        if (s->state == SlotState::retiring && !s->held()) broken_invariant("a retiring slot is held by nobody");
    }
    for (std::size_t i = 0; i < idle_.size(); ++i) {
        if (idle_.at(i)->state != SlotState::idle) broken_invariant("a slot in the idle list is not idle");
        if (i > 0 && idle_.at(i - 1)->idle_since_ticks > idle_.at(i)->idle_since_ticks)
            broken_invariant("the idle list is out of return order");
    }
    for (std::size_t st = 0; st + 1 < slot_state_count; ++st)
        if (seen[st] != counts_[st]) broken_invariant("per-state counts out of step");
    if (idle_.size() != counts_[static_cast<std::size_t>(SlotState::idle)])
        broken_invariant("idle list and idle count differ");
    if (in_use != in_use_) broken_invariant("in-use count out of step");
    if (spare != spare_) broken_invariant("spare capacity out of step");
    if (pool_checks != pool_checks_) broken_invariant("count of pool checks out of step");
    if (replacements != replacements_) broken_invariant("count of pending replacements out of step");
    if (total() > ceiling_) broken_invariant("more resources than max_size");
}

} // namespace respool::detail
