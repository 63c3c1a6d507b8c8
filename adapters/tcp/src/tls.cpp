#include "tls.hpp"

#include <cerrno>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <mutex>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <respool/error.hpp>
#include <respool/tcp/error.hpp>

#include "io.hpp"
#include "resolve.hpp"

namespace respool::tcp::detail {

namespace {

// OpenSSL's socket BIO writes with write(2), which raises SIGPIPE on a
// closed connection; a library must not kill its host process for that, so
// this BIO uses send(MSG_NOSIGNAL). The BIO's data pointer is the fd.
int bio_write(BIO* bio, const char* data, int len)
{
    BIO_clear_retry_flags(bio);
    auto fd = static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
    ssize_t n = ::send(fd, data, static_cast<std::size_t>(len), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(bio);
    return static_cast<int>(n);
}

int bio_read(BIO* bio, char* data, int len)
{
    BIO_clear_retry_flags(bio);
    auto fd = static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
    ssize_t n = ::recv(fd, data, static_cast<std::size_t>(len), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(bio);
    return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*)
{
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* bio)
{
    BIO_set_init(bio, 1);
    return 1;
}

BIO_METHOD* nosignal_bio_method()
{
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "respool socket");
        if (m == nullptr || !BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
            !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create))
            throw std::bad_alloc();
        return m;
    }();
    return method;
}

[[noreturn]] void invalid(const std::string& field, const std::string& what)
{
    throw InvalidOptions("respool::tcp::Options::" + field + ": " + what + ": " +
                             drain_openssl_errors(),
                         field);
}

/// What the passphrase callback was given and what happened to it.
struct PassphraseRequest {
    const std::string* passphrase;  // the configured one, possibly empty
    bool asked = false;             // OpenSSL found the key encrypted
};

int refuse_passphrase(char*, int, int, void*)
{
    return -1;
}

int give_passphrase(char* buf, int size, int, void* user)
{
    auto* req = static_cast<PassphraseRequest*>(user);
    req->asked = true;
    const std::string& p = *req->passphrase;
    if (p.empty() || p.size() > static_cast<std::size_t>(size)) return -1;
    std::memcpy(buf, p.data(), p.size());
    return static_cast<int>(p.size());
}

/// Loads the client key ourselves, never through OpenSSL's terminal prompt:
/// an encrypted key needs `tls.client_key_passphrase`; messages never show it.
void load_private_key(SSL_CTX* ctx, const TlsOptions& o)
{
    const std::string& file = o.client_key_file;
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(file.c_str(), "r"), BIO_free);
    if (!bio) invalid("tls.client_key_file", "cannot open '" + file + "'");
    PassphraseRequest req{&o.client_key_passphrase};
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, give_passphrase, &req), EVP_PKEY_free);
    if (!key) {
        if (req.asked && o.client_key_passphrase.empty())
            invalid("tls.client_key_passphrase",
                    "the key in '" + file + "' is encrypted: set tls.client_key_passphrase");
        if (req.asked)
            invalid("tls.client_key_passphrase",
                    "cannot decrypt the key in '" + file + "' with tls.client_key_passphrase (wrong passphrase?)");
        invalid("tls.client_key_file", "cannot load the key in '" + file + "'");
    }
    if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1)
        invalid("tls.client_key_file", "cannot use the key in '" + file + "'");
}

} // namespace

std::string drain_openssl_errors()
{
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        const char* reason = ERR_reason_error_string(e);
        if (!out.empty()) out += "; ";
        out += reason ? reason : "error " + std::to_string(ERR_GET_REASON(e));
    }
    return out.empty() ? "no further detail from OpenSSL" : out;
}

bool is_unexpected_eof() noexcept
{
    unsigned long e = ERR_peek_error();
    return ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

bool is_peer_alert() noexcept
{
    unsigned long e = ERR_peek_error();
    return ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) > SSL_AD_REASON_OFFSET;
}

TlsContext::TlsContext(const TlsOptions& o)
    : ctx_(SSL_CTX_new(TLS_client_method()), SSL_CTX_free), verify_(!o.insecure_skip_verify),
      hello_timeout_(o.hello_timeout)
{
    ERR_clear_error();
    if (!ctx_) invalid("tls", "cannot create an OpenSSL context");
    // OpenSSL's default asks on the terminal for any passphrase it needs: a
    // library must never do that (a blocked constructor, stdin read).
    SSL_CTX_set_default_passwd_cb(ctx_.get(), refuse_passphrase);
    int min = o.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(ctx_.get(), min);
    SSL_CTX_set_mode(ctx_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx_.get(), verify_ ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
    if (!o.ca_file.empty() || !o.ca_dir.empty()) {
        const char* file = o.ca_file.empty() ? nullptr : o.ca_file.c_str();
        const char* dir = o.ca_dir.empty() ? nullptr : o.ca_dir.c_str();
        if (SSL_CTX_load_verify_locations(ctx_.get(), file, dir) != 1)
            invalid(file ? "tls.ca_file" : "tls.ca_dir",
                    "cannot load CA certificates from '" + std::string(file ? file : dir) + "'");
    } else if (SSL_CTX_set_default_verify_paths(ctx_.get()) != 1) {
        invalid("tls.ca_file", "cannot load the system CA store");
    }
    if (!o.client_cert_file.empty()) {
        if (SSL_CTX_use_certificate_chain_file(ctx_.get(), o.client_cert_file.c_str()) != 1)
            invalid("tls.client_cert_file", "cannot load '" + o.client_cert_file + "'");
        load_private_key(ctx_.get(), o);
        if (SSL_CTX_check_private_key(ctx_.get()) != 1)
            invalid("tls.client_key_file", "the key in '" + o.client_key_file +
                                               "' does not match tls.client_cert_file");
    }
}

namespace {

/// The SSL object for one connection: our BIO, SNI and the name to verify.
SSL* new_ssl(const TlsContext& ctx, int fd, const std::string& name)
{
    SSL* ssl = SSL_new(ctx.get());
    BIO* bio = ssl ? BIO_new(nosignal_bio_method()) : nullptr;
    if (bio == nullptr) {
        SSL_free(ssl);
        return nullptr;
    }
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
    SSL_set_bio(ssl, bio, bio);
    const bool ip = is_ip_literal(name);
    if (!ip) SSL_set_tlsext_host_name(ssl, name.c_str());  // RFC 6066: no SNI for IP literals
    if (ctx.verify()) {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str())
                    : SSL_set1_host(ssl, name.c_str());
        if (ok != 1) {
            SSL_free(ssl);
            return nullptr;
        }
    }
    return ssl;
}

/// The server answered the ClientHello with bytes that are no TLS record.
bool answer_is_not_tls() noexcept
{
    unsigned long e = ERR_peek_error();
    if (ERR_GET_LIB(e) != ERR_LIB_SSL) return false;
    switch (ERR_GET_REASON(e)) {
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_RECORD_LENGTH_MISMATCH:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_UNEXPECTED_MESSAGE:
        return true;
    default:
        return false;
    }
}

[[noreturn]] void handshake_failed(SSL* ssl, int ssl_err, int sys_err, const TlsContext& ctx,
                                   const std::string& name, const std::string& endpoint)
{
    const std::string where = "tcp " + endpoint + ": ";
    long verdict = SSL_get_verify_result(ssl);
    if (ctx.verify() && verdict != X509_V_OK) {
        ERR_clear_error();
        SSL_free(ssl);
        std::string why = X509_verify_cert_error_string(verdict);
        if (verdict == X509_V_ERR_HOSTNAME_MISMATCH || verdict == X509_V_ERR_IP_ADDRESS_MISMATCH)
            why += " (the certificate is not valid for '" + name + "')";
        throw Error(Errc::tls_verify, where + "TLS certificate verification failed: " + why, 0, "tls_handshake",
                    endpoint);
    }
    std::string why;
    if (ssl_err == SSL_ERROR_SYSCALL && sys_err != 0) why = errno_text(sys_err);
    else if (ssl_err == SSL_ERROR_SYSCALL || is_unexpected_eof())
        why = "the peer closed the connection (is it speaking TLS?)";
    else {
        const bool not_tls = answer_is_not_tls();
        why = drain_openssl_errors();
        if (not_tls) why += " (the server's answer is not TLS: is this a plain TCP port?)";
    }
    ERR_clear_error();
    SSL_free(ssl);
    throw Error(Errc::tls_handshake, where + "TLS handshake failed: " + why, sys_err, "tls_handshake", endpoint);
}

} // namespace

SSL* handshake(const TlsContext& ctx, int fd, const std::string& name, Deadline deadline,
               const std::string& endpoint)
{
    ERR_clear_error();
    const Deadline hello_by = SteadyClock::now() + ctx.hello_timeout();
    SSL* ssl = new_ssl(ctx, fd, name);
    if (ssl == nullptr)
        throw Error(Errc::tls_handshake, "tcp " + endpoint + ": cannot set up TLS: " + drain_openssl_errors(), 0,
                    "tls_handshake", endpoint);
    for (;;) {
        ERR_clear_error();
        errno = 0;  // SSL_ERROR_SYSCALL reports errno: a stale EAGAIN must not pass for a cause
        int rc = SSL_connect(ssl);
        if (rc == 1) return ssl;
        int sys_err = errno;
        int err = SSL_get_error(ssl, rc);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
            handshake_failed(ssl, err, err == SSL_ERROR_SYSCALL ? sys_err : 0, ctx, name, endpoint);
        // Until the server's first byte, wait no longer than hello_timeout: a
        // plain-TCP server waiting for a request of its own never answers.
        const bool answered = BIO_number_read(SSL_get_rbio(ssl)) > 0;
        const Deadline wait_until = answered ? deadline : std::min(deadline, hello_by);
        if (!wait_ready(fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, wait_until)) {
            SSL_free(ssl);
            if (!answered && wait_until < deadline)
                throw Error(Errc::tls_handshake,
                            "tcp " + endpoint + ": TLS handshake failed: the server sent nothing in reply to "
                                "the ClientHello within tls.hello_timeout (" +
                                std::to_string(ctx.hello_timeout().count()) +
                                " ms): is this a plain TCP port, or a server that does not speak TLS?",
                            0, "tls_handshake", endpoint);
            throw Error(Errc::timeout, "tcp " + endpoint + ": TLS handshake did not complete before the deadline",
                        0, "tls_handshake", endpoint);
        }
    }
}

} // namespace respool::tcp::detail
