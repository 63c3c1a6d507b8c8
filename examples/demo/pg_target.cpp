// The PostgreSQL target: a throwaway cluster (local_servers/pg_cluster) or an
// existing server, and a pool of libpq connections. Its fault is the harshest
// a database can do: `pg_ctl stop -m immediate` (every backend dies without a
// goodbye, as in a crash), then a start on the same port.
#include <respool/pg.hpp>

#include <fmt/format.h>

#include "pooled_target.hpp"
#include "local_servers/pg_cluster.hpp"
#include "targets.hpp"

namespace demo {

namespace {

// Lets an external server's fault find exactly the demo's backends.
constexpr const char* application_name = "respool-demo";

std::string first_line(const std::string& text)
{
    return text.substr(0, text.find('\n'));
}

// A cluster, or a StartError a newcomer can act on.
std::unique_ptr<respool::test::PgCluster> start_cluster(const DemoConfig& config)
{
    try {
        if (!config.dsn.empty()) return respool::test::PgCluster::external(config.dsn);
        return std::make_unique<respool::test::PgCluster>();
    } catch (const std::exception& e) {
        const std::string what = e.what();
        if (!config.dsn.empty()) {
            // The support names its connection for tests; here it is the user's server.
            std::string reason = first_line(what);
            const std::string test_prefix = "test superuser connection failed: ";
            if (reason.rfind(test_prefix, 0) == 0) reason.erase(0, test_prefix.size());
            throw StartError("cannot connect to the PostgreSQL given by --dsn: " + reason);
        }
        if (what.find("not found") != std::string::npos)
            throw StartError("the PostgreSQL server programs (initdb, pg_ctl) are not installed. Install them "
                             "(Debian: apt install postgresql), point --dsn at an existing server, or leave "
                             "PostgreSQL out with --only grpc,tcp");
        throw StartError("cannot start a throwaway PostgreSQL cluster: " + what);
    }
}

class PgTarget final : public PooledTarget<respool::pg::Adapter> {
public:
    PgTarget(const DemoConfig& config, std::shared_ptr<respool::EventListener> listener)
        : cluster_(start_cluster(config))
    {
        respool::pg::Options o;
        o.conninfo = cluster_->conninfo();
        o.params = {{"application_name", application_name}};
        o.reset_timeout = request_timeout;
        try {
            version_ = cluster_->query("SHOW server_version").at(0);
        } catch (const std::exception&) {
            version_ = "?";  // only for the banner
        }
        start_pool(respool::pg::Adapter{o}, demo_pool_options("pg", config.pool_size, std::move(listener)));
    }
    ~PgTarget() override { stop_pool(); }

    std::string_view name() const noexcept override { return "pg"; }
    std::string server() const override
    {
        // Host and port only: a DSN may carry a password.
        return fmt::format("PostgreSQL {}, {} on {}:{}", first_line(version_),
                           cluster_->is_external() ? "the server given by --dsn" : "throwaway cluster",
                           cluster_->host(), cluster_->port());
    }
    std::string work() const override
    {
        return fmt::format("SELECT $1::int FROM pg_sleep($2), the server sleeping {} ms", hold_time.count());
    }

    std::string fault() const override
    {
        return cluster_->is_external() ? "pg_terminate_backend() of every demo connection"
                                       : "pg_ctl stop -m immediate, later started again";
    }
    void begin_fault() override
    {
        if (cluster_->is_external()) cluster_->terminate_backends(application_name);
        else cluster_->stop_immediate();
    }
    bool fault_lasts() const override { return !cluster_->is_external(); }
    void end_fault() override
    {
        try {
            cluster_->start();
        } catch (const std::exception& e) {
            const std::string what = e.what();
            if (what.find("already in use") != std::string::npos)
                throw std::runtime_error(fmt::format(
                    "cannot restart PostgreSQL: port {} was taken by another process during the outage",
                    cluster_->port()));
            throw std::runtime_error("cannot restart PostgreSQL: " + first_line(what));
        }
    }

protected:
    void use(Lease& lease, std::uint64_t n) override
    {
        const int expected = static_cast<int>(n % 1000);
        // SQL runs for hold_time on the server; the answer proves the round trip.
        const double sleep_s = std::chrono::duration<double>(hold_time).count();
        const auto result = lease->exec_until(respool::deadline_after(request_timeout),
                                              "SELECT $1::int FROM pg_sleep($2)", expected, sleep_s);
        if (result.value<int>() != expected) throw std::runtime_error("pg: wrong answer");
    }

private:
    std::unique_ptr<respool::test::PgCluster> cluster_;
    std::string version_;
};

} // namespace

std::unique_ptr<Target> make_pg_target(const DemoConfig& config, std::shared_ptr<respool::EventListener> listener)
{
    return std::make_unique<PgTarget>(config, std::move(listener));
}

} // namespace demo
