// test_pki.hpp — a throwaway certificate authority and certificates for TLS tests.
//
// Everything is generated at construction with OpenSSL (EC P-256 keys, SHA-256
// signatures, a few milliseconds) and written as PEM files into the object's
// own TempDir, removed with it. Each member below is a file path.
//
// - ca_cert: the CA clients trust. server_cert/key: signed by it, SAN
//   DNS:<host>, IP:127.0.0.1 and IP:::1. client_cert/key: signed by it, for
//   client authentication (CN "respool-test-client").
// - wrong_host_*: CA-signed, for "wrong.example" only.
// - expired_*: CA-signed, valid yesterday only. not_yet_valid_*: from tomorrow.
// - client_enc_cert/key: like client_*, the key encrypted (PKCS#8, AES-256)
//   with client_enc_passphrase, made per run.
// - no_san_*: CA-signed, host only in the subject CN (no SAN at all).
// - self_signed_*: correct names, signed by its own key.
// - other_ca_cert, other_ca_server_*: a second CA nobody trusts, and a server
//   certificate with correct names signed by it.
//
// Thread-safety: immutable after construction. Key files (but client_enc_key) are unencrypted and
// mode 0600 inside a 0700 directory owned by the test process's user.
//
//   respool::test::TestPki pki;               // host "localhost"
//   EchoServer server{{.tls = true, .cert_file = pki.server_cert, .key_file = pki.server_key}};
#pragma once

#include <string>

#include "temp_dir.hpp"

namespace respool::test {

struct TestPki {
    /// Generates everything for `host`; throws std::runtime_error with OpenSSL's reason.
    explicit TestPki(std::string host = "localhost");

    TempDir dir;  ///< holds the files below
    std::string host;
    std::string ca_cert;
    std::string server_cert, server_key;
    std::string client_cert, client_key;
    std::string client_enc_cert, client_enc_key, client_enc_passphrase;
    std::string wrong_host_cert, wrong_host_key;
    std::string expired_cert, expired_key;
    std::string not_yet_valid_cert, not_yet_valid_key;
    std::string no_san_cert, no_san_key;
    std::string self_signed_cert, self_signed_key;
    std::string other_ca_cert, other_ca_server_cert, other_ca_server_key;
};

} // namespace respool::test
