package dev.bigqueue.bench;

import dev.bigqueue.bench.peer.PeerOptions;
import dev.bigqueue.bench.peer.PeerType;
import dev.bigqueue.bench.peer.QueuePeer;
import java.nio.file.Path;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The price of durability: bigqueue enqueue throughput (128 B) from 1, 4, 16 and 64 producer threads
 * sharing one queue, with {@code syncOnWrite} (every enqueue returns once its bytes are on disk,
 * so concurrent producers should share each sync: group commit), with a background flush every
 * 10 ms or 1 s, and with no sync at all. Score: total messages per second over all threads. The
 * target: 16 producers with {@code syncOnWrite} reach at least 8x the throughput of 1.
 *
 * <p>Run (from the repository root):
 * <pre>
 * ./bigqueue jmh GroupCommitBenchmark
 * ./bigqueue jmh GroupCommitBenchmark -p durability=SYNC_ON_WRITE
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
public class GroupCommitBenchmark {

    /** How enqueued bytes reach the disk. */
    public enum Durability {
        SYNC_ON_WRITE(true, -1),
        FLUSH_10MS(false, 10),
        FLUSH_1S(false, 1000),
        NONE(false, 0);

        final boolean syncOnWrite;
        final long flushIntervalMs;

        Durability(boolean syncOnWrite, long flushIntervalMs) {
            this.syncOnWrite = syncOnWrite;
            this.flushIntervalMs = flushIntervalMs;
        }
    }

    @Param({"SYNC_ON_WRITE", "FLUSH_10MS", "FLUSH_1S", "NONE"})
    public Durability durability;

    @Param({"128"})
    public int messageSize;

    private Path dir;
    private QueuePeer queue;
    private byte[] message;

    @Setup(Level.Iteration)
    public void open() {
        message = BenchmarkDirs.message(messageSize);
        dir = BenchmarkDirs.create("group-commit");
        queue = QueuePeer.open(PeerType.BIGQUEUE, dir, PeerOptions.defaults()
                .withSyncOnWrite(durability.syncOnWrite).withFlushIntervalMs(durability.flushIntervalMs));
    }

    @TearDown(Level.Iteration)
    public void close() {
        queue.close();
        BenchmarkDirs.delete(dir);
    }

    @Benchmark
    @Threads(1)
    public void producers01() {
        queue.enqueue(message);
    }

    @Benchmark
    @Threads(4)
    public void producers04() {
        queue.enqueue(message);
    }

    @Benchmark
    @Threads(16)
    public void producers16() {
        queue.enqueue(message);
    }

    @Benchmark
    @Threads(64)
    public void producers64() {
        queue.enqueue(message);
    }
}
