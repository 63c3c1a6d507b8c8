#include "pgbouncer.hpp"

#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <libpq-fe.h>
#include <poll.h>

#include "local_servers/pg_cluster.hpp"
#include "local_servers/pg_command.hpp"
#include "local_servers/temp_dir.hpp"

namespace respool::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string tail(const std::string& text, std::size_t max = 3000)
{
    return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

// True when a TCP connect to 127.0.0.1:port succeeds and the peer answers a
// libpq connect attempt far enough to ask for authentication or fail it.
bool accepts(std::uint16_t port)
{
    std::string info = "host=127.0.0.1 port=" + std::to_string(port) + " dbname=pgbouncer user=none connect_timeout=2";
    PGPing ping = PQping(info.c_str());
    return ping == PQPING_OK || ping == PQPING_REJECT;
}

} // namespace

const std::string& pgbouncer_program()
{
    static const std::string path = [] {
        for (const char* candidate : {"/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer"}) {
            std::error_code ec;
            if (fs::exists(candidate, ec)) return std::string(candidate);
        }
        throw std::runtime_error("pgbouncer not found: run scripts/install-deps (Debian package pgbouncer)");
    }();
    return path;
}

PgBouncer::PgBouncer(const PgCluster& cluster, PgBouncerOptions options)
    : cluster_(cluster), options_(std::move(options))
{
    pgbouncer_program();  // fails early, with the hint, when it is not installed
    dir_ = std::make_unique<TempDir>("respool-pgbouncer");
    give_to_server_user(dir_->path());
    const std::string d = dir_->path();
    watchdog_ = std::make_unique<Watchdog>(
        "if [ -f \"$1/pgbouncer.pid\" ]; then kill -TERM \"$(cat \"$1/pgbouncer.pid\")\" 2>/dev/null; sleep 1;"
        " kill -KILL \"$(cat \"$1/pgbouncer.pid\")\" 2>/dev/null; fi; rm -rf \"$1\"",
        std::vector<std::string>{d});
    port_ = free_tcp_port();
    std::string ini = "[databases]\n" + cluster.dbname() + " = host=" + cluster.host() +
                      " port=" + std::to_string(cluster.port()) + " dbname=" + cluster.dbname() + "\n\n" +
                      "[pgbouncer]\n"
                      "listen_addr = 127.0.0.1\n"
                      "listen_port = " + std::to_string(port_) + "\n"
                      "unix_socket_dir = " + d + "\n"
                      "auth_type = scram-sha-256\n"
                      "auth_file = " + d + "/userlist.txt\n"
                      "admin_users = " + cluster.user() + "\n"
                      "pool_mode = " + options_.pool_mode + "\n"
                      "default_pool_size = " + std::to_string(options_.default_pool_size) + "\n"
                      "max_client_conn = " + std::to_string(options_.max_client_conn) + "\n"
                      "server_login_retry = " + std::to_string(options_.server_login_retry) + "\n"
                      "ignore_startup_parameters = extra_float_digits,options\n"
                      "logfile = " + d + "/pgbouncer.log\n"
                      "pidfile = " + d + "/pgbouncer.pid\n";
    for (const auto& line : options_.settings) ini += line + "\n";
    write_file(d + "/pgbouncer.ini", ini);
    write_file(d + "/userlist.txt", "\"" + cluster.user() + "\" \"" + cluster.password() + "\"\n");
    give_to_server_user(d + "/pgbouncer.ini");
    give_to_server_user(d + "/userlist.txt");
    std::lock_guard lock(mutex_);
    start_locked();
}

PgBouncer::~PgBouncer()
{
    {
        std::lock_guard lock(mutex_);
        stop_locked();
    }
    watchdog_.reset();
    dir_.reset();
}

std::string PgBouncer::conninfo() const
{
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + cluster_.user() +
           " password=" + cluster_.password() + " dbname=" + cluster_.dbname();
}

void PgBouncer::start()
{
    std::lock_guard lock(mutex_);
    start_locked();
}

void PgBouncer::stop()
{
    std::lock_guard lock(mutex_);
    stop_locked();
}

bool PgBouncer::running() const
{
    std::lock_guard lock(mutex_);
    return running_;
}

void PgBouncer::start_locked()
{
    // A pidfile left by a PgBouncer that died would make the new one refuse to start.
    if (int p = pid(); p > 0 && ::kill(p, 0) != 0) {
        std::error_code ec;
        fs::remove(dir_->path() + "/pgbouncer.pid", ec);
    }
    CommandResult r = run_command({pgbouncer_program(), "-d", dir_->path() + "/pgbouncer.ini"}, true);
    if (r.exit_code != 0)
        throw std::runtime_error("pgbouncer failed to start (exit " + std::to_string(r.exit_code) + "): " +
                                 r.output + "\nlog:\n" + tail(log()));
    auto end = std::chrono::steady_clock::now() + 30s;
    while (!accepts(port_)) {
        if (std::chrono::steady_clock::now() > end)
            throw std::runtime_error("pgbouncer did not accept connections within 30 s\nlog:\n" + tail(log()));
        std::this_thread::sleep_for(20ms);
    }
    running_ = true;
}

int PgBouncer::pid() const
{
    try {
        return std::stoi(read_file(dir_->path() + "/pgbouncer.pid"));
    } catch (const std::exception&) {
        return -1;
    }
}

void PgBouncer::stop_locked() noexcept
{
    int p = pid();
    if (p > 0) {
        ::kill(p, SIGTERM);
        auto end = std::chrono::steady_clock::now() + 10s;
        while (::kill(p, 0) == 0 && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(10ms);
        if (::kill(p, 0) == 0) ::kill(p, SIGKILL);
        while (::kill(p, 0) == 0) std::this_thread::sleep_for(10ms);
        std::error_code ec;
        fs::remove(dir_->path() + "/pgbouncer.pid", ec);
    }
    running_ = false;
}

std::vector<std::vector<std::string>> PgBouncer::admin(const std::string& command,
                                                       std::chrono::milliseconds timeout)
{
    std::string info = "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=pgbouncer user=" +
                       cluster_.user() + " password=" + cluster_.password() + " connect_timeout=10";
    PGconn* conn = PQconnectdb(info.c_str());
    struct Closer {
        PGconn* c;
        ~Closer() { PQfinish(c); }
    } closer{conn};
    if (!conn || PQstatus(conn) != CONNECTION_OK)
        throw std::runtime_error(std::string("pgbouncer admin login failed: ") + (conn ? PQerrorMessage(conn) : ""));
    // The console only speaks the simple protocol.
    if (!PQsendQuery(conn, command.c_str()))
        throw std::runtime_error("pgbouncer admin: cannot send " + command + ": " + PQerrorMessage(conn));
    auto end = std::chrono::steady_clock::now() + timeout;
    std::vector<std::vector<std::string>> rows;
    std::string error;
    for (;;) {
        while (PQisBusy(conn)) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
            if (left <= 0ms) throw std::runtime_error("pgbouncer admin: " + command + " did not finish in time");
            pollfd p{PQsocket(conn), POLLIN, 0};
            ::poll(&p, 1, static_cast<int>(left.count()));
            if (!PQconsumeInput(conn))
                throw std::runtime_error("pgbouncer admin: " + command + ": " + PQerrorMessage(conn));
        }
        PGresult* r = PQgetResult(conn);
        if (!r) break;
        if (PQresultStatus(r) == PGRES_FATAL_ERROR) error = PQresultErrorMessage(r);
        for (int row = 0; row < PQntuples(r); ++row) {
            std::vector<std::string> cols;
            for (int col = 0; col < PQnfields(r); ++col) cols.emplace_back(PQgetvalue(r, row, col));
            rows.push_back(std::move(cols));
        }
        PQclear(r);
    }
    if (!error.empty()) throw std::runtime_error("pgbouncer admin: " + command + ": " + error);
    return rows;
}

std::string PgBouncer::log() const
{
    try {
        return read_file(dir_->path() + "/pgbouncer.log");
    } catch (const std::exception&) {
        return {};
    }
}

} // namespace respool::test
