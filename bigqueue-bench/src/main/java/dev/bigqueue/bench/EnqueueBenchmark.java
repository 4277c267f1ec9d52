package dev.bigqueue.bench;

import dev.bigqueue.bench.peer.PeerOptions;
import dev.bigqueue.bench.peer.PeerType;
import dev.bigqueue.bench.peer.QueuePeer;
import java.nio.charset.StandardCharsets;
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
 * Enqueue throughput of one producer thread, bigqueue beside its peers: {@code enqueue(byte[])} and
 * {@code enqueueString(String)} of messages of 128 B, 4 KB, 128 KB and 4 MB into a fresh queue
 * directory each iteration (so writes land in new pages, as they do in production; the raw peer
 * wraps around its 1 GiB buffer and so, past the first lap, measures memcpy into mapped pages).
 * Score: messages per second; {@code bytes}: payload bytes per second (÷ 10^6 = MB/s). Nothing is
 * forced to disk, except by Tape, which syncs every operation by design.
 *
 * <p>Run (from the repository root):
 * <pre>
 * ./bigqueue jmh EnqueueBenchmark
 * ./bigqueue jmh EnqueueBenchmark.enqueue -p peer=BIGQUEUE,CHRONICLE,RAW_MAPPED -p messageSize=128 -prof gc
 * ./bigqueue jmh EnqueueBenchmark -p peer=BIGQUEUE -p arenaSize=4096,131072,4194304,134217728 \
 *     -p maxInMemoryArenas=3,10,0
 * </pre>
 * {@code -prof gc} adds bytes allocated per operation ({@code gc.alloc.rate.norm}).
 * {@code arenaSize} and {@code maxInMemoryArenas} apply to bigqueue only; the other peers ignore them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class EnqueueBenchmark extends ChronicleForkedBenchmark {

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
    private String text;

    @Setup(Level.Trial)
    public void makeMessage() {
        message = BenchmarkDirs.message(messageSize);
        text = new String(message, StandardCharsets.US_ASCII);
    }

    @Setup(Level.Iteration)
    public void open() {
        dir = BenchmarkDirs.create(peer.label());
        queue = QueuePeer.open(peer, dir, PeerOptions.defaults().withArenaSize(arenaSize)
                .withMaxInMemoryArenas(maxInMemoryArenas));
    }

    @TearDown(Level.Iteration)
    public void close() {
        queue.close();
        BenchmarkDirs.delete(dir);
    }

    @Benchmark
    public void enqueue(PayloadCounter counter) {
        queue.enqueue(message);
        counter.bytes += messageSize;
    }

    @Benchmark
    public void enqueueString(PayloadCounter counter) {
        queue.enqueueString(text);
        counter.bytes += messageSize;
    }
}
