// hikari_runner — runs HikariBench.java (HikariCP + pgjdbc) for bench_pg.
//
// Optional by design: `HikariRunner::find` looks for a JDK (javac and java)
// and Debian's jars (libhikaricp-java, libpostgresql-jdbc-java, slf4j), and
// compiles HikariBench.java into a scratch directory. When anything is
// missing it says what in `why_not`, and bench_pg prints that and carries on
// without HikariCP: the bench never fails for want of Java.
// Thread-safety: one object, used from one thread.
#pragma once

#include <optional>
#include <string>

namespace bench {

/// Where the JVM connects: pgjdbc speaks TCP only (a unix socket needs
/// junixsocket), so a host and port. The password travels in PGPASSWORD.
struct JdbcTarget {
    std::string host, port, dbname, user;
};

/// Parses `host=... port=... dbname=... user=...` (libpq's key=value form,
/// unquoted values); nullopt when there is no host or it is a socket directory.
std::optional<JdbcTarget> jdbc_target(const std::string& conninfo);

class HikariRunner {
public:
    /// Looks for Java and the jars, compiles HikariBench.java from
    /// `source_dir` into `scratch_dir`. Never throws; see `available`.
    static HikariRunner find(const std::string& source_dir, const std::string& scratch_dir);

    bool available() const { return why_not_.empty(); }
    /// Empty when available, else what is missing (package names included).
    const std::string& why_not() const { return why_not_; }
    /// e.g. "OpenJDK 17, HikariCP 2.7.9, pgjdbc 42.5.5"
    const std::string& versions() const { return versions_; }

    struct Result {
        double ops_per_sec = 0;  ///< 0 when the run failed (the reason went to stderr)
        double cpu_us_per_op = 0;
    };
    /// One measured run: `threads` threads on a pool of `pool_size`, `SELECT 1`
    /// with the simple (`prepared` false) or prepared protocol, `warmup`
    /// seconds unmeasured, then `seconds` measured.
    Result run(const JdbcTarget& target, bool prepared, int threads, int pool_size, double seconds,
               double warmup) const;

private:
    std::string why_not_, versions_, java_, classpath_;
};

} // namespace bench
