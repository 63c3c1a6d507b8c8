// The gRPC adapter as one of the family (issue 23): `Adapter{Options}` with
// the target in Options, the shorthand taking the target alone, errors that
// are `respool::AdapterError`s in their own category, and the names before
// 0.2 still compiling as deprecated aliases.
#include <doctest/doctest.h>

#include <string>
#include <type_traits>

#include <respool/grpc.hpp>  // alone: it brings <respool/pool.hpp> too

#include "grpc_test_util.hpp"

using namespace std::chrono_literals;

static_assert(std::is_base_of_v<respool::AdapterError, respool::grpc::Error>);
static_assert(respool::Adapter<respool::grpc::Adapter>);

TEST_CASE("Adapter{Options}: the target is an option, and an empty one names the field")
{
    respool::grpc::Options o = respool::test::insecure_options();
    o.logger = [](respool::LogLevel, std::string_view) {};
    try {
        respool::grpc::Adapter adapter{o};
        FAIL("an empty target was accepted");
    } catch (const respool::InvalidOptions& e) {
        CHECK(e.field() == "target");
        CHECK(std::string(e.what()).find("respool::grpc::Options::target") != std::string::npos);
    }
    o.target = "127.0.0.1:1";
    respool::grpc::Adapter adapter{o};
    CHECK(adapter.target() == "127.0.0.1:1");
    CHECK(respool::grpc::describe(adapter.options()).find("target='127.0.0.1:1'") != std::string::npos);
}

TEST_CASE("Adapter{target}: the shorthand is TLS with grpc's default roots")
{
    respool::grpc::Adapter adapter{std::string("api.example.invalid:443")};
    CHECK(adapter.target() == "api.example.invalid:443");
    CHECK(adapter.options().tls.has_value());
    CHECK_FALSE(adapter.options().insecure);
}

TEST_CASE("Error: an AdapterError with operation, endpoint, fatal and its own category")
{
    auto adapter = respool::test::adapter_for("127.0.0.1:1", respool::test::insecure_options());  // refused
    try {
        (void)adapter.create(respool::deadline_after(300ms));
        FAIL("create succeeded");
    } catch (const respool::AdapterError& e) {
        CHECK(e.operation() == "connect");
        CHECK(e.endpoint() == "127.0.0.1:1");
        CHECK_FALSE(e.fatal());
        CHECK(e.code().category() == respool::grpc::error_category());
        CHECK(std::string(e.code().category().name()) == "respool.grpc");
        CHECK(e.code() == respool::grpc::make_error_code(respool::grpc::Error::Kind::not_ready));
        const auto* g = dynamic_cast<const respool::grpc::Error*>(&e);
        REQUIRE(g != nullptr);
        CHECK(g->target() == "127.0.0.1:1");
        CHECK(respool::grpc::to_string(g->kind()) == "not_ready");
    }
    const respool::grpc::Error tls(respool::grpc::Error::Kind::tls, "x", "h:1", GRPC_CHANNEL_TRANSIENT_FAILURE,
                                   "Handshake failed");
    CHECK(tls.fatal());
    CHECK(adapter.is_fatal(tls));
}

// The names before 0.2 must still compile (with a deprecation warning), for one release.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
TEST_CASE("the names before 0.2 still compile: ChannelAdapter, ChannelOptions, ChannelError")
{
    respool::grpc::ChannelOptions o;
    o.insecure = true;
    o.logger = [](respool::LogLevel, std::string_view) {};
    respool::grpc::ChannelAdapter adapter{"127.0.0.1:1", o};
    CHECK(adapter.target() == "127.0.0.1:1");
    static_assert(std::is_same_v<respool::grpc::ChannelAdapter, respool::grpc::Adapter>);
    static_assert(std::is_same_v<respool::grpc::ChannelError, respool::grpc::Error>);
    CHECK_THROWS_AS(adapter.create(respool::deadline_after(100ms)), respool::grpc::ChannelError);
}
#pragma GCC diagnostic pop
