#include "pg_cluster.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pg_command.hpp"
#include "temp_dir.hpp"

namespace respool::test {

namespace fs = std::filesystem;

namespace {

constexpr const char* dir_prefix = "respool-pg-";

std::string temp_base()
{
    const char* base = std::getenv("TMPDIR");
    return base && *base ? base : "/tmp";
}

std::string tail(const std::string& text, std::size_t max = 3000)
{
    return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

// Clusters of test processes that died without cleaning up (and whose
// watchdog could not run, e.g. the machine was rebooted mid-test) are
// stopped here, so postmasters never pile up. A directory is stale when the
// process id in its name no longer exists.
void sweep_stale_clusters()
{
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(temp_base(), ec)) {
        std::string name = entry.path().filename().string();
        if (name.rfind(dir_prefix, 0) != 0) continue;
        long pid = std::strtol(name.c_str() + std::char_traits<char>::length(dir_prefix), nullptr, 10);
        if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
        std::string data = entry.path().string() + "/data";
        if (fs::exists(data + "/postmaster.pid", ec))
            run_command({pg_bindir() + "/pg_ctl", "-D", data, "stop", "-m", "immediate", "-w"}, true);
        fs::remove_all(entry.path(), ec);
    }
}

struct ConnCloser {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct ResultClearer {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnCloser>;
using ResultPtr = std::unique_ptr<PGresult, ResultClearer>;

ConnPtr connect_admin(const std::string& conninfo)
{
    // expand_dbname: the first value is a whole conninfo; the bounded
    // connect_timeout that follows overrides whatever it says.
    const char* keys[] = {"dbname", "connect_timeout", nullptr};
    const char* values[] = {conninfo.c_str(), "10", nullptr};
    ConnPtr conn(PQconnectdbParams(keys, values, 1));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
        throw std::runtime_error(std::string("test superuser connection failed: ") +
                                 (conn ? PQerrorMessage(conn.get()) : "out of memory"));
    PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
    return conn;
}

std::vector<std::string> run_query(PGconn* conn, const std::string& sql,
                                   const std::vector<std::string>& params)
{
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    ResultPtr res(PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0));
    auto status = PQresultStatus(res.get());
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
        throw std::runtime_error("test query failed: " + sql + ": " + PQerrorMessage(conn));
    std::vector<std::string> column;
    for (int row = 0; row < PQntuples(res.get()); ++row)
        column.emplace_back(PQgetvalue(res.get(), row, 0));
    return column;
}

// Who counts as "the test's connections": one application_name, or else
// every client backend of the test role.
constexpr const char* backend_filter =
    " FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
    " AND (CASE WHEN $1 = '' THEN usename = $2 ELSE application_name = $1 END)";

} // namespace

const std::string& pg_bindir()
{
    static const std::string dir = [] {
        std::string found;
        try {
            CommandResult r = run_command({"pg_config", "--bindir"});
            if (r.exit_code == 0) found = r.output.substr(0, r.output.find('\n'));
        } catch (const std::exception&) {
        }
        std::error_code ec;
        if (found.empty() || !fs::exists(found + "/initdb", ec)) found = "/usr/lib/postgresql/15/bin";
        if (!fs::exists(found + "/initdb", ec))
            throw std::runtime_error("PostgreSQL server programs (initdb, pg_ctl) not found: install "
                                     "the `postgresql` package, or set RESPOOL_TEST_PG_DSN");
        return found;
    }();
    return dir;
}

PgCluster::PgCluster(PgClusterOptions options) : options_(std::move(options))
{
    sweep_stale_clusters();
    dir_ = std::make_unique<TempDir>(dir_prefix + std::to_string(::getpid()));
    give_to_server_user(dir_->path());
    data_dir_ = dir_->path() + "/data";
    socket_dir_ = dir_->path();
    const std::string bindir = pg_bindir();
    // Armed before initdb, so no later failure can leave a server behind.
    watchdog_ = std::make_unique<Watchdog>(
        "if [ \"$(id -u)\" = 0 ]; then runuser -u postgres -- \"$3\" -D \"$1\" stop -m immediate -w;"
        " else \"$3\" -D \"$1\" stop -m immediate -w; fi; rm -rf \"$2\"",
        std::vector<std::string>{data_dir_, dir_->path(), bindir + "/pg_ctl"});
    if (options_.standby_of) {
        base_backup(*options_.standby_of);
    } else {
        run_checked({bindir + "/initdb", "-D", data_dir_, "-U", admin_, "-A", "trust", "-E", "UTF8",
                     "--locale=C", "--no-sync", "--no-instructions"},
                    true);
        init_files();
    }
    std::lock_guard lock(mutex_);
    // A free port can be taken by someone else before the server binds it.
    for (int attempt = 1;; ++attempt) {
        port_ = free_tcp_port();
        try {
            start_locked();
            break;
        } catch (const std::exception&) {
            if (attempt == 5 || log().find("already in use") == std::string::npos) throw;
        }
    }
    if (!options_.standby_of) setup_roles();  // a replica has the primary's roles and databases
}

// The replica copies the primary's configuration (port aside, which is given
// at start); only its socket directory must be its own.
void PgCluster::base_backup(const PgCluster& primary)
{
    if (primary.is_external() || !primary.running())
        throw std::logic_error("a replica needs an owned, running primary cluster");
    admin_ = primary.admin_;
    run_checked({pg_bindir() + "/pg_basebackup", "-D", data_dir_, "-h", primary.socket_dir_, "-p",
                 std::to_string(primary.port_), "-U", admin_, "-R", "-X", "stream", "-c", "fast",
                 "--no-sync"},
                true);
    std::ofstream conf(data_dir_ + "/postgresql.conf", std::ios::app);
    conf << "\n# respool test replica\nunix_socket_directories = '" << socket_dir_ << "'\n"
         << "hot_standby = on\n";
    if (!conf) throw std::runtime_error("cannot write " + data_dir_ + "/postgresql.conf");
    standby_ = true;
}

PgCluster::PgCluster(std::string dsn, int) : dsn_(std::move(dsn))
{
    ConnPtr conn = connect_admin(dsn_);
    user_ = run_query(conn.get(), "SELECT current_user", {}).at(0);
    dbname_ = run_query(conn.get(), "SELECT current_database()", {}).at(0);
    password_.clear();
    const char* host = PQhost(conn.get());
    host_ = host ? host : "";
    port_ = static_cast<std::uint16_t>(std::atoi(PQport(conn.get())));
    running_ = true;
}

std::unique_ptr<PgCluster> PgCluster::external(std::string dsn)
{
    return std::unique_ptr<PgCluster>(new PgCluster(std::move(dsn), 0));
}

PgCluster::~PgCluster()
{
    if (is_external()) return;
    {
        std::lock_guard lock(mutex_);
        stop_locked();
    }
    watchdog_.reset();  // runs its cleanup now: nothing left to stop, removes the directory
    dir_.reset();
}

void PgCluster::init_files()
{
    const bool tls = !options_.ssl_cert_file.empty();
    std::ofstream conf(data_dir_ + "/postgresql.conf", std::ios::app);
    conf << "\n# respool test cluster\n"
         << "listen_addresses = '127.0.0.1,::1'\n"
         << "unix_socket_directories = '" << socket_dir_ << "'\n"
         << "max_connections = " << options_.max_connections << "\n"
         << "shared_buffers = '32MB'\n"
         // Throwaway data: durability only costs time here.
         << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
         << "log_min_messages = warning\n";
    if (tls) {
        for (auto [src, name] : {std::pair{options_.ssl_cert_file, "server.crt"},
                                 std::pair{options_.ssl_key_file, "server.key"},
                                 std::pair{options_.ssl_ca_file, "ca.crt"}}) {
            if (src.empty()) continue;
            std::string dst = data_dir_ + "/" + name;
            write_file(dst, read_file(src));
            ::chmod(dst.c_str(), 0600);  // the server refuses a key others can read
            give_to_server_user(dst);
        }
        conf << "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n";
        if (!options_.ssl_ca_file.empty()) conf << "ssl_ca_file = 'ca.crt'\n";
    }
    for (const auto& line : options_.settings) conf << line << "\n";
    if (!conf) throw std::runtime_error("cannot write " + data_dir_ + "/postgresql.conf");

    // The replication line lets a replica (pg_basebackup, walreceiver) in over the socket.
    std::string hba = "local all all trust\nlocal replication all trust\n";
    for (const char* kind : tls ? std::vector{"hostssl", "host"} : std::vector{"host"}) {
        hba += std::string(kind) + " all all 127.0.0.1/32 scram-sha-256\n";
        hba += std::string(kind) + " all all ::1/128 scram-sha-256\n";
    }
    write_file(data_dir_ + "/pg_hba.conf", hba);
}

void PgCluster::start_locked()
{
    CommandResult r = run_command({pg_bindir() + "/pg_ctl", "-D", data_dir_, "-l",
                                   dir_->path() + "/server.log", "-w", "-t", "60", "-o",
                                   "-p " + std::to_string(port_), "start"},
                                  true);
    if (r.exit_code != 0)
        throw std::runtime_error("pg_ctl start failed (exit " + std::to_string(r.exit_code) +
                                 "): " + r.output + "\nserver log:\n" + tail(log()));
    running_ = true;
}

void PgCluster::stop_locked(const char* mode) noexcept
{
    try {
        run_command({pg_bindir() + "/pg_ctl", "-D", data_dir_, "stop", "-m", mode, "-w", "-t", "30"},
                    true);
    } catch (const std::exception&) {
        // The watchdog stops it when this process exits.
    }
    running_ = false;
}

void PgCluster::setup_roles()
{
    create_role(user_, password_);
    query("CREATE DATABASE " + dbname_ + " OWNER " + user_);
}

std::string PgCluster::conninfo() const
{
    if (is_external()) return dsn_;
    return "host=" + host_ + " port=" + std::to_string(port_) + " user=" + user_ +
           " password=" + password_ + " dbname=" + dbname_;
}

std::string PgCluster::socket_conninfo() const
{
    if (is_external()) return dsn_;
    return "host=" + socket_dir_ + " port=" + std::to_string(port_) + " user=" + user_ +
           " dbname=" + dbname_;
}

std::string PgCluster::superuser_conninfo() const
{
    if (is_external()) return dsn_;
    return "host=" + socket_dir_ + " port=" + std::to_string(port_) + " user=" + admin_ +
           " dbname=postgres";
}

void PgCluster::stop_immediate()
{
    if (is_external())
        throw std::logic_error("cannot stop a server given by RESPOOL_TEST_PG_DSN");
    std::lock_guard lock(mutex_);
    stop_locked();
}

void PgCluster::stop()
{
    if (is_external())
        throw std::logic_error("cannot stop a server given by RESPOOL_TEST_PG_DSN");
    std::lock_guard lock(mutex_);
    stop_locked("fast");
}

void PgCluster::promote()
{
    if (is_external())
        throw std::logic_error("cannot promote a server given by RESPOOL_TEST_PG_DSN");
    std::lock_guard lock(mutex_);
    if (!standby_) throw std::logic_error("promote: this cluster is not a standby");
    CommandResult r = run_command({pg_bindir() + "/pg_ctl", "-D", data_dir_, "promote", "-w", "-t", "60"}, true);
    if (r.exit_code != 0)
        throw std::runtime_error("pg_ctl promote failed (exit " + std::to_string(r.exit_code) +
                                 "): " + r.output + "\nserver log:\n" + tail(log()));
    standby_ = false;
}

bool PgCluster::is_standby() const
{
    std::lock_guard lock(mutex_);
    return standby_;
}

void PgCluster::start()
{
    if (is_external())
        throw std::logic_error("cannot start a server given by RESPOOL_TEST_PG_DSN");
    std::lock_guard lock(mutex_);
    start_locked();
}

void PgCluster::restart()
{
    stop_immediate();
    start();
}

bool PgCluster::running() const
{
    std::lock_guard lock(mutex_);
    return running_;
}

void PgCluster::create_role(const std::string& name, const std::string& password)
{
    ConnPtr conn = connect_admin(superuser_conninfo());
    bool exists = !run_query(conn.get(), "SELECT 1 FROM pg_roles WHERE rolname = $1", {name}).empty();
    auto escape = [&](const std::string& s, bool identifier) {
        char* e = identifier ? PQescapeIdentifier(conn.get(), s.c_str(), s.size())
                             : PQescapeLiteral(conn.get(), s.c_str(), s.size());
        if (!e) throw std::runtime_error("cannot escape a role name or password");
        std::string out = e;
        PQfreemem(e);
        return out;
    };
    run_query(conn.get(),
              std::string(exists ? "ALTER" : "CREATE") + " ROLE " + escape(name, true) +
                  " LOGIN PASSWORD " + escape(password, false),
              {});
}

int PgCluster::terminate_backends(const std::string& application_name)
{
    ConnPtr conn = connect_admin(superuser_conninfo());
    return std::stoi(run_query(conn.get(),
                               std::string("SELECT count(pg_terminate_backend(pid))") + backend_filter,
                               {application_name, user_})
                         .at(0));
}

int PgCluster::count_connections(const std::string& application_name)
{
    ConnPtr conn = connect_admin(superuser_conninfo());
    return std::stoi(
        run_query(conn.get(), std::string("SELECT count(*)") + backend_filter, {application_name, user_})
            .at(0));
}

std::vector<std::string> PgCluster::query(const std::string& sql, const std::vector<std::string>& params)
{
    ConnPtr conn = connect_admin(superuser_conninfo());
    return run_query(conn.get(), sql, params);
}

std::string PgCluster::log() const
{
    if (is_external() || !dir_) return {};
    try {
        return read_file(dir_->path() + "/server.log");
    } catch (const std::exception&) {
        return {};
    }
}

} // namespace respool::test
