// libFuzzer target for respool::tcp::FrameReader, the parser behind
// Socket::read_line and read_frame: whatever bytes a peer sends, in whatever
// pieces, the reader never crashes, never returns more than its limits, and
// accounts for every byte. Built and run by tests/tcp/run_fuzz.sh.
//
// Input layout: byte 0 picks the limits, then each control byte c says how
// many of the following bytes form the next chunk (c & 0x3f) and which
// operation runs after appending it (c >> 6: line, frame, take, round trip).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <respool/tcp/frame_reader.hpp>

using respool::tcp::FrameReader;

namespace {

void check(bool ok)
{
    if (!ok) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) return 0;
    const std::size_t max_line = 1 + (data[0] & 0x0f) * 7;   // 1..106
    const std::size_t max_frame = (data[0] >> 4) * 13;       // 0..195
    FrameReader reader(max_line, max_frame == 0 ? 1 : max_frame);
    const std::size_t frame_limit = max_frame == 0 ? 1 : max_frame;
    std::size_t appended = 0, consumed = 0;
    std::string out;

    for (std::size_t i = 1; i < size;) {
        const std::uint8_t c = data[i++];
        const std::size_t n = std::min<std::size_t>(c & 0x3f, size - i);
        reader.append({reinterpret_cast<const char*>(data + i), n});
        appended += n;
        i += n;
        switch (c >> 6) {
        case 0:
            while (reader.next_line(out) == FrameReader::Status::ok) {
                check(out.size() <= max_line);
                check(out.find('\n') == std::string::npos);
                std::size_t before = consumed;
                consumed = appended - reader.buffered();
                check(consumed > before);
            }
            break;
        case 1:
            while (reader.next_frame(out) == FrameReader::Status::ok) {
                check(out.size() <= frame_limit);
                std::size_t before = consumed;
                consumed = appended - reader.buffered();
                check(consumed == before + 4 + out.size());
            }
            break;
        case 2: {
            char buf[32];
            std::size_t got = reader.take(buf, c & 0x1f);
            check(got <= static_cast<std::size_t>(c & 0x1f));
            consumed += got;
            break;
        }
        default: {
            // Whatever the stream state, a frame we encode decodes to itself
            // from a fresh reader.
            std::string payload(reinterpret_cast<const char*>(data + i - n), std::min(n, frame_limit));
            FrameReader fresh(max_line, frame_limit);
            fresh.append(FrameReader::encode_frame(payload));
            check(fresh.next_frame(out) == FrameReader::Status::ok && out == payload);
            check(fresh.buffered() == 0);
            break;
        }
        }
        check(appended - reader.buffered() == consumed);
    }
    return 0;
}
