// demo/cli.hpp — the flags of respool-demo.
//
// `parse_args` turns argv into a `DemoConfig` or throws `CliError` with a
// message that names the flag and what it accepts; `usage()` is the --help
// text. Flags take their value as `--flag VALUE` or `--flag=VALUE`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace demo {

/// The three pools the demo can run.
enum class PoolKind { pg, grpc, tcp };

/// "pg", "grpc" or "tcp".
std::string_view to_string(PoolKind kind) noexcept;

/// Where the chart goes by default: respool-demo.svg in the build directory
/// (RESPOOL_DEMO_OUTPUT_DIR, set by the build), so a checkout stays clean.
std::string default_svg_path();

/// Everything the flags decide.
struct DemoConfig {
    std::chrono::seconds duration{30};  ///< how long the load runs
    int threads = 8;                    ///< worker threads per pool
    std::size_t pool_size = 4;          ///< max_size of every pool
    std::vector<PoolKind> pools{PoolKind::pg, PoolKind::grpc, PoolKind::tcp};
    bool faults = true;                 ///< break each server midway
    std::string dsn;                    ///< an existing PostgreSQL instead of a throwaway one
    bool json = false;                  ///< JSON summary on stdout, the rest on stderr
    std::string svg_path = default_svg_path();  ///< "" writes no chart
    std::optional<std::uint16_t> metrics_port;  ///< serve /metrics on 127.0.0.1 (0: a free port)
    std::uint16_t grpc_port = 0;        ///< 0: a free port
    bool help = false;
};

/// A flag the demo cannot use; the message says which and why.
class CliError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Shortest --duration: the schedule needs room for a fault, its recovery and a leak report.
inline constexpr std::chrono::seconds min_duration{10};

/// Parses argv (argv[0] is the program). Throws `CliError`.
DemoConfig parse_args(int argc, const char* const* argv);

/// The --help text.
std::string usage();

} // namespace demo
