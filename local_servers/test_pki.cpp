#include "test_pki.hpp"

#include <atomic>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

namespace respool::test {

namespace {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;
constexpr long day = 24 * 60 * 60;

[[noreturn]] void fail(const std::string& what)
{
    char reason[256] = "unknown error";
    if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    throw std::runtime_error("TestPki: " + what + ": " + reason);
}

KeyPtr make_key()
{
    KeyPtr key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    if (!key) fail("EC key generation");
    return key;
}

struct CertSpec {
    std::string cn{};
    std::string san{};  // OpenSSL config syntax, e.g. "DNS:localhost,IP:127.0.0.1"; empty: none
    bool ca = false;
    bool client = false;
    long not_before = -day;  // seconds from now
    long not_after = 30 * day;
};

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value)
{
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
    if (!ext || !X509_add_ext(cert, ext, -1)) fail("extension " + value);
    X509_EXTENSION_free(ext);
}

/// A certificate for `key`, signed by `issuer`/`issuer_key` (self-signed when null).
CertPtr make_cert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key)
{
    static std::atomic<long> serial{1};
    CertPtr cert(X509_new(), X509_free);
    if (!cert) fail("X509_new");
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("respool tests"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);

    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
    add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash");
    add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
    if (spec.ca) {
        add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
        add_ext(cert.get(), &ctx, NID_ext_key_usage, spec.client ? "clientAuth" : "serverAuth");
    }
    if (!spec.san.empty()) add_ext(cert.get(), &ctx, NID_subject_alt_name, spec.san);
    if (!X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256())) fail("X509_sign");
    return cert;
}

using FilePtr = std::unique_ptr<FILE, decltype(&std::fclose)>;

FilePtr open_private(const std::string& path)
{
    FilePtr f(std::fopen(path.c_str(), "w"), std::fclose);
    if (!f) throw std::runtime_error("TestPki: cannot write " + path);
    ::chmod(path.c_str(), 0600);
    return f;
}

std::string write_cert(const std::string& path, X509* cert)
{
    FilePtr f = open_private(path);
    if (!PEM_write_X509(f.get(), cert)) fail("writing " + path);
    return path;
}

std::string write_key(const std::string& path, EVP_PKEY* key)
{
    FilePtr f = open_private(path);
    if (!PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr))
        fail("writing " + path);
    return path;
}

/// `key` encrypted with AES-256-CBC under `passphrase` (PKCS#8, "ENCRYPTED PRIVATE KEY").
std::string write_encrypted_key(const std::string& path, EVP_PKEY* key, const std::string& passphrase)
{
    FilePtr f = open_private(path);
    if (!PEM_write_PKCS8PrivateKey(f.get(), key, EVP_aes_256_cbc(), passphrase.data(),
                                   static_cast<int>(passphrase.size()), nullptr, nullptr))
        fail("writing " + path);
    return path;
}

} // namespace

TestPki::TestPki(std::string host_name) : dir("respool-pki"), host(std::move(host_name))
{
    const std::string d = dir.path() + "/";
    const std::string good_san = "DNS:" + host + ",IP:127.0.0.1,IP:::1";

    KeyPtr ca_key = make_key();
    CertPtr ca = make_cert({.cn = "respool test CA", .ca = true, .not_after = 365 * day},
                           ca_key.get(), nullptr, nullptr);
    ca_cert = write_cert(d + "ca.pem", ca.get());

    // One leaf signed by the trusted CA, written as name.pem + name.key.
    auto leaf = [&](const std::string& file, CertSpec spec, std::string& cert_path,
                    std::string& key_path) {
        KeyPtr key = make_key();
        CertPtr cert = make_cert(spec, key.get(), ca.get(), ca_key.get());
        cert_path = write_cert(d + file + ".pem", cert.get());
        key_path = write_key(d + file + ".key", key.get());
    };
    leaf("server", {.cn = host, .san = good_san}, server_cert, server_key);
    leaf("client", {.cn = "respool-test-client", .client = true}, client_cert, client_key);
    {
        // The same kind of client certificate, its key encrypted. The
        // passphrase is made per run, so no test can pass by knowing it.
        KeyPtr key = make_key();
        CertPtr cert = make_cert({.cn = "respool-test-client-enc", .client = true}, key.get(), ca.get(),
                                 ca_key.get());
        unsigned char random[8];
        if (RAND_bytes(random, sizeof random) != 1) fail("RAND_bytes");
        client_enc_passphrase = "pki-Secret-";
        for (unsigned char b : random) client_enc_passphrase += "0123456789abcdef"[b >> 4], client_enc_passphrase += "0123456789abcdef"[b & 15];
        client_enc_cert = write_cert(d + "client_enc.pem", cert.get());
        client_enc_key = write_encrypted_key(d + "client_enc.key", key.get(), client_enc_passphrase);
    }
    leaf("wrong_host", {.cn = "wrong.example", .san = "DNS:wrong.example"}, wrong_host_cert,
         wrong_host_key);
    leaf("expired", {.cn = host, .san = good_san, .not_before = -2 * day, .not_after = -day},
         expired_cert, expired_key);
    leaf("not_yet_valid", {.cn = host, .san = good_san, .not_before = day, .not_after = 2 * day},
         not_yet_valid_cert, not_yet_valid_key);
    leaf("no_san", {.cn = host}, no_san_cert, no_san_key);

    KeyPtr self_key = make_key();
    CertPtr self = make_cert({.cn = host, .san = good_san}, self_key.get(), nullptr, nullptr);
    self_signed_cert = write_cert(d + "self_signed.pem", self.get());
    self_signed_key = write_key(d + "self_signed.key", self_key.get());

    KeyPtr other_key = make_key();
    CertPtr other = make_cert({.cn = "respool untrusted CA", .ca = true, .not_after = 365 * day},
                              other_key.get(), nullptr, nullptr);
    other_ca_cert = write_cert(d + "other_ca.pem", other.get());
    KeyPtr os_key = make_key();
    CertPtr os = make_cert({.cn = host, .san = good_san}, os_key.get(), other.get(), other_key.get());
    other_ca_server_cert = write_cert(d + "other_ca_server.pem", os.get());
    other_ca_server_key = write_key(d + "other_ca_server.key", os_key.get());
}

} // namespace respool::test
