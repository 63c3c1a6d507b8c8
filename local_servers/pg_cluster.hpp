// pg_cluster.hpp — a throwaway PostgreSQL server for tests and benchmarks.
//
// `PgCluster` runs initdb into a fresh temporary directory, starts the server
// on a free loopback port with its unix socket in that directory, and creates
// a test role (scram password over TCP) owning a test database. It stops the
// server (`-m immediate`) and removes the directory when destroyed, and a
// watchdog process does the same if the test process dies first; creating a
// cluster also stops clusters left behind by test processes that no longer
// exist. As root, the server programs run as the `postgres` system user.
//
// With `PgClusterOptions::standby_of` set, the new cluster is a streaming
// replica of another (owned, running) cluster instead: `pg_basebackup -R`
// from the primary into its own directory, started on its own free port as a
// hot standby. `promote()` turns it into a primary (`pg_ctl promote`), and
// `stop()` shuts the primary down cleanly, so the standby has every committed
// transaction before it is promoted (a planned switchover; `stop_immediate()`
// is a crash, after which the last commits may be missing on the standby).
//
// `PgCluster::external(dsn)` wraps an existing server instead (tests read it
// from RESPOOL_TEST_PG_DSN): then everything works except stopping and
// starting the server, which throws std::logic_error.
//
// Thread-safety: the query helpers may be called from any thread; start/stop
// must not race each other. Usage:
//
//   respool::test::PgCluster pg;                      // initdb + start, ~1-2 s
//   respool::pg::Adapter a{pg.conninfo()};            // TCP, the test role
//   pg.terminate_backends("my-test");                 // by application_name
//   pg.stop_immediate(); pg.start();
//
//   respool::test::PgCluster replica{{.standby_of = &pg}};  // basebackup + start
//   pg.stop(); replica.promote();                         // switchover
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace respool::test {

class PgCluster;
class TempDir;
class Watchdog;

/// How to configure a new cluster.
struct PgClusterOptions {
    /// PEM files; when `ssl_cert_file` is set the server runs with ssl=on and
    /// pg_hba accepts TLS ("hostssl") as well as plain TCP connections.
    std::string ssl_cert_file;
    std::string ssl_key_file;
    std::string ssl_ca_file;
    /// The server's max_connections.
    int max_connections = 60;
    /// Extra postgresql.conf lines, e.g. "log_min_messages = debug1".
    std::vector<std::string> settings;
    /// When set: a streaming replica of this cluster (which must be owned and
    /// running, and outlive the replica's start); the other fields are taken
    /// from the primary's files and ignored.
    const PgCluster* standby_of = nullptr;
};

/// A PostgreSQL server owned (or borrowed, see `external`) by a test.
class PgCluster {
public:
    /// Creates and starts a cluster. Throws std::runtime_error with the
    /// failing command's output or the server log.
    explicit PgCluster(PgClusterOptions options = {});
    /// Wraps an existing server given by a conninfo string or URI.
    static std::unique_ptr<PgCluster> external(std::string dsn);
    /// Stops the server and removes the directory (owned clusters); never throws.
    ~PgCluster();
    PgCluster(const PgCluster&) = delete;
    PgCluster& operator=(const PgCluster&) = delete;

    /// True when wrapping a server given by a DSN.
    bool is_external() const noexcept { return !dsn_.empty(); }

    std::uint16_t port() const noexcept { return port_; }
    /// "127.0.0.1".
    const std::string& host() const noexcept { return host_; }
    /// The directory holding the unix socket.
    const std::string& socket_dir() const noexcept { return socket_dir_; }
    const std::string& user() const noexcept { return user_; }
    const std::string& password() const noexcept { return password_; }
    const std::string& dbname() const noexcept { return dbname_; }

    /// The test role over TCP with its password (an external server: its DSN).
    std::string conninfo() const;
    /// The test role over the unix socket (trusted, no password).
    std::string socket_conninfo() const;
    /// A superuser over the unix socket, for test queries (external: the DSN).
    std::string superuser_conninfo() const;

    /// `pg_ctl stop -m immediate`: every backend dies without goodbye.
    void stop_immediate();
    /// `pg_ctl stop -m fast`: sessions end, and streaming replicas receive
    /// every committed transaction before the server exits.
    void stop();
    /// `pg_ctl promote`: a standby becomes a primary; returns once it accepts writes.
    void promote();
    /// True when this cluster was made as a replica and has not been promoted.
    bool is_standby() const;
    /// Starts the stopped server on the same port; returns when it accepts connections.
    void start();
    /// stop_immediate() then start().
    void restart();
    /// True while the server runs (as far as this object knows).
    bool running() const;

    /// Creates (or replaces) a login role with `password` that may use the test database.
    void create_role(const std::string& name, const std::string& password);
    /// Ends every client backend of the test role (or with this application_name).
    /// Returns how many were signalled.
    int terminate_backends(const std::string& application_name = {});
    /// Client backends of the test role (or with this application_name).
    int count_connections(const std::string& application_name = {});
    /// Runs `sql` as superuser with text parameters; the first column of each row.
    std::vector<std::string> query(const std::string& sql,
                                   const std::vector<std::string>& params = {});
    /// The server log so far (owned clusters), for failure messages.
    std::string log() const;

private:
    PgCluster(std::string dsn, int);  // external
    void init_files();
    void start_locked();
    void stop_locked(const char* mode = "immediate") noexcept;
    void setup_roles();
    void base_backup(const PgCluster& primary);

    PgClusterOptions options_;
    std::string dsn_;
    std::unique_ptr<TempDir> dir_;
    std::unique_ptr<Watchdog> watchdog_;
    std::string data_dir_;
    std::string socket_dir_;
    std::string host_ = "127.0.0.1";
    std::string user_ = "respool_test";
    std::string password_ = "Respool-Test-Secret-4711";
    std::string dbname_ = "respool_test";
    std::string admin_ = "respool_admin";
    std::uint16_t port_ = 0;
    mutable std::mutex mutex_;  // guards running_ and start/stop
    bool running_ = false;
    bool standby_ = false;  // guarded by mutex_
};

/// Binaries of the installed server (`pg_config --bindir`, else the Debian path).
const std::string& pg_bindir();

} // namespace respool::test
