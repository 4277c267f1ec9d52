package dev.bigqueue.bench;

import dev.bigqueue.bench.peer.PeerType;
import dev.bigqueue.bench.run.LatencyResult;
import dev.bigqueue.bench.run.LatencyRun;
import dev.bigqueue.bench.run.Units;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * End-to-end latency, producer thread to consumer thread, 128 B messages at fixed rates (10k, 100k,
 * 1M msg/s), bigqueue beside Chronicle Queue and the raw limit. Each invocation is one
 * {@link LatencyRun} of {@code seconds} seconds: the producer sends on a fixed schedule, the
 * consumer spins on dequeue, and each latency is measured from the scheduled send time
 * (HdrHistogram, no coordinated omission). <b>The figures are the printed lines</b>
 * ({@code p50/p99/p99.9/max} in µs, then HdrHistogram's {@code outputPercentileDistribution}
 * with {@code -Dbench.latency.full=true}); JMH's own score is only the run's wall time.
 *
 * <p>Run (from the repository root):
 * <pre>
 * ./bigqueue jmh LatencyBenchmark
 * ./bigqueue jmh LatencyBenchmark -p rate=100000 -p peer=BIGQUEUE,CHRONICLE
 * </pre>
 * On a shared 2-core machine both spinning threads compete with everything else: compare peers
 * within one run, over several runs.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
public class LatencyBenchmark extends ChronicleForkedBenchmark {

    @Param({"BIGQUEUE", "CHRONICLE", "RAW_MAPPED"})
    public PeerType peer;

    @Param({"10000", "100000", "1000000"})
    public long rate;

    @Param({"128"})
    public int messageSize;

    /** Measured seconds per invocation (after half a second of unrecorded warm-up). */
    @Param({"2"})
    public double seconds;

    private Path dir;

    @Setup(Level.Invocation)
    public void makeDir() {
        dir = BenchmarkDirs.create(peer.label());
    }

    @TearDown(Level.Invocation)
    public void deleteDir() {
        BenchmarkDirs.delete(dir);
    }

    @Benchmark
    public LatencyResult endToEnd() throws InterruptedException {
        LatencyResult result = new LatencyRun(dir, peer, messageSize, rate, (long) (seconds * 1e9),
                TimeUnit.MILLISECONDS.toNanos(500), false).run();
        System.out.println();
        System.out.println("  latency " + peer.label() + " " + Units.bytes(messageSize) + " at " + Units.count(rate)
                + " msg/s: p50=" + Units.decimal(result.percentileMicros(50)) + " p99="
                + Units.decimal(result.percentileMicros(99)) + " p99.9=" + Units.decimal(result.percentileMicros(99.9))
                + " max=" + Units.decimal(result.maxMicros()) + " µs; received " + Units.count(result.received())
                + " of " + Units.count(result.planned()) + " scheduled");
        if (Boolean.getBoolean("bench.latency.full")) {
            result.histogram().outputPercentileDistribution(System.out, 1000.0);
        }
        return result;
    }
}
