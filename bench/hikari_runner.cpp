// hikari_runner.cpp — see hikari_runner.hpp.
#include "hikari_runner.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <regex>
#include <sstream>
#include <vector>

#include <unistd.h>

#include "local_servers/pg_command.hpp"

namespace bench {
namespace {

bool executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }
bool readable(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

/// `name` from $JAVA_HOME/bin, Debian's default JDK, then PATH; empty if none.
std::string find_tool(const std::string& name)
{
    std::vector<std::string> dirs;
    if (const char* home = std::getenv("JAVA_HOME")) dirs.push_back(std::string(home) + "/bin");
    dirs.push_back("/usr/lib/jvm/default-java/bin");
    if (const char* path = std::getenv("PATH")) {
        std::stringstream in(path);
        for (std::string dir; std::getline(in, dir, ':');)
            if (!dir.empty()) dirs.push_back(dir);
    }
    for (const std::string& dir : dirs)
        if (executable(dir + "/" + name)) return dir + "/" + name;
    return {};
}

std::string package_version(const std::string& package)
{
    try {
        auto r = respool::test::run_command({"dpkg-query", "-W", "-f=${Version}", package});
        return r.exit_code == 0 ? r.output : "?";
    } catch (const std::exception&) {
        return "?";
    }
}

} // namespace

std::optional<JdbcTarget> jdbc_target(const std::string& conninfo)
{
    JdbcTarget t{"", "5432", "", ""};
    std::stringstream in(conninfo);
    for (std::string word; in >> word;) {
        const auto eq = word.find('=');
        if (eq == std::string::npos) continue;
        const std::string key = word.substr(0, eq), value = word.substr(eq + 1);
        if (key == "host") t.host = value;
        else if (key == "port") t.port = value;
        else if (key == "dbname") t.dbname = value;
        else if (key == "user") t.user = value;
        else if (key == "password" && !std::getenv("PGPASSWORD")) ::setenv("PGPASSWORD", value.c_str(), 1);
    }
    if (t.host.empty() || t.host.starts_with('/')) return std::nullopt;
    if (t.user.empty()) {
        if (const char* u = std::getenv("USER")) t.user = u;
    }
    if (t.dbname.empty()) t.dbname = t.user;
    return t;
}

HikariRunner HikariRunner::find(const std::string& source_dir, const std::string& scratch_dir)
{
    HikariRunner h;
    const std::string javac = find_tool("javac");
    h.java_ = find_tool("java");
    std::vector<std::string> missing;
    if (javac.empty() || h.java_.empty()) missing.push_back("a JDK (package default-jdk-headless)");
    const std::string jars = "/usr/share/java/";
    struct Jar {
        const char* file;
        const char* package;
    };
    std::string classpath;
    for (const Jar& jar : {Jar{"HikariCP.jar", "libhikaricp-java"}, Jar{"postgresql.jar", "libpostgresql-jdbc-java"},
                           Jar{"slf4j-api.jar", "libslf4j-java"}}) {
        if (!readable(jars + jar.file)) missing.push_back(jars + jar.file + " (package " + jar.package + ")");
        classpath += jars + jar.file + ":";
    }
    if (readable(jars + "slf4j-nop.jar")) classpath += jars + "slf4j-nop.jar:";  // else slf4j warns once
    const std::string source = source_dir + "/HikariBench.java";
    if (!readable(source)) missing.push_back(source);
    if (!missing.empty()) {
        h.why_not_ = "missing ";
        for (std::size_t i = 0; i < missing.size(); ++i) h.why_not_ += (i ? ", " : "") + missing[i];
        return h;
    }
    try {
        auto r = respool::test::run_command({javac, "-nowarn", "-d", scratch_dir, "-cp", classpath, source});
        if (r.exit_code != 0) {
            h.why_not_ = "javac failed: " + r.output;
            return h;
        }
    } catch (const std::exception& e) {
        h.why_not_ = std::string("javac could not run: ") + e.what();
        return h;
    }
    h.classpath_ = classpath + scratch_dir;
    h.versions_ = "OpenJDK " + package_version("default-jdk-headless") + ", HikariCP " +
                  package_version("libhikaricp-java") + ", pgjdbc " + package_version("libpostgresql-jdbc-java");
    return h;
}

HikariRunner::Result HikariRunner::run(const JdbcTarget& target, bool prepared, int threads, int pool_size,
                                       double seconds, double warmup) const
{
    if (!available()) return {};
    std::vector<std::string> argv{java_, "-Xmx256m", "-cp", classpath_, "HikariBench", target.host, target.port,
                                  target.dbname, target.user, std::to_string(threads), std::to_string(pool_size),
                                  std::to_string(seconds), std::to_string(warmup), prepared ? "prepared" : "simple"};
    respool::test::CommandResult r;
    try {
        r = respool::test::run_command(argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "HikariBench could not run: %s\n", e.what());
        return {};
    }
    static const std::regex line(R"(hikari ops_per_sec=([0-9.]+) cpu_us_per_op=([0-9.]+))");
    std::smatch m;
    if (r.exit_code != 0 || !std::regex_search(r.output, m, line)) {
        std::fprintf(stderr, "HikariBench failed (exit %d): %s\n", r.exit_code, r.output.c_str());
        return {};
    }
    return {std::stod(m[1]), std::stod(m[2])};
}

} // namespace bench
