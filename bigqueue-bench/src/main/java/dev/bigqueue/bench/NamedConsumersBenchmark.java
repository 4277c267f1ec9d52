package dev.bigqueue.bench;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.consumer.Consumer;
import dev.bigqueue.consumer.Consumers;
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
 * 1, 4 and 16 named consumers reading one stream of 128 B messages: one thread takes the next
 * message from each consumer in turn, so every message is read once per consumer per pass. The
 * setup writes {@code messages} messages before each iteration; a consumer that reaches the end
 * seeks back to the beginning, so every operation delivers a message. Score: messages per second
 * over all consumers. {@code commitMode} AUTO commits on every dequeue; MANUAL never commits here.
 *
 * <p>Run (from the repository root):
 * <pre>
 * ./bigqueue jmh NamedConsumersBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
public class NamedConsumersBenchmark {

    @Param({"1", "4", "16"})
    public int consumers;

    @Param({"AUTO", "MANUAL"})
    public dev.bigqueue.consumer.CommitMode commitMode;

    @Param({"128"})
    public int messageSize;

    /** Messages written before each iteration. */
    @Param({"4000000"})
    public int messages;

    private Path dir;
    private BigQueue queue;
    private Consumer[] readers;
    private int next;

    @Setup(Level.Iteration)
    public void fill() {
        dir = BenchmarkDirs.create("consumers");
        queue = BigQueue.open(dir, QueueConfig.builder().build());
        byte[] message = BenchmarkDirs.message(messageSize);
        for (int i = 0; i < messages; i++) {
            queue.enqueue(message);
        }
        Consumers all = Consumers.of(queue);
        readers = new Consumer[consumers];
        for (int i = 0; i < consumers; i++) {
            readers[i] = all.open("reader-" + i, commitMode);
        }
    }

    @TearDown(Level.Iteration)
    public void close() {
        queue.close();
        BenchmarkDirs.delete(dir);
    }

    @Benchmark
    public byte[] dequeueRoundRobin() {
        Consumer reader = readers[next];
        next = next + 1 == readers.length ? 0 : next + 1;
        byte[] message = reader.dequeue();
        if (message == null) {
            // The end of the stream: read it again (a seek costs nothing next to a million reads).
            reader.seekToBeginning();
            message = reader.dequeue();
        }
        return message;
    }
}
