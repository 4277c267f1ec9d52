package dev.bigqueue.bench;

import dev.bigqueue.MessageHandler;
import dev.bigqueue.bench.peer.PeerOptions;
import dev.bigqueue.bench.peer.PeerType;
import dev.bigqueue.bench.peer.QueuePeer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
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
 * Dequeue throughput of one consumer thread, bigqueue beside its peers: {@code dequeue()},
 * {@code dequeueString()}, {@code read} (a handler given read-only views) and {@code drain}, a
 * batch read (bigqueue's {@code drainTo}; for the
 * peers without one, one {@code dequeue()} after another) of messages of 128 B, 4 KB, 128 KB
 * and 4 MB. Each invocation takes a batch of {@value #BATCH} messages that an untimed setup has
 * just enqueued (so the data is
 * usually still in the CPU cache, as for a consumer that keeps up with its producer); every
 * dequeue allocates the returned array. Score: messages per second; {@code bytes}: payload bytes
 * per second (÷ 10^6 = MB/s).
 *
 * <p>Run (from the repository root):
 * <pre>
 * ./bigqueue jmh DequeueBenchmark
 * ./bigqueue jmh DequeueBenchmark.dequeue -p peer=BIGQUEUE,CHRONICLE,RAW_MAPPED -p messageSize=128 -prof gc
 * </pre>
 * {@code arenaSize} and {@code maxInMemoryArenas} apply to bigqueue only.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class DequeueBenchmark extends ChronicleForkedBenchmark {
    /** Messages per invocation. */
    public static final int BATCH = 128;

    @Param({"BIGQUEUE", "CHRONICLE", "TAPE", "RAW_MAPPED"})
    public PeerType peer;

    @Param({"128", "4096", "131072", "4194304"})
    public int messageSize;

    /** bigqueue's arena size in bytes. */
    @Param({"134217728"})
    public long arenaSize;

    /** bigqueue's cap on mapped arenas; 0 = no cap. */
    @Param({"3"})
    public int maxInMemoryArenas;

    private Path dir;
    private QueuePeer queue;
    private byte[] message;
    private final List<byte[]> sink = new ArrayList<>(BATCH);

    @Setup(Level.Trial)
    public void makeMessage() {
        message = BenchmarkDirs.message(messageSize);
    }

    @Setup(Level.Iteration)
    public void open() {
        dir = BenchmarkDirs.create(peer.label());
        queue = QueuePeer.open(peer, dir, PeerOptions.defaults().withArenaSize(arenaSize)
                .withMaxInMemoryArenas(maxInMemoryArenas));
    }

    /** Untimed: puts one batch in the queue for the next invocation. */
    @Setup(Level.Invocation)
    public void refill() {
        for (int i = 0; i < BATCH; i++) {
            queue.enqueue(message);
        }
    }

    @TearDown(Level.Iteration)
    public void close() {
        queue.close();
        BenchmarkDirs.delete(dir);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void dequeue(PayloadCounter counter, Blackhole blackhole) {
        for (int i = 0; i < BATCH; i++) {
            byte[] got = queue.dequeue();
            blackhole.consume(got);
            counter.bytes += got.length;
        }
    }

    /** The whole batch in one call where the peer has one (bigqueue's {@code drainTo}). */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void drain(PayloadCounter counter, Blackhole blackhole) {
        sink.clear();
        int n = queue.drainTo(sink, BATCH);
        for (int i = 0; i < n; i++) {
            counter.bytes += sink.get(i).length;
        }
        blackhole.consume(sink);
    }

    /**
     * The batch through a handler that sees each message as a read-only view (bigqueue's
     * {@code read(MessageHandler, max)}): no array per message. The handler reads the last byte.
     */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void read(PayloadCounter counter, Blackhole blackhole) {
        this.counter = counter;
        this.blackhole = blackhole;
        int n = queue.read(handler, BATCH);
        if (n != BATCH) {
            throw new IllegalStateException("read " + n + " of " + BATCH);
        }
    }

    private PayloadCounter counter;
    private Blackhole blackhole;
    private final MessageHandler handler = (offset, view) -> {
        counter.bytes += view.remaining();
        blackhole.consume(view.get(view.limit() - 1));
    };

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void dequeueString(PayloadCounter counter, Blackhole blackhole) {
        for (int i = 0; i < BATCH; i++) {
            String got = queue.dequeueString();
            blackhole.consume(got);
            counter.bytes += got.length();
        }
    }
}
