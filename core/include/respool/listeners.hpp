// respool/listeners.hpp — ready-made event listeners: JSON lines, a logging
// callback, and a fan-out to several listeners.
//
// - `JsonLinesListener` writes one JSON object per event, e.g.
//     {"ts":"2024-05-01T12:00:03.127Z","pool":"orders","event":"destroyed",
//      "resource_id":3,"reason":"broken"}
//   Always present: ts (wall clock, UTC, ms), pool, event. Present when they
//   apply: resource_id, reason (destroyed), duration_ms, message, site
//   ("file.cpp:42"), thread. Strings are JSON-escaped and made valid UTF-8.
// - `LoggingListener` turns each event into one line for the caller's logger,
//   at a level that fits the kind (debug for routine churn, warning for
//   timeouts, failed creations and suspected leaks, error for leases still
//   out at close).
// - `FanOutListener` passes every event to several listeners, in order.
//
//   auto json = std::make_shared<respool::JsonLinesListener>(stderr);
//   auto logs = std::make_shared<respool::LoggingListener>(
//       [](respool::LogLevel level, std::string_view line) { my_log(level, line); },
//       respool::LogLevel::info);
//   options.listener = std::make_shared<respool::FanOutListener>(
//       std::vector<std::shared_ptr<respool::EventListener>>{json, logs});
//
// Thread-safety: all three may receive events from many threads at once. A
// JSON line is written whole, never interleaved with another; the logging
// callback is called concurrently, as the pool calls `PoolOptions::logger`.
// None throws: a line that cannot be built or written is dropped.
// Secrets: events carry pool names, sites and adapter messages, never a
// connection target; adapters redact their messages.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <respool/detail/export.hpp>
#include <respool/event.hpp>
#include <respool/options.hpp>

namespace respool {

/// Writes each event as one JSON object on its own line.
class RESPOOL_API JsonLinesListener final : public EventListener {
public:
    /// Receives one complete JSON object per call, without a trailing newline.
    using Sink = std::function<void(std::string_view line)>;

    /// Appends lines to `out` (not owned, must outlive the listener), flushing each.
    explicit JsonLinesListener(std::FILE* out);
    /// Passes lines to `sink`; calls are serialised, so the sink need not be thread-safe.
    explicit JsonLinesListener(Sink sink);

    void on_event(const Event& event) noexcept override;

    /// The JSON object `on_event` writes for `event` at wall-clock time `ts` (no newline).
    static std::string to_json(const Event& event, std::chrono::system_clock::time_point ts);

private:
    std::mutex mu_;  // serialises writes, so lines never interleave
    std::FILE* out_ = nullptr;
    Sink sink_;
};

/// Forwards each event as one human-readable line to a logging callback.
class RESPOOL_API LoggingListener final : public EventListener {
public:
    /// Events below `min_level` are skipped before any text is built.
    explicit LoggingListener(Logger logger, LogLevel min_level = LogLevel::debug);

    void on_event(const Event& event) noexcept override;

    /// The level `on_event` uses for `event`.
    static LogLevel level_of(const Event& event) noexcept;

private:
    Logger logger_;
    LogLevel min_level_;
};

/// Passes every event to each listener in turn.
class RESPOOL_API FanOutListener final : public EventListener {
public:
    /// Null entries are ignored. The list is fixed for the listener's life.
    explicit FanOutListener(std::vector<std::shared_ptr<EventListener>> listeners);

    void on_event(const Event& event) noexcept override;

private:
    std::vector<std::shared_ptr<EventListener>> listeners_;
};

/// `text` as a JSON string literal, quotes included, escaped as the JSON-lines
/// listener writes it; bytes that are not valid UTF-8 become U+FFFD.
RESPOOL_API std::string json_string(std::string_view text);

} // namespace respool
