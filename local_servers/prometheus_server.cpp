#include "local_servers/prometheus_server.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <regex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <fmt/format.h>

#include "local_servers/temp_dir.hpp"

namespace respool::test {

namespace {

using Clock = std::chrono::steady_clock;

std::string config(const std::vector<std::string>& targets, std::chrono::milliseconds interval)
{
    std::string list;
    for (const std::string& t : targets) list += fmt::format("{}\"{}\"", list.empty() ? "" : ", ", t);
    return fmt::format("global:\n  scrape_interval: {0}ms\n  scrape_timeout: {0}ms\n"
                       "scrape_configs:\n  - job_name: respool\n    static_configs:\n      - targets: [{1}]\n",
                       interval.count(), list);
}

// fork + exec, so the child can ask to die with us (posix_spawn cannot).
// Only async-signal-safe calls between fork and exec: everything is prepared first.
pid_t spawn(const std::vector<std::string>& args, const std::string& log_path)
{
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log < 0) throw std::system_error(errno, std::generic_category(), "open " + log_path);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) ::_exit(127);
        ::dup2(log, 1);
        ::dup2(log, 2);
        const int null = ::open("/dev/null", O_RDONLY);
        if (null >= 0) ::dup2(null, 0);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    const int err = errno;
    ::close(log);
    if (pid < 0) throw std::system_error(err, std::generic_category(), "fork");
    return pid;
}

bool exited(pid_t pid, std::chrono::milliseconds within)
{
    const auto end = Clock::now() + within;
    do {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (Clock::now() < end);
    return false;
}

} // namespace

std::string url_encode(const std::string& text)
{
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
        else out += fmt::format("%{:02X}", c);
    }
    return out;
}

int http_get(std::uint16_t port, const std::string& path, std::string& body, std::chrono::milliseconds timeout)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        throw std::system_error(errno, std::generic_category(), fmt::format("connect to 127.0.0.1:{}", port));
    const std::string request = fmt::format("GET {} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n", path, port);
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
        throw std::system_error(errno, std::generic_category(), "send");
    std::string response;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) response.append(buf, static_cast<std::size_t>(n));
        else if (n == 0) break;
        else throw std::system_error(errno, std::generic_category(), "recv");
    }
    const std::size_t head_end = response.find("\r\n\r\n");
    if (response.rfind("HTTP/", 0) != 0 || head_end == std::string::npos)
        throw std::runtime_error("not an HTTP response: " + response.substr(0, 200));
    body = response.substr(head_end + 4);
    return std::stoi(response.substr(response.find(' ') + 1, 3));
}

PrometheusServer::PrometheusServer(std::vector<std::string> targets, std::chrono::milliseconds scrape_interval,
                                   std::chrono::milliseconds start_timeout)
    : dir_(std::make_unique<TempDir>("respool-prometheus")), targets_(std::move(targets))
{
    write_file(dir_->path() + "/prometheus.yml", config(targets_, scrape_interval));
    // The port may be taken between free_tcp_port and the bind: try a few.
    for (int attempt = 0; attempt < 3; ++attempt) {
        port_ = free_tcp_port();
        pid_ = spawn({"prometheus", "--config.file=" + dir_->path() + "/prometheus.yml",
                      "--storage.tsdb.path=" + dir_->path() + "/data",
                      fmt::format("--web.listen-address=127.0.0.1:{}", port_), "--log.level=warn",
                      "--storage.tsdb.retention.time=1h"},
                     dir_->path() + "/prometheus.log");
        const auto end = Clock::now() + start_timeout;
        while (Clock::now() < end) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                break;  // exited: a port taken, or a real failure (the log says)
            }
            try {
                std::string body;
                if (http_get(port_, "/-/ready", body, std::chrono::seconds(2)) == 200) return;
            } catch (const std::exception&) {
                // not listening yet
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (pid_ > 0) break;  // running but never ready: no point in another port
    }
    const std::string why = log();
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        exited(pid_, std::chrono::seconds(5));
    }
    throw std::runtime_error("prometheus did not become ready; its log:\n" + why);
}

PrometheusServer::~PrometheusServer()
{
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        if (!exited(pid_, std::chrono::seconds(10))) {
            ::kill(pid_, SIGKILL);
            exited(pid_, std::chrono::seconds(5));
        }
    }
}

std::string PrometheusServer::log() const
{
    try {
        return read_file(dir_->path() + "/prometheus.log");
    } catch (const std::exception& e) {
        return e.what();
    }
}

std::string PrometheusServer::query_json(const std::string& promql) const
{
    std::string body;
    const int status = http_get(port_, "/api/v1/query?query=" + url_encode(promql), body);
    if (status != 200) throw std::runtime_error(fmt::format("query {} answered {}: {}", promql, status, body));
    return body;
}

std::vector<PromSample> PrometheusServer::query(const std::string& promql) const
{
    // {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[1.5,"3"]},...]}}
    const std::string body = query_json(promql);
    static const std::regex sample(R"re(\{"metric":(\{[^}]*\}),"value":\[[-0-9.e+]+,"([^"]*)"\]\})re");
    std::vector<PromSample> out;
    for (auto it = std::sregex_iterator(body.begin(), body.end(), sample); it != std::sregex_iterator(); ++it) {
        const std::string v = (*it)[2];
        out.push_back(PromSample{(*it)[1], v == "NaN" ? std::nan("") : std::stod(v)});
    }
    return out;
}

bool PrometheusServer::wait_for_scrape(std::chrono::milliseconds timeout) const
{
    const auto end = Clock::now() + timeout;
    do {
        try {
            const auto up = query("up{job=\"respool\"} == 1");
            if (up.size() == targets_.size()) return true;
        } catch (const std::exception&) {
            // not answering queries yet
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    } while (Clock::now() < end);
    return false;
}

} // namespace respool::test
