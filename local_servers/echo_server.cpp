#include "echo_server.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include "net_util.hpp"

namespace respool::test {

namespace {

using Clock = std::chrono::steady_clock;
using Behaviour = EchoServerOptions::Behaviour;
using detail::Fd;
using SslPtr = std::unique_ptr<SSL, decltype(&SSL_free)>;
using CtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

constexpr std::size_t max_pending = std::size_t{1} << 20;  // unsent echo, then stop reading

int to_openssl(EchoServerOptions::TlsVersion v)
{
    switch (v) {
    case EchoServerOptions::TlsVersion::tls1_0: return TLS1_VERSION;
    case EchoServerOptions::TlsVersion::tls1_1: return TLS1_1_VERSION;
    case EchoServerOptions::TlsVersion::tls1_2: return TLS1_2_VERSION;
    case EchoServerOptions::TlsVersion::tls1_3: return TLS1_3_VERSION;
    }
    return TLS1_2_VERSION;
}

[[noreturn]] void tls_fail(const std::string& what)
{
    char reason[256] = "unknown error";
    if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    throw std::runtime_error("EchoServer: " + what + ": " + reason);
}

struct Conn {
    Fd fd;
    SslPtr ssl{nullptr, SSL_free};
    bool handshaking = false;
    bool want_write = false;  // the last TLS operation needs the socket writable
    std::string out;          // owed to the client
    Clock::time_point last_active;
    bool dead = false;
};

/// The outcome of one read or write on a connection.
enum class Io { done, again, eof, error };

/// Ends a connection politely: TLS close_notify (best effort), then FIN.
void finish(Conn& c)
{
    if (c.dead || !c.fd) return void(c.dead = true);  // already closed: its fd number may be reused
    if (c.ssl && !c.handshaking) {
        ERR_clear_error();
        SSL_shutdown(c.ssl.get());
        ERR_clear_error();
    }
    detail::close_gracefully(c.fd);
    c.dead = true;
}

} // namespace

struct EchoServer::Impl {
    EchoServerOptions opt;
    Fd listener;
    std::vector<Fd> fillers;  // never_accept: the connections filling the backlog
    std::uint16_t port = 0;
    CtxPtr ctx{nullptr, SSL_CTX_free};
    detail::LoopCommands commands;
    std::vector<std::unique_ptr<Conn>> conns;  // loop thread only
    detail::AcceptCounter accepted;
    std::atomic<std::size_t> open{0}, handshake_failures{0};
    mutable std::mutex sni_mutex;
    std::string sni;
    std::thread thread;

    void make_tls_context();
    void fill_backlog();
    void loop();
    void accept_new();
    void service(Conn& c);
    void handshake(Conn& c);
    Io read_some(Conn& c, char* buf, std::size_t len, std::size_t& got);
    void read_all(Conn& c);
    void write_all(Conn& c);
    int poll_timeout(Clock::time_point now) const;
    void sweep();
};

void EchoServer::Impl::make_tls_context()
{
    ctx.reset(SSL_CTX_new(TLS_server_method()));
    if (!ctx) tls_fail("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(ctx.get(), to_openssl(opt.min_tls));
    SSL_CTX_set_max_proto_version(ctx.get(), to_openssl(opt.max_tls));
    if (opt.min_tls < EchoServerOptions::TlsVersion::tls1_2) {
        // Old protocol versions are refused at the default security level.
        SSL_CTX_set_security_level(ctx.get(), 0);
        SSL_CTX_set_cipher_list(ctx.get(), "DEFAULT:@SECLEVEL=0");
    }
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), opt.cert_file.c_str()) != 1)
        tls_fail("certificate " + opt.cert_file);
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), opt.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
        tls_fail("private key " + opt.key_file);
    if (!opt.client_ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx.get(), opt.client_ca_file.c_str(), nullptr) != 1)
            tls_fail("client CA " + opt.client_ca_file);
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_tlsext_servername_arg(ctx.get(), this);
    SSL_CTX_set_tlsext_servername_callback(ctx.get(), +[](SSL* ssl, int*, void* arg) -> int {
        auto* self = static_cast<Impl*>(arg);
        const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        std::lock_guard lock(self->sni_mutex);
        self->sni = name ? name : "";
        return SSL_TLSEXT_ERR_OK;
    });
}

void EchoServer::Impl::fill_backlog()
{
    // With backlog 0 the accept queue holds one connection; once it is full
    // the kernel drops further SYNs, so later clients hang in SYN_SENT.
    auto to = detail::resolve_one(opt.ipv6 ? "::1" : "127.0.0.1", port);
    for (int i = 0; i < 8; ++i) {
        Fd fd = detail::connect_nonblocking(to);
        pollfd p{fd.get(), POLLOUT, 0};
        bool completed = ::poll(&p, 1, 100) == 1;
        fillers.push_back(std::move(fd));
        if (!completed) return;
    }
    throw std::runtime_error("EchoServer: could not fill the listen backlog");
}

void EchoServer::Impl::loop()
{
    // OpenSSL's socket BIO writes with write(2): a client that went away would
    // raise SIGPIPE. Block it on this thread only, so the tests still catch
    // any SIGPIPE the client side (the code under test) causes.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    std::vector<pollfd> fds;
    for (;;) {
        sweep();
        fds.assign({{commands.fd(), POLLIN, 0}, {listener.get(), POLLIN, 0}});
        if (opt.behaviour == Behaviour::never_accept) fds[1].fd = -1;
        for (auto& c : conns) {
            short ev = c->out.size() < max_pending ? POLLIN : 0;
            if (!c->out.empty() || c->want_write) ev |= POLLOUT;
            fds.push_back({c->fd.get(), ev, 0});
        }
        if (::poll(fds.data(), fds.size(), poll_timeout(Clock::now())) < 0 && errno != EINTR) return;
        if (fds[0].revents) {
            if (!commands.drain()) return;
            continue;  // commands may have changed the connection table
        }
        std::size_t n = conns.size();  // accept_new appends
        if (fds[1].revents) accept_new();
        auto now = Clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            Conn& c = *conns[i];
            if (fds[2 + i].revents) {
                c.last_active = now;
                service(c);
            } else if (opt.close_idle_after.count() > 0 && now - c.last_active >= opt.close_idle_after) {
                finish(c);
            }
        }
    }
}

void EchoServer::Impl::accept_new()
{
    for (;;) {
        int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        auto c = std::make_unique<Conn>();
        c->fd.reset(fd);
        c->last_active = Clock::now();
        accepted.add();
        if (opt.tls && opt.behaviour != Behaviour::silent) {
            c->ssl.reset(SSL_new(ctx.get()));
            if (!c->ssl || SSL_set_fd(c->ssl.get(), fd) != 1) continue;  // drops the connection
            c->handshaking = true;
        } else if (opt.behaviour == Behaviour::garbage) {
            c->out = opt.garbage;
        }
        conns.push_back(std::move(c));
        service(*conns.back());
    }
}

void EchoServer::Impl::service(Conn& c)
{
    if (c.handshaking) handshake(c);
    if (c.dead || c.handshaking) return;
    read_all(c);
    if (!c.dead) write_all(c);
}

void EchoServer::Impl::handshake(Conn& c)
{
    ERR_clear_error();
    int rc = SSL_accept(c.ssl.get());
    if (rc == 1) {
        c.handshaking = false;
        c.want_write = false;
        if (opt.behaviour == Behaviour::garbage) c.out = opt.garbage;
        return;
    }
    int err = SSL_get_error(c.ssl.get(), rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        c.want_write = err == SSL_ERROR_WANT_WRITE;
        return;
    }
    ERR_clear_error();
    ++handshake_failures;
    detail::close_gracefully(c.fd);
    c.dead = true;
}

Io EchoServer::Impl::read_some(Conn& c, char* buf, std::size_t len, std::size_t& got)
{
    if (!c.ssl) {
        ssize_t n = ::recv(c.fd.get(), buf, len, MSG_DONTWAIT);
        if (n > 0) return got = static_cast<std::size_t>(n), Io::done;
        if (n == 0) return Io::eof;
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? Io::again : Io::error;
    }
    ERR_clear_error();
    int rc = SSL_read(c.ssl.get(), buf, static_cast<int>(len));
    if (rc > 0) return got = static_cast<std::size_t>(rc), Io::done;
    switch (SSL_get_error(c.ssl.get(), rc)) {
    case SSL_ERROR_WANT_READ: return Io::again;
    case SSL_ERROR_WANT_WRITE: c.want_write = true; return Io::again;
    case SSL_ERROR_ZERO_RETURN: return Io::eof;
    default: ERR_clear_error(); return Io::error;
    }
}

void EchoServer::Impl::read_all(Conn& c)
{
    char buf[16384];
    while (c.out.size() < max_pending) {
        std::size_t got = 0;
        switch (read_some(c, buf, sizeof buf, got)) {
        case Io::done:
            if (opt.behaviour == Behaviour::echo) c.out.append(buf, got);
            else if (opt.behaviour == Behaviour::garbage) c.out += opt.garbage;
            break;
        case Io::again: return;
        case Io::eof:
            write_all(c);  // the echo of what came before the FIN, if it fits now
            finish(c);
            return;
        case Io::error:
            detail::close_with_reset(c.fd);
            c.dead = true;
            return;
        }
    }
}

void EchoServer::Impl::write_all(Conn& c)
{
    c.want_write = false;
    while (!c.out.empty() && !c.dead) {
        if (!c.ssl) {
            ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) c.out.erase(0, static_cast<std::size_t>(n));
            else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            else c.dead = true;
            continue;
        }
        ERR_clear_error();
        int rc = SSL_write(c.ssl.get(), c.out.data(), static_cast<int>(c.out.size()));
        if (rc > 0) {
            c.out.erase(0, static_cast<std::size_t>(rc));
            continue;
        }
        int err = SSL_get_error(c.ssl.get(), rc);
        if (err == SSL_ERROR_WANT_WRITE) c.want_write = true;
        if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) return;
        ERR_clear_error();
        c.dead = true;
    }
    if (c.dead) detail::close_with_reset(c.fd);
}

int EchoServer::Impl::poll_timeout(Clock::time_point now) const
{
    if (opt.close_idle_after.count() <= 0 || conns.empty()) return -1;
    auto next = Clock::time_point::max();
    for (auto& c : conns) next = std::min(next, c->last_active + opt.close_idle_after);
    if (next <= now) return 0;
    return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(next - now).count());
}

void EchoServer::Impl::sweep()
{
    std::erase_if(conns, [](const auto& c) { return c->dead; });
    open = conns.size();
}

EchoServer::EchoServer(EchoServerOptions options) : impl_(std::make_unique<Impl>())
{
    Impl& im = *impl_;
    im.opt = std::move(options);
    if (im.opt.tls) im.make_tls_context();
    bool never = im.opt.behaviour == Behaviour::never_accept;
    im.listener = detail::listen_loopback(never ? 0 : 128, 0, im.opt.ipv6);
    im.port = detail::local_port(im.listener.get());
    if (never) im.fill_backlog();
    im.thread = std::thread([&im] { im.loop(); });
}

EchoServer::~EchoServer()
{
    impl_->commands.request_stop();
    impl_->thread.join();
}

std::uint16_t EchoServer::port() const noexcept { return impl_->port; }

void EchoServer::reset_all()
{
    impl_->commands.run([this] {
        for (auto& c : impl_->conns) {
            detail::close_with_reset(c->fd);
            c->dead = true;
        }
        impl_->sweep();
    });
}

void EchoServer::close_all()
{
    impl_->commands.run([this] {
        for (auto& c : impl_->conns) finish(*c);
        impl_->sweep();
    });
}

std::size_t EchoServer::accepted() const noexcept { return impl_->accepted.count(); }
std::size_t EchoServer::open() const noexcept { return impl_->open; }
std::size_t EchoServer::handshake_failures() const noexcept { return impl_->handshake_failures; }

std::string EchoServer::last_sni() const
{
    std::lock_guard lock(impl_->sni_mutex);
    return impl_->sni;
}

bool EchoServer::wait_accepted(std::size_t n, std::chrono::milliseconds timeout) const
{
    return impl_->accepted.wait_for(n, timeout);
}

} // namespace respool::test
