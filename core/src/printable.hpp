// Internal: text made safe for the core's outputs.
//
// Pool names, acquire sites and adapter messages (a server's error text)
// reach log lines, JSON events and Prometheus labels. A newline there splits
// a log line, an ESC sequence repaints the reader's terminal, and a byte that
// is not UTF-8 makes Prometheus' parser reject the whole scrape. These
// functions are the one place that decides what such text becomes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace respool::detail {

/// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0 if
/// it is not one: stray continuation bytes, overlong forms, surrogates, code
/// points past U+10FFFF and truncated sequences.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept;

/// One line of valid UTF-8 without control characters, for log lines:
/// "\n", "\r", "\t" and "\\" stay readable as those escapes, other C0/C1
/// controls and DEL become "\xNN" / "\u0085", and a byte that is not UTF-8
/// becomes "\xNN". Printable text (any language) passes unchanged.
std::string printable(std::string_view text);

/// `text` with every byte that is not UTF-8 replaced by U+FFFD and every
/// control character but '\n' replaced by U+FFFD; for Prometheus label values.
std::string utf8_label_text(std::string_view text);

} // namespace respool::detail
