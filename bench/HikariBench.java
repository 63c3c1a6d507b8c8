// HikariBench — bench_pg's `pool` mode with HikariCP and pgjdbc, so the pool
// users would pick otherwise is measured in the same run, not quoted.
//
// Every operation borrows a connection from a HikariCP pool of POOL_SIZE
// (minimumIdle = maximumPoolSize, as bench_pg's pool has min_idle = max_size),
// runs `SELECT 1` and gives the connection back:
//   simple    Statement.executeQuery with preferQueryMode=simple (the simple
//             query protocol, as PQsendQuery)
//   prepared  PreparedStatement with prepareThreshold=1: pgjdbc prepares it
//             once per connection and then binds and executes the named
//             statement (as exec_prepared)
// The JVM first runs WARMUP seconds unmeasured (JIT compilation), then
// SECONDS measured. Client CPU is the whole JVM's (all threads: workers, JIT,
// GC) over the measured seconds, divided by the queries done in them.
//
// Usage: java -cp HikariCP.jar:postgresql.jar:slf4j-api.jar:slf4j-nop.jar:DIR HikariBench \
//            HOST PORT DBNAME USER THREADS POOL_SIZE SECONDS WARMUP simple|prepared
// The password, if any, comes from the PGPASSWORD environment variable (never
// the command line). Prints one line:
//   hikari ops_per_sec=N cpu_us_per_op=N threads=N pool_size=N
// Exit 1 with a message on stderr on any failure.
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

public final class HikariBench {
    public static void main(String[] args) throws Exception {
        if (args.length != 9) {
            System.err.println(
                "usage: HikariBench HOST PORT DBNAME USER THREADS POOL_SIZE SECONDS WARMUP simple|prepared");
            System.exit(2);
        }
        final String host = args[0], port = args[1], dbname = args[2], user = args[3];
        final int threads = Integer.parseInt(args[4]);
        final int poolSize = Integer.parseInt(args[5]);
        final double seconds = Double.parseDouble(args[6]);
        final double warmup = Double.parseDouble(args[7]);
        final boolean prepared = args[8].equals("prepared");

        HikariConfig config = new HikariConfig();
        config.setJdbcUrl("jdbc:postgresql://" + host + ":" + port + "/" + dbname);
        config.setUsername(user);
        String password = System.getenv("PGPASSWORD");
        if (password != null) config.setPassword(password);
        config.setMaximumPoolSize(poolSize);
        config.setMinimumIdle(poolSize);
        config.setConnectionTimeout(60_000);
        config.addDataSourceProperty("preferQueryMode", prepared ? "extended" : "simple");
        config.addDataSourceProperty("prepareThreshold", "1");

        final LongAdder done = new LongAdder();
        final AtomicBoolean stop = new AtomicBoolean(false);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        try (HikariDataSource pool = new HikariDataSource(config)) {
            for (int i = 0; i < 500 && pool.getHikariPoolMXBean().getIdleConnections() < poolSize; ++i)
                Thread.sleep(10);  // every connection made before the clock starts, as bench_pg's pool
                                   // waits for min_idle
            final CountDownLatch ready = new CountDownLatch(threads);
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; ++t) {
                Thread w = new Thread(() -> {
                    ready.countDown();
                    try {
                        while (!stop.get()) {
                            try (Connection c = pool.getConnection()) {
                                if (prepared) {
                                    try (PreparedStatement ps = c.prepareStatement("SELECT 1");
                                         ResultSet rs = ps.executeQuery()) {
                                        rs.next();
                                    }
                                } else {
                                    try (Statement st = c.createStatement();
                                         ResultSet rs = st.executeQuery("SELECT 1")) {
                                        rs.next();
                                    }
                                }
                            }
                            done.increment();
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                        stop.set(true);
                    }
                });
                workers.add(w);
                w.start();
            }
            ready.await();
            Thread.sleep((long) (warmup * 1000));
            com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            final long cpuStart = os.getProcessCpuTime();
            final long doneStart = done.sum();
            final long start = System.nanoTime();
            Thread.sleep((long) (seconds * 1000));
            final long doneEnd = done.sum();
            final long elapsed = System.nanoTime() - start;
            final long cpuEnd = os.getProcessCpuTime();
            stop.set(true);
            for (Thread w : workers) w.join();
            if (failure.get() != null) {
                System.err.println("HikariBench: a query failed: " + failure.get());
                System.exit(1);
            }
            final long queries = doneEnd - doneStart;
            final double opsPerSec = queries * 1e9 / elapsed;
            final double cpuUsPerOp = queries > 0 ? (cpuEnd - cpuStart) / 1e3 / queries : 0;
            System.out.printf(java.util.Locale.ROOT, "hikari ops_per_sec=%.1f cpu_us_per_op=%.3f threads=%d pool_size=%d%n", opsPerSec,
                              cpuUsPerOp, threads, poolSize);
        }
    }
}
