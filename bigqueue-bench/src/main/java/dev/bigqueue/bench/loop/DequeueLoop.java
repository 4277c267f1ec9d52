package dev.bigqueue.bench.loop;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * The dequeue path without JMH, for A/B runs of one change: batches of {@value #BATCH} enqueues
 * (untimed) then {@value #BATCH} dequeues (timed as one), as in DequeueBenchmark; per round, the
 * median and the 10th percentile of the batches' ns per dequeue. On this 2-core host the median
 * flips between two levels from round to round, in every build; the 10th percentile stays put,
 * so an A/B of one change reads that. The first round is the JIT's warm-up.
 *
 * <pre>
 * java -cp bigqueue-bench/target/bigqueue.jar dev.bigqueue.bench.loop.DequeueLoop \
 *     [batches=50000] [rounds=6] [size=128] [dir] [flushIntervalMs, 0 = off; default: the queue's]
 * </pre>
 */
public final class DequeueLoop {
    private static final int BATCH = 128;

    private DequeueLoop() {
    }

    public static void main(String[] args) throws IOException {
        int flushMs = EnqueueLoop.intArg(args, 4, -1);
        QueueConfig.Builder config = QueueConfig.builder();
        if (flushMs >= 0) {
            config.flushInterval(Duration.ofMillis(flushMs));
        }
        System.out.println(String.join(" ", run(EnqueueLoop.intArg(args, 0, 50_000), EnqueueLoop.intArg(args, 1, 6),
                EnqueueLoop.intArg(args, 2, 128), EnqueueLoop.dirArg(args, 3), config.build())));
    }

    /** ns per dequeue of each round, formatted as median/p10 of its batches. */
    static String[] run(int batches, int rounds, int size, Path parent, QueueConfig config) throws IOException {
        byte[] message = new byte[size];
        long[] ns = new long[batches];
        long bytes = 0;
        String[] out = new String[rounds];
        Path dir = Files.createTempDirectory(parent, "dequeue-loop");
        try {
            try (BigQueue q = BigQueue.open(dir, config)) {
                for (int r = 0; r < rounds; r++) {
                    for (int b = 0; b < batches; b++) {
                        for (int i = 0; i < BATCH; i++) {
                            q.enqueue(message);
                        }
                        long t0 = System.nanoTime();
                        for (int i = 0; i < BATCH; i++) {
                            bytes += q.dequeue().length;
                        }
                        ns[b] = System.nanoTime() - t0;
                    }
                    Arrays.sort(ns);
                    out[r] = String.format("%.1f/%.1f", ns[batches / 2] / (double) BATCH,
                            ns[batches / 10] / (double) BATCH);
                }
            }
        } finally {
            EnqueueLoop.delete(dir);
        }
        if (bytes != (long) batches * rounds * BATCH * size) {
            throw new IllegalStateException("dequeued " + bytes + " bytes, enqueued more");
        }
        return out;
    }
}
