// pgbouncer.hpp — a throwaway PgBouncer in front of a test cluster.
//
// `PgBouncer` writes a pgbouncer.ini and userlist into a fresh temporary
// directory, starts `pgbouncer -d` on a free loopback port (as the
// `postgres` system user when the test runs as root: PgBouncer refuses
// root) and returns when it accepts connections. Clients log in as the
// cluster's test role with its password (scram); PgBouncer logs in to the
// server the same way. The test role is also an admin, so `admin("PAUSE")`
// etc. run on PgBouncer's console. Destroying the object (or the test process
// dying, through a watchdog) stops PgBouncer and removes the directory.
//
// Thread-safety: `admin` and the query helpers may run from any thread;
// stop/start must not race each other. Usage:
//
//   respool::test::PgCluster pg;
//   respool::test::PgBouncer bouncer{pg, {.pool_mode = "transaction"}};
//   respool::pg::Adapter a{bouncer.conninfo()};
//   bouncer.admin("PAUSE"); bouncer.admin("RESUME");
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace respool::test {

class PgCluster;
class TempDir;
class Watchdog;

/// How to configure PgBouncer.
struct PgBouncerOptions {
    std::string pool_mode = "session";  ///< session, transaction or statement
    int default_pool_size = 4;          ///< server connections per database/user pair
    int max_client_conn = 100;
    /// Seconds PgBouncer waits before retrying a failed server login
    /// (its default is 15; the tests use 1 unless they study the stall).
    int server_login_retry = 1;
    /// Extra [pgbouncer] lines, e.g. "query_wait_timeout = 5".
    std::vector<std::string> settings;
};

/// A PgBouncer process owned by a test.
class PgBouncer {
public:
    /// Starts PgBouncer for `cluster`'s test database. Throws std::runtime_error
    /// with PgBouncer's log when it does not come up.
    explicit PgBouncer(const PgCluster& cluster, PgBouncerOptions options = {});
    /// Stops PgBouncer (SIGTERM, then SIGKILL) and removes its directory; never throws.
    ~PgBouncer();
    PgBouncer(const PgBouncer&) = delete;
    PgBouncer& operator=(const PgBouncer&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /// The test role through PgBouncer over TCP, with its password.
    std::string conninfo() const;

    /// Runs an admin console command ("PAUSE", "RESUME", "KILL respool_test",
    /// "SHOW POOLS"); the rows, each as its columns' text. Throws on error.
    std::vector<std::vector<std::string>> admin(const std::string& command,
                                                std::chrono::milliseconds timeout = std::chrono::seconds(30));

    /// Stops the process at once (SIGTERM: PgBouncer's immediate shutdown).
    void stop();
    /// Starts it again on the same port; returns when it accepts connections.
    void start();
    bool running() const;
    /// PgBouncer's log so far, for failure messages.
    std::string log() const;

private:
    void start_locked();
    void stop_locked() noexcept;
    int pid() const;

    const PgCluster& cluster_;
    PgBouncerOptions options_;
    std::unique_ptr<TempDir> dir_;
    std::unique_ptr<Watchdog> watchdog_;
    std::uint16_t port_ = 0;
    mutable std::mutex mutex_;
    bool running_ = false;
};

/// The pgbouncer program (PATH, else Debian's /usr/sbin/pgbouncer); throws
/// std::runtime_error when it is not installed (scripts/install-deps installs it).
const std::string& pgbouncer_program();

} // namespace respool::test
