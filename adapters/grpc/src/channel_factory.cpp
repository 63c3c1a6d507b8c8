// Channel arguments and credentials from Options.
#include "channel_factory.hpp"

#include <grpcpp/create_channel.h>

#include "connection_guard.hpp"

namespace respool::grpc::detail {
namespace {

int to_int(std::chrono::milliseconds ms)
{
    return static_cast<int>(ms.count());  // check_options bounded it to INT_MAX
}

// Our defaults yield to any argument the user passes in extra_args: grpc
// keeps duplicate keys, so setting both would leave the winner unclear.
class ArgsBuilder {
public:
    explicit ArgsBuilder(const Options& o) : o_(o) {}

    void set(const char* key, int value)
    {
        if (!o_.extra_args.contains(key)) args_.SetInt(key, value);
    }
    void set(const char* key, const std::string& value)
    {
        if (!o_.extra_args.contains(key)) args_.SetString(key, value);
    }
    ::grpc::ChannelArguments finish()
    {
        for (const auto& [key, value] : o_.extra_args) {
            if (const int* i = std::get_if<int>(&value)) {
                args_.SetInt(key, *i);
            } else {
                args_.SetString(key, std::get<std::string>(value));
            }
        }
        return std::move(args_);
    }

private:
    const Options& o_;
    ::grpc::ChannelArguments args_;
};

::grpc::ChannelArguments make_arguments(const Options& o)
{
    ArgsBuilder b{o};
    // Without a local subchannel pool, channels with equal arguments share one
    // connection through grpc's global pool; the distinct id is set per channel.
    b.set(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    b.set(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, to_int(o.reconnect_initial_backoff));
    b.set(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, to_int(o.reconnect_max_backoff));
    // Both the time one attempt may take and the least time between attempts
    // (measured with 1.51); left at 20 s, it alone would delay reconnection.
    b.set(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, to_int(o.reconnect_min_backoff));
    if (o.keepalive_time.count() > 0) {
        b.set(GRPC_ARG_KEEPALIVE_TIME_MS, to_int(o.keepalive_time));
        b.set(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, to_int(o.keepalive_timeout));
        b.set(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, o.keepalive_permit_without_calls ? 1 : 0);
        // grpc stops pinging after 2 pings without data by default, which
        // would leave an idle channel's dead connection unnoticed.
        b.set(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    }
    if (o.max_send_message_size) b.set(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, *o.max_send_message_size);
    if (o.max_receive_message_size) {
        b.set(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, *o.max_receive_message_size);
    }
    if (!o.load_balancing_policy.empty()) {
        b.set(GRPC_ARG_LB_POLICY_NAME, o.load_balancing_policy);
    }
    if (o.tls && !o.tls->target_name_override.empty()) {
        b.set(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, o.tls->target_name_override);
    }
    return b.finish();
}

std::shared_ptr<::grpc::ChannelCredentials> make_credentials(const Options& o)
{
    if (o.credentials) return o.credentials;
    if (o.tls) {
        ::grpc::SslCredentialsOptions ssl;
        ssl.pem_root_certs = o.tls->root_certs_pem;
        ssl.pem_cert_chain = o.tls->cert_chain_pem;
        ssl.pem_private_key = o.tls->private_key_pem;
        return ::grpc::SslCredentials(ssl);
    }
    return ::grpc::InsecureChannelCredentials();
}

} // namespace

ChannelFactory::ChannelFactory(Options options) : options_(std::move(options))
{
    check_options(options_);
    args_ = make_arguments(options_);
    credentials_ = make_credentials(options_);
}

std::chrono::milliseconds ChannelFactory::connect_timeout() const
{
    // grpc.min_reconnect_backoff_ms, also when set through extra_args.
    const auto it = options_.extra_args.find(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS);
    if (it != options_.extra_args.end())
        if (const int* ms = std::get_if<int>(&it->second)) return std::chrono::milliseconds(*ms);
    return options_.reconnect_min_backoff;
}

std::shared_ptr<::grpc::Channel> ChannelFactory::make(std::uint64_t id, std::shared_ptr<ConnectionGuard>& guard) const
{
    ::grpc::ChannelArguments args = args_;
    args.SetString(channel_id_arg, std::to_string(id));
    guard = std::make_shared<ConnectionGuard>(ConnectionGuard::Settings{
        .connect_timeout = connect_timeout(),
        .tcp_keepalive_time = options_.tcp_keepalive_time,
        .tcp_user_timeout = options_.tcp_user_timeout,
    });
    guard->install(args);
    return ::grpc::CreateCustomChannel(options_.target, credentials_, args);
}

} // namespace respool::grpc::detail
