package dev.bigqueue.bench;

import dev.bigqueue.bench.peer.PeerOptions;
import dev.bigqueue.bench.peer.PeerType;
import dev.bigqueue.bench.peer.QueuePeer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
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
import org.openjdk.jmh.infra.Control;

/**
 * 1, 2 and 4 producer threads and one consumer thread on one queue at the same time, 128 B
 * messages, bigqueue beside Chronicle Queue (the raw peer takes one producer only, and Tape syncs
 * every operation, so neither is here). Read the per-method lines: {@code produceN} is enqueues per
 * second over all producers, {@code consumeN} messages delivered per second (the consumer waits for
 * each message); the group's own score is their sum. On a 2-core machine, more than one producer
 * plus a consumer oversubscribes the CPU: the figures show contention as much as the queue.
 *
 * <p>Run (from the repository root):
 * <pre>
 * ./bigqueue jmh MultiProducerBenchmark
 * </pre>
 */
@State(Scope.Group)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
public class MultiProducerBenchmark extends ChronicleForkedBenchmark {

    @Param({"BIGQUEUE", "CHRONICLE"})
    public PeerType peer;

    @Param({"128"})
    public int messageSize;

    private Path dir;
    private QueuePeer queue;
    private byte[] message;

    @Setup(Level.Iteration)
    public void open() {
        message = BenchmarkDirs.message(messageSize);
        dir = BenchmarkDirs.create(peer.label());
        queue = QueuePeer.open(peer, dir, PeerOptions.defaults());
    }

    @TearDown(Level.Iteration)
    public void close() {
        queue.close();
        BenchmarkDirs.delete(dir);
    }

    private void produceOne() {
        queue.enqueue(message);
    }

    /** Waits for the next message, so that each operation is one delivery (or the iteration's end). */
    private byte[] consumeOne(Control control) {
        while (!control.stopMeasurement) {
            byte[] message = queue.dequeue();
            if (message != null) {
                return message;
            }
            Thread.onSpinWait();
        }
        return null;
    }

    @Benchmark
    @Group("producers1")
    @GroupThreads(1)
    public void produce1() {
        produceOne();
    }

    @Benchmark
    @Group("producers1")
    @GroupThreads(1)
    public byte[] consume1(Control control) {
        return consumeOne(control);
    }

    @Benchmark
    @Group("producers2")
    @GroupThreads(2)
    public void produce2() {
        produceOne();
    }

    @Benchmark
    @Group("producers2")
    @GroupThreads(1)
    public byte[] consume2(Control control) {
        return consumeOne(control);
    }

    @Benchmark
    @Group("producers4")
    @GroupThreads(4)
    public void produce4() {
        produceOne();
    }

    @Benchmark
    @Group("producers4")
    @GroupThreads(1)
    public byte[] consume4(Control control) {
        return consumeOne(control);
    }
}
