#include "temp_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_util.hpp"

namespace respool::test {

TempDir::TempDir(const std::string& prefix)
{
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr)
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + templ);
    path_ = buf.data();
}

TempDir::~TempDir()
{
    std::error_code ec;  // a destructor reports nothing: leftovers in /tmp are harmless
    std::filesystem::remove_all(path_, ec);
}

std::uint16_t free_tcp_port()
{
    // Binding port 0 lets the kernel pick; the port stays free after close
    // because nothing connected to it (no TIME_WAIT).
    detail::Fd fd = detail::listen_loopback(1);
    return detail::local_port(fd.get());
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::system_error(errno, std::generic_category(), "cannot read " + path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void write_file(const std::string& path, const std::string& content)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out || !out.write(content.data(), static_cast<std::streamsize>(content.size())))
        throw std::system_error(errno, std::generic_category(), "cannot write " + path);
}

} // namespace respool::test
