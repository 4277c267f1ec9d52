package dev.bigqueue.bench;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
 * Enqueue throughput in a steady state where arenas come and go: nothing holds them (the queue's
 * own consumer is off), so a collection every 10 ms frees every arena behind the tail's, and the
 * writer makes a new arena every {@code arenaSize} bytes. With {@code arenaPool} 0 that is a file
 * deleted and another created and reserved (fallocate); with a pool, a file renamed back and
 * re-headed, whose blocks are allocated and whose pages were written a moment ago. One queue per
 * trial, so the warm-up fills the pool. Score: messages per second; {@code bytes} / 10^6 = MB/s.
 *
 * <pre>
 * ./bigqueue jmh ArenaPoolBenchmark -p messageSize=128,4194304 -p arenaPool=0,4
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgs = {"-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class ArenaPoolBenchmark {
    @Param({"128", "4194304"})
    public int messageSize;

    @Param({"0", "4"})
    public int arenaPool;

    @Param({"134217728"})
    public long arenaSize;

    private Path dir;
    private BigQueue queue;
    private byte[] message;

    @Setup(Level.Trial)
    public void open() {
        message = BenchmarkDirs.message(messageSize);
        dir = BenchmarkDirs.create("bigqueue-pool");
        queue = BigQueue.open(dir, QueueConfig.builder().arenaSize(arenaSize).arenaPool(arenaPool)
                .ownConsumer(false).gcInterval(Duration.ofMillis(10)).build());
    }

    @TearDown(Level.Trial)
    public void close() {
        queue.close();
        BenchmarkDirs.delete(dir);
    }

    @Benchmark
    public long enqueue(PayloadCounter counter) {
        counter.bytes += messageSize;
        return queue.enqueue(message);
    }
}
