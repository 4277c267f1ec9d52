package dev.bigqueue.bench;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Start-up cost (SPEC guarantee 9): time to open, then close, a queue that was closed cleanly while
 * holding {@code dataBytes} of 4 KB messages (default 1 GiB; the target is under 50 ms for 10 GB:
 * {@code -p dataBytes=10737418240}, which needs that much free disk and a minute to fill).
 *
 * <p>Run (from the repository root):
 * <pre>
 * ./bigqueue jmh OpenBenchmark
 * ./bigqueue jmh OpenBenchmark -p dataBytes=10737418240
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
public class OpenBenchmark {

    @Param({"1073741824"})
    public long dataBytes;

    private Path dir;
    private QueueConfig config;

    @Setup(Level.Trial)
    public void fill() {
        dir = BenchmarkDirs.create("open");
        config = QueueConfig.builder().build();
        byte[] message = BenchmarkDirs.message(4096);
        try (BigQueue queue = BigQueue.open(dir, config)) {
            for (long written = 0; written < dataBytes; written += message.length) {
                queue.enqueue(message);
            }
        }
    }

    @TearDown(Level.Trial)
    public void delete() {
        BenchmarkDirs.delete(dir);
    }

    @Benchmark
    public long openAndClose() {
        try (BigQueue queue = BigQueue.open(dir, config)) {
            return queue.tailOffset();
        }
    }
}
