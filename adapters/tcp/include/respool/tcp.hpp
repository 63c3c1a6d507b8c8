// respool/tcp.hpp — pooled TCP and TLS connections (OpenSSL), with deadline-bound I/O.
//
// Everything of the TCP adapter: `Options`/`TlsOptions` (options.hpp), the
// `Adapter` (adapter.hpp), its resource `Socket` with line and frame helpers
// (socket.hpp), the `FrameReader` behind them (frame_reader.hpp) and the one
// exception type `Error` (error.hpp). OpenSSL stays out of these headers.
//
//   #include <respool/pool.hpp>
//   #include <respool/tcp.hpp>
//
//   respool::tcp::Options o;
//   o.host = "localhost";
//   o.port = 7000;
//   o.tls = respool::tcp::TlsOptions{.ca_file = "ca.pem"};  // verification on
//   respool::Pool pool{respool::tcp::Adapter{o}};
//   {
//       auto s = pool.acquire();
//       auto d = respool::deadline_after(std::chrono::seconds(1));
//       s->write_frame("hello", d);
//       auto reply = s->read_frame(d);
//   }   // back to the pool; destroyed instead if an I/O call failed
//
// See docs/adapters/tcp.md.
#pragma once

#include <respool/tcp/adapter.hpp>
#include <respool/tcp/error.hpp>
#include <respool/tcp/frame_reader.hpp>
#include <respool/tcp/options.hpp>
#include <respool/tcp/socket.hpp>
