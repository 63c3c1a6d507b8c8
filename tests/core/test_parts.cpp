// The core's parts alone, without a pool, threads or a clock: the inventory
// (states, derived counts, the idle order), the wait queue's fairness
// predicates and hints, and the lease book — driven step by step with
// explicit times.
#include <memory>
#include <vector>

#include <doctest/doctest.h>

#include <respool/detail/inventory.hpp>
#include <respool/detail/lease_registry.hpp>
#include <respool/detail/wait_queue.hpp>

namespace respool::detail {
namespace {

/// Slots owned by the test; the inventory only points at them.
struct Slots {
    std::vector<std::unique_ptr<Slot>> owned;
    Slot* make(Inventory& inv, std::int64_t idle_since)
    {
        owned.push_back(std::make_unique<Slot>());
        Slot* s = owned.back().get();
        s->id = owned.size();
        s->idle_since_ticks = idle_since;
        inv.begin_creation();
        inv.add(s);
        return s;
    }
};

struct NoSignal {
    static void signal(Waiter&) noexcept {}
};

} // namespace

TEST_CASE("inventory: the idle list keeps return order, also for a slot back from a check")
{
    Inventory inv(4, 1);
    Slots slots;
    Slot* a = slots.make(inv, 10);
    Slot* b = slots.make(inv, 20);
    Slot* c = slots.make(inv, 30);
    REQUIRE(inv.idle_list().front() == a);
    REQUIRE(inv.idle_list().back() == c);
    inv.set_state(a, SlotState::checking);  // out for a keepalive check
    CHECK(inv.pool_checks() == 1);
    CHECK(inv.spare() == 2);
    inv.set_state(a, SlotState::idle);  // back: to its place, not on top
    CHECK(inv.pool_checks() == 0);
    CHECK(inv.idle_list().front() == a);
    CHECK(inv.idle_list().back() == c);
    (void)b;
    inv.check();
}

TEST_CASE("inventory: a slot checked for its borrower is not a pool check")
{
    Inventory inv(2, 1);
    Slots slots;
    Slot* a = slots.make(inv, 1);
    inv.lend(a, true);  // its borrower validates it first
    CHECK(a->state == SlotState::checking);
    CHECK(inv.pool_checks() == 0);
    CHECK(inv.in_use() == 1);
    inv.set_state(a, SlotState::leased);
    inv.drop_lease(a);
    inv.set_state(a, SlotState::idle);
    CHECK(inv.count(SlotState::idle) == 1);
    inv.check();
}

TEST_CASE("inventory: a pending replacement is forgotten when its slot leaves, however it leaves")
{
    Inventory inv(4, 2);  // shared, cap 2
    Slots slots;
    Slot* a = slots.make(inv, 1);
    Slot* b = slots.make(inv, 2);
    inv.lend(a, false);
    inv.mark_for_replacement(a);
    CHECK(inv.replacements_pending() == 1);
    CHECK(inv.replaced_slot() == a);
    // Its lease goes back; it sits idle, still waiting for its replacement...
    inv.drop_lease(a);
    inv.set_state(a, SlotState::idle);
    CHECK(inv.replacements_pending() == 1);
    // ... and is evicted: doomed directly, not retired.
    Slot* doomed = nullptr;
    inv.doom(a, DestroyReason::idle, doomed);
    CHECK(inv.replacements_pending() == 0);
    CHECK(inv.replaced_slot() == nullptr);
    inv.destroyed(1);
    // And a held one that retires.
    inv.lend(b, false);
    inv.mark_for_replacement(b);
    inv.retire(b, DestroyReason::lifetime, doomed);
    CHECK(b->state == SlotState::retiring);
    CHECK(inv.replacements_pending() == 0);
    inv.check();
}

TEST_CASE("inventory: over_max leaves out what is already on its way out")
{
    Inventory inv(4, 1);
    Slots slots;
    for (int i = 0; i < 4; ++i) slots.make(inv, i);
    inv.set_max_size(3);
    REQUIRE(inv.over_max());
    Slot* doomed = nullptr;
    inv.doom(inv.idle_list().front(), DestroyReason::retired, doomed);
    CHECK(inv.total() == 4);  // its place is taken until it is destroyed
    CHECK_FALSE(inv.over_max());
    inv.destroyed(1);
    CHECK(inv.total() == 3);
    inv.check();
}

TEST_CASE("wait queue: overtaking within the window, hand-off past it, one hint at a time")
{
    WaitQueue q(1000);  // a window of 1000 ticks
    Waiter w1(&NoSignal::signal), w2(&NoSignal::signal);
    CHECK(q.may_overtake(0));
    q.push(w1, 100);
    q.push(w2, 600);
    CHECK(q.may_overtake(1099));
    CHECK_FALSE(q.hand_off_due(1099));
    CHECK_FALSE(q.may_overtake(1100));
    CHECK(q.hand_off_due(1100));
    CHECK(q.hint_front() == &w1);
    CHECK(q.hint_front() == nullptr);  // told already: a burst of returns wakes it once
    CHECK(q.wake_quiet_front() == nullptr);  // not in a quiet spell
    w1.quiet_spell = true;
    CHECK(q.wake_quiet_front() == &w1);
    q.remove(w1, WaitOutcome::granted);
    CHECK(q.front() == &w2);
    CHECK(q.size() == 1);
    CHECK(q.hint_front() == &w2);
    q.remove(w2, WaitOutcome::left);
    CHECK(q.empty());
}

TEST_CASE("wait queue: a window of 0 is strict FIFO")
{
    WaitQueue q(0);
    Waiter w(&NoSignal::signal);
    q.push(w, 5);
    CHECK_FALSE(q.may_overtake(5));
    CHECK(q.hand_off_due(5));
    q.remove(w, WaitOutcome::left);
}

TEST_CASE("lease book: a wait counts once the lease is handed out; a discarded one leaves no trace")
{
    LeaseRegistry book(4);
    Slot slot;
    const auto site = SourceLocation::current();
    LeaseRecord* kept = book.add(&slot, site, {}, 100, INT64_MAX);
    LeaseRecord* refused = book.add(&slot, site, {}, 100, INT64_MAX);
    CHECK(book.count() == 2);
    book.handed_out(kept, 40);
    book.discard(refused);  // a borrow check said no
    CHECK(book.count() == 1);
    const auto waits = book.sites().total_wait();
    CHECK(waits.summary(1.0).count == 1);
    const auto sites = book.sites().snapshot(1.0);
    REQUIRE(sites.size() == 1);
    CHECK(sites[0].acquired == 1);
    CHECK(sites[0].holding == 1);
    book.remove(kept);
    CHECK(book.count() == 0);
}

TEST_CASE("lease book: a lease is reported once past the leak threshold and once past its deadline")
{
    LeaseRegistry book(4);
    Slot slot;
    LeaseRecord* r = book.add(&slot, SourceLocation::current(), {}, 0, 500);
    int leaked = 0, overdue = 0;
    const auto scan = [&](std::int64_t now) {
        book.scan(now, 1000, [&](LeaseRecord&) { ++leaked; }, [&](LeaseRecord&) { ++overdue; });
    };
    scan(499);
    CHECK(leaked + overdue == 0);
    scan(500);
    CHECK(overdue == 1);
    scan(1000);
    scan(5000);
    CHECK(leaked == 1);
    CHECK(overdue == 1);
    book.remove(r);
}

} // namespace respool::detail
