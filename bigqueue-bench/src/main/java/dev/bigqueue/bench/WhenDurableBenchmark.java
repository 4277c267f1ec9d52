package dev.bigqueue.bench;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
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
 * Durable enqueues per second (128 B), every message made durable before it counts as done, four
 * ways in one run: one producer waiting on {@code whenDurable} for each message
 * ({@code whenDurable01Waiting}); 16 producers each enqueueing and asking {@code whenDurable} for
 * every message without waiting, keeping at most {@code window} futures open and waiting on the
 * oldest beyond that ({@code whenDurable16Window}); and {@code syncOnWrite} with 1 and 16
 * producers. No periodic flush: only the mechanism measured syncs. The target: 16 windowed
 * producers at least 10x one waiting producer. Score: messages per second over all threads.
 *
 * <p>Run (from the repository root):
 * <pre>
 * ./bigqueue jmh WhenDurableBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
public class WhenDurableBenchmark {

    /** A queue per iteration, without periodic flush; {@code syncOnWrite} as the subclass says. */
    @State(Scope.Benchmark)
    public abstract static class QueueState {
        @Param({"128"})
        public int messageSize;

        BigQueue queue;
        byte[] message;
        private Path dir;

        abstract boolean syncOnWrite();

        @Setup(Level.Iteration)
        public void open() {
            message = BenchmarkDirs.message(messageSize);
            dir = BenchmarkDirs.create("when-durable");
            queue = BigQueue.open(dir, QueueConfig.builder().syncOnWrite(syncOnWrite())
                    .flushInterval(Duration.ZERO).build());
        }

        @TearDown(Level.Iteration)
        public void close() {
            // Completes the futures still open: close's final flush makes them durable.
            queue.close();
            BenchmarkDirs.delete(dir);
        }
    }

    /** For whenDurable: no syncOnWrite. */
    @State(Scope.Benchmark)
    public static class AsyncQueue extends QueueState {
        @Override
        boolean syncOnWrite() {
            return false;
        }
    }

    /** syncOnWrite. */
    @State(Scope.Benchmark)
    public static class SyncOnWriteQueue extends QueueState {
        @Override
        boolean syncOnWrite() {
            return true;
        }
    }

    /** One producer's open futures, oldest first. */
    @State(Scope.Thread)
    public static class Window {
        @Param({"64"})
        public int window;

        final ArrayDeque<CompletableFuture<Long>> open = new ArrayDeque<>();

        @TearDown(Level.Iteration)
        public void drain() {
            open.clear(); // the queue's close completed them, or will
        }
    }

    @Benchmark
    @Threads(1)
    public long whenDurable01Waiting(AsyncQueue q) {
        return q.queue.whenDurable(q.queue.enqueue(q.message)).join();
    }

    @Benchmark
    @Threads(16)
    public long whenDurable16Window(AsyncQueue q, Window w) {
        long offset = q.queue.enqueue(q.message);
        w.open.addLast(q.queue.whenDurable(offset));
        if (w.open.size() > w.window) {
            return w.open.pollFirst().join();
        }
        return offset;
    }

    @Benchmark
    @Threads(1)
    public long syncOnWrite01(SyncOnWriteQueue q) {
        return q.queue.enqueue(q.message);
    }

    @Benchmark
    @Threads(16)
    public long syncOnWrite16(SyncOnWriteQueue q) {
        return q.queue.enqueue(q.message);
    }
}
