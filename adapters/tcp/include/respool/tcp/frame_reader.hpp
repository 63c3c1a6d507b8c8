// respool/tcp/frame_reader.hpp — splitting a byte stream into lines or length-prefixed frames.
//
// `FrameReader` is the buffer behind `Socket::read_line` and `read_frame`,
// usable on its own (and fuzzed on its own): append bytes as they arrive and
// take whole lines or frames out. A frame is a 4-byte big-endian length
// followed by that many bytes; a line ends with "\n" (a "\r" before it is
// dropped). Limits bound memory: a longer line or frame is reported as
// `too_long` without buffering it all.
//
// Thread-safety: none (one owner). No I/O, no exceptions except bad_alloc.
//
//   respool::tcp::FrameReader r{/*max_line*/ 1024, /*max_frame*/ 1 << 20};
//   r.append(bytes);
//   std::string frame;
//   while (r.next_frame(frame) == respool::tcp::FrameReader::Status::ok) handle(frame);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <respool/tcp/export.hpp>

namespace respool::tcp {

class RESPOOL_TCP_API FrameReader {
public:
    enum class Status {
        ok,         ///< `out` holds the next line or frame, now consumed
        need_more,  ///< incomplete: append more bytes
        too_long,   ///< over the limit; nothing consumed, the stream is unusable
    };

    FrameReader(std::size_t max_line_length, std::size_t max_frame_size);

    /// Adds bytes read from the stream.
    void append(std::string_view bytes);
    /// The next line without its "\n" / "\r\n".
    Status next_line(std::string& out);
    /// The payload of the next length-prefixed frame.
    Status next_frame(std::string& out);
    /// Takes up to `max` buffered bytes (for raw reads after framed ones).
    std::size_t take(char* dest, std::size_t max) noexcept;
    /// Bytes appended and not yet taken.
    std::size_t buffered() const noexcept { return data_.size() - start_; }

    /// The 4-byte big-endian prefix followed by `payload`.
    static std::string encode_frame(std::string_view payload);

private:
    RESPOOL_TCP_LOCAL void consume(std::size_t n) noexcept;

    std::string data_;
    std::size_t start_ = 0;   // bytes before it are consumed
    std::size_t scanned_ = 0; // bytes after start_ known to hold no "\n"
    std::size_t max_line_;
    std::size_t max_frame_;
};

} // namespace respool::tcp
