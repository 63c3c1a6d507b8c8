#include "cli.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

namespace demo {

namespace {

long parse_number(std::string_view flag, std::string_view text, long min, long max)
{
    long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max)
        throw CliError(fmt::format("{} takes a whole number from {} to {}, not '{}'", flag, min, max, text));
    return value;
}

std::vector<PoolKind> parse_pools(std::string_view text)
{
    std::vector<PoolKind> pools;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const std::string_view name = text.substr(0, comma);
        if (name == "pg") pools.push_back(PoolKind::pg);
        else if (name == "grpc") pools.push_back(PoolKind::grpc);
        else if (name == "tcp") pools.push_back(PoolKind::tcp);
        else throw CliError(fmt::format("--only takes pg, grpc or tcp (or a list such as pg,tcp), not '{}'", name));
        if (std::count(pools.begin(), pools.end(), pools.back()) > 1)
            throw CliError(fmt::format("--only names '{}' twice", name));
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    }
    if (pools.empty()) throw CliError("--only needs pg, grpc or tcp");
    return pools;
}

std::string parse_dsn(std::string_view text)
{
    if (text.find_first_not_of(" \t") == std::string_view::npos)
        throw CliError("--dsn needs a connection string, e.g. postgresql://user:secret@host/db");
    return std::string(text);
}

// Splits "--flag=value"; a flag that needs a value and has none takes the next argument.
struct Arg {
    std::string_view flag;
    std::optional<std::string_view> value;
};

Arg split(std::string_view arg)
{
    const auto eq = arg.find('=');
    if (eq == std::string_view::npos) return {arg, std::nullopt};
    return {arg.substr(0, eq), arg.substr(eq + 1)};
}

} // namespace

std::string default_svg_path()
{
#ifdef RESPOOL_DEMO_OUTPUT_DIR
    return RESPOOL_DEMO_OUTPUT_DIR "/respool-demo.svg";
#else
    return "respool-demo.svg";
#endif
}

std::string_view to_string(PoolKind kind) noexcept
{
    switch (kind) {
    case PoolKind::pg: return "pg";
    case PoolKind::grpc: return "grpc";
    case PoolKind::tcp: return "tcp";
    }
    return "?";
}

DemoConfig parse_args(int argc, const char* const* argv)
{
    DemoConfig c;
    for (int i = 1; i < argc; ++i) {
        auto [flag, inline_value] = split(argv[i]);
        auto value = [&, flag = flag, inline_value = inline_value]() -> std::string_view {
            if (inline_value) return *inline_value;
            if (i + 1 >= argc) throw CliError(fmt::format("{} needs a value (see --help)", flag));
            return argv[++i];
        };
        auto no_value = [&, flag = flag, inline_value = inline_value] {
            if (inline_value) throw CliError(fmt::format("{} takes no value", flag));
        };
        if (flag == "--help" || flag == "-h") { no_value(); c.help = true; }
        else if (flag == "--duration") c.duration = std::chrono::seconds(parse_number(flag, value(), min_duration.count(), 3600));
        else if (flag == "--threads") c.threads = static_cast<int>(parse_number(flag, value(), 1, 256));
        else if (flag == "--pool-size") c.pool_size = static_cast<std::size_t>(parse_number(flag, value(), 1, 50));
        else if (flag == "--only") c.pools = parse_pools(value());
        else if (flag == "--no-faults") { no_value(); c.faults = false; }
        else if (flag == "--dsn") c.dsn = parse_dsn(value());
        else if (flag == "--json") { no_value(); c.json = true; }
        else if (flag == "--svg") c.svg_path = std::string(value());
        else if (flag == "--metrics-port") c.metrics_port = static_cast<std::uint16_t>(parse_number(flag, value(), 0, 65535));
        else if (flag == "--grpc-port") c.grpc_port = static_cast<std::uint16_t>(parse_number(flag, value(), 0, 65535));
        else throw CliError(fmt::format("unknown argument '{}' (see --help)", argv[i]));
    }
    return c;
}

std::string usage()
{
    return fmt::format(R"(respool-demo — three real pools riding out real outages.

Starts on loopback a throwaway PostgreSQL server, a gRPC echo server and a TLS
echo server, drives load through a respool pool of each, and shows every second
what each pool does. Midway every server fails (PostgreSQL: pg_ctl stop -m
immediate, then started again; gRPC: shut down, then started again on the same
port; TCP: the server drops every connection), and the view shows each pool
noticing, failing fast and recovering. Then a leak is planted and reported with
its file:line. At the end: a summary table, each pool's Prometheus text and an
SVG chart.

Usage: respool-demo [flags]

  --duration SECONDS   how long the load runs (default 30, at least {})
  --threads N          worker threads per pool (default 8)
  --pool-size N        max_size of each pool (default 4)
  --only LIST          pg, grpc or tcp, or a list such as pg,tcp (default: all three)
  --no-faults          no outages: just load, the leak and the report
  --dsn DSN            use this PostgreSQL (conninfo or URI) instead of a throwaway
                       one; its fault is then pg_terminate_backend of the demo's
                       connections (needs the right to signal them)
  --json               print a JSON summary on stdout; everything else goes to stderr
  --svg PATH           where to write the chart (default {}; '' for none)
  --grpc-port PORT     port of the gRPC echo server (default 0: a free one)
  --metrics-port PORT  serve the pools' metrics on http://127.0.0.1:PORT/metrics while
                       the demo runs (OpenTelemetry's names on /metrics/otel; 0: a
                       free port), through the prometheus-cpp bridge
  --help               this text

In a terminal the view is redrawn in place; when the output is not a terminal it
is printed as plain lines, without control codes. Exit status: 0 when every pool
ran and recovered from its fault, 1 when not, 2 for bad flags or when no server
could start. As root, the PostgreSQL programs run as the `postgres` user.
)",
                       min_duration.count(), default_svg_path());
}

} // namespace demo
