// ChannelAdapter over TLS, with certificates generated for this run
// (TestPki): a trusted server, mutual TLS, and the ways verification must
// fail — wrong host name, unknown CA, expired — each with a clear error
// within the deadline that never contains the client's private key.
#include <doctest/doctest.h>

#include <string>

#include <respool/grpc.hpp>

#include "grpc_test_util.hpp"
#include "support/grpc_echo_server.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

using namespace std::chrono_literals;
using respool::grpc::ChannelAdapter;
using respool::grpc::ChannelError;
using respool::grpc::ChannelOptions;
using respool::grpc::TlsOptions;
using respool::test::GrpcEchoServer;
using respool::test::read_file;
using respool::test::say;
using respool::test::Stopwatch;
using respool::test::TestPki;

namespace {

ChannelOptions tls_options(const TestPki& pki)
{
    ChannelOptions o;
    o.tls = TlsOptions{.root_certs_pem = read_file(pki.ca_cert)};
    return o;
}

// The target by name, so the host name check has something to check.
std::string by_name(const GrpcEchoServer& server)
{
    return "localhost:" + std::to_string(server.port());
}

// A create that must fail verification: within its deadline, saying why.
std::string verification_failure(ChannelAdapter& adapter)
{
    Stopwatch watch;
    try {
        adapter.create(respool::deadline_after(700ms));
    } catch (const ChannelError& e) {
        CHECK(respool::test::within(watch.elapsed(), 700ms, 700ms));
        CHECK(e.kind() == ChannelError::Kind::not_ready);
        CHECK(e.last_state() == GRPC_CHANNEL_TRANSIENT_FAILURE);
        return e.what();
    }
    FAIL("a channel was made despite a certificate that must not verify");
    return {};
}

} // namespace

TEST_CASE("TLS: a server certificate signed by the trusted CA for the right name")
{
    TestPki pki;
    GrpcEchoServer server{{.cert_file = pki.server_cert, .key_file = pki.server_key}};

    SUBCASE("by host name")
    {
        ChannelAdapter adapter{by_name(server), tls_options(pki)};
        auto channel = adapter.create(respool::deadline_after(3s));
        CHECK(say(channel.channel(), "over tls").reply.message() == "over tls");
    }
    SUBCASE("by IP address, with the expected name overridden")
    {
        ChannelOptions o = tls_options(pki);
        o.tls->target_name_override = "localhost";
        ChannelAdapter adapter{server.address(), o};
        auto channel = adapter.create(respool::deadline_after(3s));
        CHECK(say(channel.channel(), "x").status.ok());
    }
    SUBCASE("plaintext to a TLS server fails at the deadline")
    {
        ChannelOptions o;
        o.insecure = true;
        ChannelAdapter adapter{by_name(server), o};
        CHECK_THROWS_AS(adapter.create(respool::deadline_after(500ms)), ChannelError);
    }
}

TEST_CASE("TLS: a certificate for the wrong host name fails with a clear error")
{
    TestPki pki;
    GrpcEchoServer server{{.cert_file = pki.wrong_host_cert, .key_file = pki.wrong_host_key}};
    ChannelAdapter adapter{by_name(server), tls_options(pki)};
    const std::string what = verification_failure(adapter);
    CHECK(what.find(by_name(server)) != std::string::npos);
    CHECK_MESSAGE(what.find("Peer name localhost is not in peer certificate") != std::string::npos, what);
}

TEST_CASE("TLS: certificates that must not verify")
{
    TestPki pki;
    SUBCASE("signed by a CA nobody trusts")
    {
        GrpcEchoServer server{{.cert_file = pki.other_ca_server_cert, .key_file = pki.other_ca_server_key}};
        ChannelAdapter adapter{by_name(server), tls_options(pki)};
        const std::string what = verification_failure(adapter);
        CHECK_MESSAGE(what.find("Ssl handshake failed") != std::string::npos, what);
    }
    SUBCASE("expired")
    {
        GrpcEchoServer server{{.cert_file = pki.expired_cert, .key_file = pki.expired_key}};
        ChannelAdapter adapter{by_name(server), tls_options(pki)};
        verification_failure(adapter);
    }
    SUBCASE("self-signed")
    {
        GrpcEchoServer server{{.cert_file = pki.self_signed_cert, .key_file = pki.self_signed_key}};
        ChannelAdapter adapter{by_name(server), tls_options(pki)};
        verification_failure(adapter);
    }
}

TEST_CASE("TLS: mutual authentication with a client certificate")
{
    TestPki pki;
    GrpcEchoServer server{{.cert_file = pki.server_cert,
                           .key_file = pki.server_key,
                           .client_ca_file = pki.ca_cert}};
    ChannelOptions o = tls_options(pki);

    SUBCASE("with the client certificate and key")
    {
        o.tls->cert_chain_pem = read_file(pki.client_cert);
        o.tls->private_key_pem = read_file(pki.client_key);
        ChannelAdapter adapter{by_name(server), o};
        auto channel = adapter.create(respool::deadline_after(3s));
        CHECK(say(channel.channel(), "mtls").status.ok());
    }
    SUBCASE("without one the server refuses, and no error shows the key")
    {
        ChannelAdapter adapter{by_name(server), o};
        verification_failure(adapter);
    }
    SUBCASE("with a certificate the server does not trust; the key stays secret")
    {
        const std::string key = read_file(pki.other_ca_server_key);
        o.tls->cert_chain_pem = read_file(pki.other_ca_server_cert);
        o.tls->private_key_pem = key;
        ChannelAdapter adapter{by_name(server), o};
        const std::string what = verification_failure(adapter);
        CHECK(what.find(key.substr(40, 30)) == std::string::npos);
        CHECK(what.find("PRIVATE KEY") == std::string::npos);
        CHECK(respool::grpc::describe(adapter.options()).find(key.substr(40, 30)) == std::string::npos);
    }
}
