// temp_dir.hpp — throwaway directories, free ports and small file helpers for tests.
//
// `TempDir` makes a fresh private directory (mode 0700) under $TMPDIR or /tmp
// and removes it with everything inside when destroyed. `free_tcp_port()` asks
// the kernel for a loopback port that is free right now (another process may
// still take it before you bind it: bind soon after). Thread-safe: yes, each
// object is independent. Usage:
//
//   respool::test::TempDir dir;                       // e.g. /tmp/respool-XXXXXX
//   auto conf = dir.path() + "/server.conf";
//   auto port = respool::test::free_tcp_port();
#pragma once

#include <cstdint>
#include <string>

namespace respool::test {

/// A directory that exists for the lifetime of the object.
class TempDir {
public:
    /// Creates the directory; `prefix` starts its name. Throws std::system_error.
    explicit TempDir(const std::string& prefix = "respool");
    /// Removes the directory recursively; never throws.
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    /// The absolute path, without a trailing slash.
    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

/// A TCP port on 127.0.0.1 that nothing listens on at the moment of the call.
std::uint16_t free_tcp_port();

/// The whole content of a file; throws std::system_error naming the path.
std::string read_file(const std::string& path);

/// Writes `content` to `path` (created or truncated); throws std::system_error.
void write_file(const std::string& path, const std::string& content);

} // namespace respool::test
