// A model-based test of the public API: random sequences of operations on a
// pool with a manual clock, each step applied both to the pool and to a
// reference model of the documented behaviour (docs/concepts.md), compared
// after every step. A failing sequence is shrunk to a short trace, which the
// failure prints.
//
// The model covers one thread's view: acquire (served from idle, by a new
// resource, or timing out at max_size), try_acquire, release and
// mark_broken, time passing, maintenance (lifetime, idle timeout least
// recently returned first), resize, retire_all, pause and resume — in LIFO
// (with the pool's thread affinity) and FIFO order.
#include <algorithm>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "fixtures.hpp"

namespace respool::test {
namespace {

enum class Op { acquire, try_acquire, release, release_broken, advance, maintenance, resize, retire_all, pause, resume };

struct Step {
    Op op;
    long arg = 0;  // index of a lease, milliseconds, or a size
};

std::string describe(const Step& s)
{
    static const char* names[] = {"acquire", "try_acquire", "release", "release_broken", "advance",
                                  "maintenance", "resize", "retire_all", "pause", "resume"};
    return std::string(names[static_cast<int>(s.op)]) + "(" + std::to_string(s.arg) + ")";
}

/// The documented behaviour, for one thread, no background work.
struct Model {
    struct Resource {
        std::uint64_t serial;
        std::int64_t created;
        std::int64_t idle_since = 0;
        bool leased = false;
        bool retiring = false;
        bool ours = false;  // held by this thread once (LIFO thread affinity)
    };
    IdleOrder order;
    std::int64_t lifetime, idle_timeout;
    std::size_t max_size;
    std::int64_t now = 0;
    bool paused = false;
    std::uint64_t next_serial = 1;
    std::vector<Resource> live;        // in the pool: idle, leased or retiring
    std::vector<std::uint64_t> idle;   // serials by idle_since (front: least recently returned)
    std::vector<std::uint64_t> held;   // the test's leases, by serial
    std::uint64_t created = 0, acquired = 0, timeouts = 0;
    DestroyCounts destroyed;

    Resource& get(std::uint64_t serial)
    {
        return *std::find_if(live.begin(), live.end(), [&](const Resource& r) { return r.serial == serial; });
    }
    void destroy(std::uint64_t serial, DestroyReason why)
    {
        ++destroyed.by_reason[static_cast<int>(why)];
        idle.erase(std::remove(idle.begin(), idle.end(), serial), idle.end());
        live.erase(std::remove_if(live.begin(), live.end(), [&](const Resource& r) { return r.serial == serial; }),
                   live.end());
    }
    bool expired(std::uint64_t serial) { return now >= get(serial).created + lifetime; }
    std::size_t staying() const  // not on their way out
    {
        return static_cast<std::size_t>(std::count_if(live.begin(), live.end(), [](const Resource& r) { return !r.retiring; }));
    }
    void make_idle(std::uint64_t serial, std::int64_t since)
    {
        get(serial).idle_since = since;
        auto it = idle.end();
        while (it != idle.begin() && get(*(it - 1)).idle_since > since) --it;
        idle.insert(it, serial);
    }

    /// The idle resource a borrow takes, dooming expired ones met on the way; 0 if none.
    std::uint64_t take_idle()
    {
        if (idle.empty()) return 0;
        if (order == IdleOrder::lifo && idle.size() > 1 && !get(idle.back()).ours) {
            for (std::size_t k = 2; k <= idle.size() && k <= 8; ++k) {
                const std::uint64_t s = idle[idle.size() - k];
                if (!get(s).ours) continue;
                if (!expired(s)) return s;
                break;
            }
        }
        while (!idle.empty()) {
            const std::uint64_t s = order == IdleOrder::lifo ? idle.back() : idle.front();
            if (!expired(s)) return s;
            destroy(s, DestroyReason::lifetime);
        }
        return 0;
    }
    void lend(std::uint64_t s)
    {
        idle.erase(std::remove(idle.begin(), idle.end(), s), idle.end());
        get(s).leased = get(s).ours = true;
        held.push_back(s);
        ++acquired;
    }
    /// What acquire returns: a serial, or 0 for a timeout. `creates` says a
    /// creation is due (the test then gives the call time).
    std::uint64_t acquire()
    {
        if (paused) {
            ++timeouts;
            return 0;
        }
        if (const std::uint64_t s = take_idle()) {
            lend(s);
            return s;
        }
        if (live.size() >= max_size) {
            ++timeouts;
            return 0;
        }
        const std::uint64_t s = next_serial++;
        live.push_back(Resource{s, now});
        ++created;
        lend(s);
        return s;
    }
    bool would_create()
    {
        if (paused) return false;
        Model copy = *this;
        return copy.take_idle() == 0 && copy.live.size() < max_size;
    }
    std::uint64_t try_acquire()
    {
        if (paused) return 0;
        const std::uint64_t s = take_idle();
        if (s) lend(s);
        return s;
    }
    void release(std::size_t i, bool broken)
    {
        const std::uint64_t s = held[i];
        held.erase(held.begin() + static_cast<long>(i));
        Resource& r = get(s);
        r.leased = false;
        // A resource already retiring goes for the first reason given.
        if (r.retiring) return destroy(s, DestroyReason::retired);
        if (broken) return destroy(s, DestroyReason::broken);
        if (staying() > max_size) return destroy(s, DestroyReason::retired);
        if (expired(s)) return destroy(s, DestroyReason::lifetime);
        make_idle(s, now);
        if (idle.size() > max_size) destroy(s, DestroyReason::idle);  // max_idle follows max_size
    }
    void maintenance()
    {
        for (std::size_t i = idle.size(); i-- > 0;)
            if (expired(idle[i])) destroy(idle[i], DestroyReason::lifetime);
        while (!idle.empty() && now - get(idle.front()).idle_since >= idle_timeout)
            destroy(idle.front(), DestroyReason::idle);
    }
    void resize(std::size_t n)
    {
        max_size = n;
        while (staying() > max_size && !idle.empty()) destroy(idle.front(), DestroyReason::retired);
    }
    void retire_all()
    {
        while (!idle.empty()) destroy(idle.front(), DestroyReason::retired);
        for (Resource& r : live) r.retiring = true;
    }
};

struct Outcome {
    bool ok = true;
    std::size_t failed_step = 0;
    std::string what;
};

std::vector<Step> generate(std::uint64_t seed, std::size_t length)
{
    std::mt19937_64 rng(seed);
    std::vector<Step> steps;
    for (std::size_t i = 0; i < length; ++i) {
        const int roll = static_cast<int>(rng() % 100);
        Step s{};
        if (roll < 25) s.op = Op::acquire;
        else if (roll < 35) s.op = Op::try_acquire;
        else if (roll < 58) s.op = Op::release, s.arg = static_cast<long>(rng() % 8);
        else if (roll < 63) s.op = Op::release_broken, s.arg = static_cast<long>(rng() % 8);
        else if (roll < 78) s.op = Op::advance, s.arg = static_cast<long>(rng() % 25'000);
        else if (roll < 88) s.op = Op::maintenance;
        else if (roll < 93) s.op = Op::resize, s.arg = static_cast<long>(1 + rng() % 5);
        else if (roll < 95) s.op = Op::retire_all;
        else if (roll < 97) s.op = Op::pause;
        else s.op = Op::resume;
        steps.push_back(s);
    }
    return steps;
}

Outcome run(const std::vector<Step>& steps, IdleOrder order)
{
    Fixture f;
    auto o = f.options(3);
    o.idle_order = order;
    o.max_lifetime = 60s;
    o.lifetime_jitter = 0;
    o.idle_timeout = 20s;
    o.validate_after_idle = std::chrono::hours(1000);
    o.circuit_breaker_threshold = 0;
    Model m{order, std::chrono::nanoseconds(60s).count(), std::chrono::nanoseconds(20s).count(), 3};
    std::vector<FakeLease> leases;  // parallel to m.held
    FakePool pool{f.adapter(), o};
    Outcome out;
    auto fail = [&](std::size_t i, std::string what) {
        out = Outcome{false, i, std::move(what)};
    };
    for (std::size_t i = 0; i < steps.size() && out.ok; ++i) {
        const Step& s = steps[i];
        switch (s.op) {
        case Op::acquire: {
            const bool creates = m.would_create();
            const std::uint64_t want = m.acquire();
            try {
                auto lease = pool.acquire({.timeout = creates ? 2000ms : 0ms});
                if (want == 0) fail(i, "acquire: got serial " + std::to_string(lease->serial) + ", model: timeout");
                else if (lease->serial != want)
                    fail(i, "acquire: got serial " + std::to_string(lease->serial) + ", model: " + std::to_string(want));
                leases.push_back(std::move(lease));
            } catch (const AcquireTimeout& e) {
                if (want != 0) fail(i, "acquire timed out, model: serial " + std::to_string(want) + ": " + e.what());
            }
            break;
        }
        case Op::try_acquire: {
            const std::uint64_t want = m.try_acquire();
            auto lease = pool.try_acquire();
            const std::uint64_t got = lease ? (*lease)->serial : 0;
            if (got != want) fail(i, "try_acquire: got " + std::to_string(got) + ", model: " + std::to_string(want));
            if (lease) leases.push_back(std::move(*lease));
            break;
        }
        case Op::release:
        case Op::release_broken: {
            if (leases.empty()) break;
            const std::size_t k = static_cast<std::size_t>(s.arg) % leases.size();
            if (s.op == Op::release_broken) leases[k].mark_broken();
            leases.erase(leases.begin() + static_cast<long>(k));
            m.release(k, s.op == Op::release_broken);
            break;
        }
        case Op::advance:
            f.clock->advance(std::chrono::milliseconds(s.arg));
            m.now += std::chrono::nanoseconds(std::chrono::milliseconds(s.arg)).count();
            break;
        case Op::maintenance:
            pool.run_maintenance();
            m.maintenance();
            break;
        case Op::resize:
            pool.resize(static_cast<std::size_t>(s.arg));
            m.resize(static_cast<std::size_t>(s.arg));
            break;
        case Op::retire_all:
            pool.retire_all();
            m.retire_all();
            break;
        case Op::pause:
            pool.pause();
            m.paused = true;
            break;
        case Op::resume:
            pool.resume();
            m.paused = false;
            break;
        }
        if (!out.ok) break;
        const auto st = pool.stats();
        std::ostringstream diff;
        const auto cmp = [&](const char* name, std::uint64_t got, std::uint64_t want) {
            if (got != want) diff << " " << name << " " << got << " (model " << want << ")";
        };
        cmp("total", st.total, m.live.size());
        cmp("idle", st.idle, m.idle.size());
        cmp("in_use", st.in_use, m.held.size());
        cmp("created", st.created, m.created);
        cmp("acquired", st.acquired, m.acquired);
        cmp("timeouts", st.timeouts, m.timeouts);
        for (int r = 0; r < static_cast<int>(destroy_reason_count); ++r)
            cmp(("destroyed[" + std::string(to_string(static_cast<DestroyReason>(r))) + "]").c_str(), st.destroyed.by_reason[r],
                m.destroyed.by_reason[r]);
        cmp("fake live", static_cast<std::uint64_t>(f.fake->live()), m.live.size());
        if (!diff.str().empty()) fail(i, "stats after the step differ:" + diff.str());
    }
    leases.clear();
    pool.close();
    if (out.ok && !f.fake->violations().empty()) fail(steps.size(), "the fake saw misuse: " + f.fake->violations()[0]);
    return out;
}

/// Drops steps while the failure persists: a short trace to read.
std::vector<Step> shrink(std::vector<Step> steps, IdleOrder order)
{
    steps.resize(run(steps, order).failed_step + 1);
    for (std::size_t i = 0; i < steps.size();) {
        auto shorter = steps;
        shorter.erase(shorter.begin() + static_cast<long>(i));
        if (!shorter.empty() && !run(shorter, order).ok) steps = std::move(shorter);
        else ++i;
    }
    return steps;
}

void check_seeds(IdleOrder order, std::uint64_t first, std::uint64_t count, std::size_t length)
{
    std::uint64_t passed = 0;
    for (std::uint64_t seed = first; seed < first + count; ++seed) {
        const auto steps = generate(seed, length);
        const Outcome out = run(steps, order);
        if (out.ok) {
            ++passed;
            continue;
        }
        const auto trace = shrink(steps, order);
        std::string text;
        for (const Step& s : trace) text += "\n  " + describe(s);
        const Outcome last = run(trace, order);
        FAIL("seed " << seed << ": " << last.what << "\nshortest failing trace (" << trace.size() << " steps):" << text);
    }
    CHECK(passed == count);
}

} // namespace

TEST_CASE("model: LIFO with thread affinity")
{
    check_seeds(IdleOrder::lifo, 1, 400, 150);
}

TEST_CASE("model: FIFO")
{
    check_seeds(IdleOrder::fifo, 1001, 400, 150);
}

} // namespace respool::test
