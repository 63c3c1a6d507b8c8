// The adapter's millisecond options become deadlines without overflow
// (issue 11 item 8): milliseconds::max() as query_timeout or reset_timeout
// means "no deadline". Built with -fsanitize=undefined and no recovery (see
// meson.build), so a signed overflow in the arithmetic fails the test even
// where the wrapped-around result would happen to look right.
#include <doctest/doctest.h>

#include <chrono>

#include "wait.hpp"

using namespace std::chrono_literals;
using respool::Deadline;
using respool::pg::detail::deadline_in;
using std::chrono::milliseconds;

TEST_CASE("deadline_in saturates at Deadline::max()")
{
    const Deadline now = respool::SteadyClock::now();
    CHECK(deadline_in(milliseconds::max(), now) == Deadline::max());
    CHECK(deadline_in(milliseconds(milliseconds::max().count() - 1), now) == Deadline::max());
    CHECK(deadline_in(std::chrono::duration_cast<milliseconds>(std::chrono::hours(24 * 365 * 1000)), now) ==
          Deadline::max());
    CHECK(deadline_in(milliseconds::max(), Deadline::max()) == Deadline::max());
    CHECK(deadline_in(1ms, Deadline::max() - 1ns) == Deadline::max());
}

TEST_CASE("deadline_in is now + timeout for ordinary values, now for zero or less")
{
    const Deadline now = respool::SteadyClock::now();
    CHECK(deadline_in(5ms, now) == now + 5ms);
    CHECK(deadline_in(std::chrono::duration_cast<milliseconds>(std::chrono::hours(24 * 365)), now) ==
          now + std::chrono::hours(24 * 365));
    CHECK(deadline_in(0ms, now) == now);
    CHECK(deadline_in(-5ms, now) == now);
    CHECK(deadline_in(milliseconds::min(), now) == now);
}
