#include <doctest/doctest.h>

#include <functional>
#include <limits>
#include <string>

#include "fixtures.hpp"

using namespace respool;
using namespace respool::test;

namespace {
struct BadOption {
    const char* field;
    std::function<void(PoolOptions&)> set;
};

std::string rejection(const PoolOptions& o, std::shared_ptr<FakeController> fake)
{
    try {
        FakePool pool{FakeAdapter{fake}, o};
    } catch (const InvalidOptions& e) {
        CHECK(e.code() == make_error_code(errc::invalid_options));
        CHECK(std::string(e.code().category().name()) == "respool");
        return e.field() + "|" + e.what();
    }
    return "accepted";
}
} // namespace

TEST_CASE("every invalid option is rejected before any thread starts, naming its field")
{
    const std::vector<BadOption> cases = {
        {"name", [](PoolOptions& o) { o.name = ""; }},
        {"max_size", [](PoolOptions& o) { o.max_size = 0; }},
        {"min_idle", [](PoolOptions& o) { o.max_size = 4; o.min_idle = 5; }},
        {"max_idle", [](PoolOptions& o) { o.max_size = 4; o.max_idle = 6; }},
        {"max_idle", [](PoolOptions& o) { o.min_idle = 3; o.max_idle = 2; }},
        {"acquire_timeout", [](PoolOptions& o) { o.acquire_timeout = 0ms; }},
        {"acquire_timeout", [](PoolOptions& o) { o.acquire_timeout = -5ms; }},
        {"acquire_timeout", [](PoolOptions& o) { o.acquire_timeout = std::chrono::milliseconds::max(); }},
        {"fairness_window", [](PoolOptions& o) { o.fairness_window = -1us; }},
        {"max_concurrent_creates", [](PoolOptions& o) { o.max_concurrent_creates = 0; }},
        {"create_timeout", [](PoolOptions& o) { o.create_timeout = 0ms; }},
        {"validate_after_idle", [](PoolOptions& o) { o.validate_after_idle = -1ms; }},
        {"validation_timeout", [](PoolOptions& o) { o.validation_timeout = 0ms; }},
        {"idle_timeout", [](PoolOptions& o) { o.idle_timeout = -1ms; }},
        {"max_lifetime", [](PoolOptions& o) { o.max_lifetime = -1ms; }},
        {"lifetime_jitter", [](PoolOptions& o) { o.lifetime_jitter = 0.7; }},
        {"lifetime_jitter", [](PoolOptions& o) { o.lifetime_jitter = std::numeric_limits<double>::quiet_NaN(); }},
        {"idle_timeout", [](PoolOptions& o) { o.idle_timeout = 20min; o.max_lifetime = 10min; }},
        {"leak_threshold", [](PoolOptions& o) { o.leak_threshold = 30min; o.max_lifetime = 30min; }},
        {"drain_timeout", [](PoolOptions& o) { o.drain_timeout = -1ms; }},
        {"housekeeping_interval", [](PoolOptions& o) { o.housekeeping_interval = 0ms; }},
        {"max_tracked_sites", [](PoolOptions& o) { o.max_tracked_sites = 0; }},
    };
    for (const BadOption& c : cases) {
        CAPTURE(c.field);
        auto fake = std::make_shared<FakeController>();
        PoolOptions o;
        o.min_idle = 0;
        c.set(o);
        if (std::string(c.field) != "min_idle" && std::string(c.field) != "max_idle") o.min_idle = 0;
        const std::string r = rejection(o, fake);
        REQUIRE(r != "accepted");
        CHECK(r.substr(0, r.find('|')) == c.field);
        CHECK(r.find(std::string("PoolOptions.") + c.field) != std::string::npos);
        CHECK(fake->create_calls() == 0);
    }
}

TEST_CASE("the defaults are valid and production-minded")
{
    const PoolOptions o;
    CHECK_NOTHROW(detail::validate_options(o));
    CHECK(o.acquire_timeout == 30s);
    CHECK(o.idle_timeout == 10min);
    CHECK(o.max_lifetime == 30min);
    // Issue 24: a dead idle connection costs a borrower at most a short
    // validation, and background checks find it first.
    CHECK(o.validation_timeout == 2s);
    CHECK(o.validation_timeout < o.acquire_timeout);
    CHECK(o.keepalive_interval == 30s);
    CHECK(o.circuit_failure_window == 2s);
    CHECK(o.fairness_window == 1ms);
    CHECK(o.leak_mode == LeakMode::report);
}

TEST_CASE("zero means off where the field says so")
{
    PoolOptions o;
    o.idle_timeout = 0ms;
    o.max_lifetime = 0ms;
    o.leak_threshold = 0ms;
    o.fairness_window = 0us;
    o.validate_after_idle = 0ms;
    CHECK_NOTHROW(detail::validate_options(o));
}
