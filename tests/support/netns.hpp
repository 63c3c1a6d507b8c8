// netns.hpp — real network faults for tests, in a network namespace of the
// test's own (tests only).
//
// `enter_private_netns()` moves the test process, before it starts any
// thread, into a new network namespace with only its loopback up. Servers the
// test then starts (the throwaway PostgreSQL cluster, an echo server) and its
// clients talk over that loopback, so the faults below touch nothing outside
// the namespace and vanish with the process. It needs CAP_SYS_ADMIN (root in
// most containers) and the `nft` program; where either is missing it says
// why, and the test's main exits 77 (meson counts it SKIPPED, never passed).
//
// `NetFault` installs nftables rules in the namespace, on the input hook of
// loopback, for one TCP port (both directions):
//   - blackhole: every packet to or from the port is dropped, without an
//     answer: connects hang in SYN_SENT, established connections go silent,
//     and only timeouts (the kernel's keepalive and user timeout, the
//     adapters' deadlines) can tell.
//   - reset: every packet to or from the port (but resets) is answered with a
//     TCP reset: connects are refused, established connections break at their
//     next packet.
// Dropping on input (not output) keeps the sender unaware: an output drop
// would return EPERM to the sending call at once, which no real network does.
//
//   int main(...) { ... if (!enter_private_netns(why)) return 77; ... }  // see netns_main.cpp
//   NetFault fault(port, NetFault::Kind::blackhole);  // removed by clear() or the destructor
#pragma once

#include <cstdint>
#include <string>

namespace respool::test {

/// Unshares the network namespace of the calling thread (call it before any
/// thread starts: threads made later inherit it) and brings loopback up.
/// False with the reason when the machine does not allow it.
bool enter_private_netns(std::string& why_not);

/// True once enter_private_netns succeeded in this process.
bool in_private_netns() noexcept;

/// One fault on one TCP port of the namespace's loopback. Throws
/// std::runtime_error (with nft's output) when the rules cannot be installed.
class NetFault {
public:
    enum class Kind { blackhole, reset };

    NetFault(std::uint16_t port, Kind kind);
    ~NetFault();
    NetFault(const NetFault&) = delete;
    NetFault& operator=(const NetFault&) = delete;

    /// Lifts the fault (idempotent): packets flow again.
    void clear();
    /// Packets the rules dropped or reset so far (proves the fault happened).
    std::uint64_t packets() const;

private:
    std::uint16_t port_;
    bool active_ = false;
};

} // namespace respool::test
