#include <respool/tcp/frame_reader.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace respool::tcp {

namespace {
constexpr std::size_t prefix_size = 4;
} // namespace

FrameReader::FrameReader(std::size_t max_line_length, std::size_t max_frame_size)
    : max_line_(max_line_length), max_frame_(max_frame_size)
{
}

void FrameReader::append(std::string_view bytes)
{
    // Compact before growing, so a long-lived reader does not keep every byte.
    if (start_ > 0 && (start_ == data_.size() || start_ >= data_.size() / 2)) {
        data_.erase(0, start_);
        start_ = 0;
    }
    data_.append(bytes);
}

void FrameReader::consume(std::size_t n) noexcept
{
    start_ += n;
    scanned_ = 0;
    if (start_ == data_.size()) {
        data_.clear();
        start_ = 0;
    }
}

FrameReader::Status FrameReader::next_line(std::string& out)
{
    const std::size_t avail = buffered();
    // Look for "\n" only in bytes not scanned before: a slow line costs O(n), not O(n^2).
    // The longest acceptable line plus "\r\n", saturated: a limit near SIZE_MAX
    // must not wrap around to a tiny one.
    const std::size_t window = max_line_ > SIZE_MAX - 2 ? SIZE_MAX : max_line_ + 2;
    const std::size_t limit = std::min(avail, window);
    const char* begin = data_.data() + start_;
    const void* nl = scanned_ < limit ? std::memchr(begin + scanned_, '\n', limit - scanned_) : nullptr;
    if (nl == nullptr) {
        scanned_ = limit;
        // No "\n" in the first max_line_ + 1 bytes: the line (with its "\r") is too long.
        return avail >= window ? Status::too_long : Status::need_more;
    }
    std::size_t len = static_cast<std::size_t>(static_cast<const char*>(nl) - begin);
    std::size_t content = len > 0 && begin[len - 1] == '\r' ? len - 1 : len;
    if (content > max_line_) return Status::too_long;
    out.assign(begin, content);
    consume(len + 1);
    return Status::ok;
}

FrameReader::Status FrameReader::next_frame(std::string& out)
{
    if (buffered() < prefix_size) return Status::need_more;
    const auto* p = reinterpret_cast<const unsigned char*>(data_.data() + start_);
    const std::uint64_t len = (std::uint64_t{p[0]} << 24) | (std::uint64_t{p[1]} << 16) |
                              (std::uint64_t{p[2]} << 8) | std::uint64_t{p[3]};
    if (len > max_frame_) return Status::too_long;
    if (buffered() - prefix_size < len) return Status::need_more;
    out.assign(data_.data() + start_ + prefix_size, static_cast<std::size_t>(len));
    consume(prefix_size + static_cast<std::size_t>(len));
    return Status::ok;
}

std::size_t FrameReader::take(char* dest, std::size_t max) noexcept
{
    std::size_t n = std::min(max, buffered());
    if (n == 0) return 0;
    std::memcpy(dest, data_.data() + start_, n);
    consume(n);
    return n;
}

std::string FrameReader::encode_frame(std::string_view payload)
{
    const auto len = static_cast<std::uint32_t>(payload.size());
    std::string out;
    out.reserve(prefix_size + payload.size());
    out.push_back(static_cast<char>(len >> 24));
    out.push_back(static_cast<char>(len >> 16));
    out.push_back(static_cast<char>(len >> 8));
    out.push_back(static_cast<char>(len));
    out.append(payload);
    return out;
}

} // namespace respool::tcp
