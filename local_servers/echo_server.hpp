// echo_server.hpp — a plain-TCP or TLS echo server on loopback, with bad manners on demand.
//
// Binds 127.0.0.1 (or ::1) on a free port and serves from one background thread (a
// poll loop over non-blocking sockets, TLS through OpenSSL). Besides echoing,
// it can misbehave the ways servers do: close idle connections, reset or close
// every connection now, never accept (a full backlog), accept and never answer
// (no TLS handshake, no echo), or answer with garbage.
//
// Thread-safety: every member may be called from any thread; reset_all() and
// close_all() have taken effect when they return.
// Lifetime: the destructor stops the thread and closes every socket.
//
//   respool::test::EchoServer plain;                                   // echo
//   respool::test::EchoServer tls{{.tls = true, .cert_file = pki.server_cert,
//                                  .key_file = pki.server_key}};
//   connect_to(plain.port());
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace respool::test {

struct EchoServerOptions {
    enum class Behaviour {
        echo,          ///< send back what arrives
        never_accept,  ///< a listener whose backlog is full: connects hang in SYN_SENT
        silent,        ///< accept and read, never answer (nor the TLS handshake)
        garbage,       ///< on accept and for every chunk received, send `garbage`
    };
    enum class TlsVersion { tls1_0, tls1_1, tls1_2, tls1_3 };

    Behaviour behaviour = Behaviour::echo;
    bool ipv6 = false;            ///< listen on [::1] instead of 127.0.0.1
    bool tls = false;             ///< TLS with cert_file/key_file (PEM)
    std::string cert_file{};
    std::string key_file{};
    std::string client_ca_file{}; ///< non-empty: require a client certificate signed by it
    TlsVersion min_tls = TlsVersion::tls1_2;
    TlsVersion max_tls = TlsVersion::tls1_3;
    std::chrono::milliseconds close_idle_after{0};  ///< FIN connections idle this long; 0: never
    std::string garbage = std::string("\xff\xfe\x00garbage\x15\x03\x03\r\n", 16);
};

class EchoServer {
public:
    /// Starts listening and serving; throws std::runtime_error / std::system_error.
    explicit EchoServer(EchoServerOptions options = {});
    ~EchoServer();
    EchoServer(const EchoServer&) = delete;
    EchoServer& operator=(const EchoServer&) = delete;

    std::uint16_t port() const noexcept;

    /// RST every open connection now.
    void reset_all();
    /// FIN every open connection now.
    void close_all();

    /// Connections accepted so far.
    std::size_t accepted() const noexcept;
    /// Connections open now.
    std::size_t open() const noexcept;
    /// Waits (no polling) until `n` connections have been accepted in all;
    /// false if `timeout` passed first. A client's connect completes in the
    /// kernel before the server accepts: wait before acting on "every open connection".
    bool wait_accepted(std::size_t n, std::chrono::milliseconds timeout) const;
    /// TLS handshakes that failed so far.
    std::size_t handshake_failures() const noexcept;
    /// The SNI host name the last TLS client sent ("" when none).
    std::string last_sni() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace respool::test
