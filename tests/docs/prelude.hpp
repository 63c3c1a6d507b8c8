// What docs code blocks marked `declarations` or `statements` may assume
// (tests/docs/check_doc_code.py): the core's public headers, doctest, and — per
// block, with `needs(...)` — placeholders for the reader's own code. An
// adapter's header comes from the block's own #include (moved above this file). Keep
// them minimal and obviously fake: a doc block should need a name, not a
// behaviour. Placeholders are opt-in so a block may define the same name.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <doctest/doctest.h>  // first: <respool/testing.hpp> then defines RESPOOL_CHECK_NO_LEAKS

#include <respool/format.hpp>
#include <respool/listeners.hpp>
#include <respool/pool.hpp>
#include <respool/prometheus.hpp>
#include <respool/testing.hpp>
#include <respool/version.hpp>

using namespace std::chrono_literals;

// A connection of the reader's; MyAdapter's resource.
struct MyConnection {
    void query(const char*) {}
    void copy(int) {}
};

#if DOC_NEEDS_MY_ADAPTER
struct MyAdapter {
    using Resource = MyConnection;
    MyConnection create(respool::Deadline) { return {}; }
};
#endif

#if DOC_NEEDS_DB_POOL
using DbPool = respool::Pool<MyAdapter>;
#endif

#if DOC_NEEDS_KV_CONNECTION
// The README's key-value client.
struct KvConnection {
    static KvConnection connect(const char*, respool::Deadline) { return {}; }
    bool open() const { return true; }
    std::string get(const char*) { return {}; }
};
#endif

#if DOC_NEEDS_HANDLER
// The code under test in the testing examples.
template <class Pool>
void handle_request(Pool& pool)
{
    auto lease = pool.acquire();
}
#endif

#if DOC_NEEDS_APP
// Functions of the reader's application.
inline std::string secret_from_vault() { return {}; }
inline std::string read_pem(const char*) { return {}; }
inline std::string test_conninfo() { return {}; }
template <class... T>
void use(T&&...)
{
}
inline void my_log(respool::LogLevel, std::string_view) {}
struct LogShipper {
    void send(std::string_view) {}
};
inline LogShipper my_log_shipper;
#endif

#if DOC_NEEDS_GRPC_STUBS
#include <grpcpp/client_context.h>
#include <respool/grpc.hpp>
// What protoc generates for the services the gRPC examples call.
namespace orders {
struct Request {};
struct Reply {};
struct Orders {
    struct Stub {
        grpc::Status Get(grpc::ClientContext*, const Request&, Reply*) { return {}; }
    };
    static std::unique_ptr<Stub> NewStub(const std::shared_ptr<grpc::ChannelInterface>&) { return {}; }
};
} // namespace orders
namespace helloworld {
struct HelloRequest {};
struct HelloReply {};
struct Greeter {
    struct Stub {
        grpc::Status SayHello(grpc::ClientContext*, const HelloRequest&, HelloReply*) { return {}; }
    };
    static std::unique_ptr<Stub> NewStub(const std::shared_ptr<grpc::ChannelInterface>&) { return {}; }
};
} // namespace helloworld
#endif
