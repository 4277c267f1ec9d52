package dev.bigqueue.bench;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import dev.bigqueue.QueueConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The cost of the format-2 record header, in one run: enqueue and dequeue of 128 B values as
 * {@code PLAIN} {@code byte[]} (the unchanged API: timestamp at enqueue, no key, no headers),
 * {@code PLAIN_MESSAGE} ({@code Message.of}, read back with {@code dequeueMessage}) and
 * {@code KEYED} (a 16-byte key and two headers of 8 and 16 bytes, read back with
 * {@code dequeueMessage}). Score: messages per second.
 *
 * <pre>
 * ./bigqueue jmh MessageHeaderBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class MessageHeaderBenchmark {
    public static final int BATCH = 128;

    public enum Kind { PLAIN, PLAIN_MESSAGE, KEYED }

    @Param({"PLAIN", "PLAIN_MESSAGE", "KEYED"})
    public Kind kind;

    @Param({"128"})
    public int valueSize;

    private Path dir;
    private BigQueue queue;
    private byte[] value;
    private Message message;
    private final List<byte[]> sink = new ArrayList<>(BATCH);

    @Setup(Level.Trial)
    public void makeMessage() {
        value = BenchmarkDirs.message(valueSize);
        message = kind == Kind.KEYED
                ? Message.builder().key("customer-00001234").header("trace", "0123456789abcdef")
                        .header("type", "profile!").value(value).build()
                : Message.of(value);
    }

    @Setup(Level.Iteration)
    public void open() {
        dir = BenchmarkDirs.create("header-" + kind);
        queue = BigQueue.open(dir, QueueConfig.builder().gcInterval(Duration.ofMillis(200)).build());
    }

    @TearDown(Level.Iteration)
    public void close() {
        queue.close();
        BenchmarkDirs.delete(dir);
    }

    /** A batch in the queue for {@link #dequeue}; the state for {@link #enqueue} is shared. */
    @State(Scope.Thread)
    public static class Filled {
        @Setup(Level.Invocation)
        public void fill(MessageHeaderBenchmark b) {
            for (int i = 0; i < BATCH; i++) {
                b.put();
            }
        }
    }

    /** After each enqueue batch, untimed: read it, so that the collector keeps the disk flat. */
    @State(Scope.Thread)
    public static class Drained {
        @TearDown(Level.Invocation)
        public void drain(MessageHeaderBenchmark b) {
            b.sink.clear();
            b.queue.drainTo(b.sink, BATCH);
        }
    }

    private long put() {
        return kind == Kind.PLAIN ? queue.enqueue(value) : queue.enqueue(message);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void enqueue(Drained drained, Blackhole bh) {
        for (int i = 0; i < BATCH; i++) {
            bh.consume(put());
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void dequeue(Filled filled, Blackhole bh) {
        if (kind == Kind.PLAIN) {
            for (int i = 0; i < BATCH; i++) {
                bh.consume(queue.dequeue());
            }
        } else {
            for (int i = 0; i < BATCH; i++) {
                bh.consume(queue.dequeueMessage());
            }
        }
    }
}
