// main() of the network-fault tests: the process enters a network namespace
// of its own before doctest (or any thread) starts, or the test is SKIPPED
// (exit code 77, which meson counts as skipped, never as passed).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "support/netns.hpp"

int main(int argc, char** argv)
{
    std::string why;
    if (!respool::test::enter_private_netns(why)) {
        std::fprintf(stderr, "SKIPPED: network-fault tests need a network namespace of their own: %s\n", why.c_str());
        return 77;
    }
    doctest::Context context(argc, argv);
    return context.run();
}
