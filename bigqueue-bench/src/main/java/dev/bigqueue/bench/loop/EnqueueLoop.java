package dev.bigqueue.bench.loop;

import dev.bigqueue.BigQueue;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The plain enqueue path without JMH: rounds of {@code n} enqueues of {@code size} bytes into a
 * fresh queue (default configuration), printing ns per enqueue for each round (see {@link #run}).
 * The first round is the JIT's warm-up. It uses only {@code BigQueue.open(dir)},
 * {@code enqueue(byte[])} and {@code close()}, so the same class compiled against an older core
 * jar measures that build too: how the per-commit A/B in RESULTS-HISTORY.md (2026-12-02 evening)
 * and format 1 against format 2 in RESULTS.md were taken.
 *
 * <pre>
 * java -cp bigqueue-bench/target/bigqueue.jar dev.bigqueue.bench.loop.EnqueueLoop [n] [rounds] [size] [dir]
 * </pre>
 */
public final class EnqueueLoop {
    /** Enqueues timed together: two clock reads per batch cost well under 1 ns per enqueue. */
    private static final int BATCH = 128;

    private EnqueueLoop() {
    }

    public static void main(String[] args) throws IOException {
        System.out.println(String.join(" ", run(intArg(args, 0, 3_000_000), intArg(args, 1, 5),
                intArg(args, 2, 128), dirArg(args, 3))));
    }

    /** Argument {@code i} as an int, or {@code otherwise} when there are fewer arguments. */
    static int intArg(String[] args, int i, int otherwise) {
        return args.length > i ? Integer.parseInt(args[i]) : otherwise;
    }

    /** Argument {@code i} as a directory, or the system's temporary directory. */
    static Path dirArg(String[] args, int i) {
        return Path.of(args.length > i ? args[i] : System.getProperty("java.io.tmpdir"));
    }

    /**
     * ns per enqueue of each round, formatted as mean/median/p10: the mean over the round, then
     * the median and the 10th percentile of its batches of {@value #BATCH} (a busy 2-core machine
     * moves the mean; the 10th percentile stays put, so an A/B of one change reads it).
     */
    static String[] run(int n, int rounds, int size, Path parent) throws IOException {
        if (n < BATCH) {
            throw new IllegalArgumentException("n must be at least " + BATCH + " (one batch), was " + n);
        }
        byte[] message = new byte[size];
        String[] out = new String[rounds];
        long[] batches = new long[n / BATCH];
        for (int r = 0; r < rounds; r++) {
            Path dir = Files.createTempDirectory(parent, "enqueue-loop");
            try {
                try (BigQueue q = BigQueue.open(dir)) {
                    long t0 = System.nanoTime();
                    long t = t0;
                    for (int b = 0; b < batches.length; b++) {
                        for (int i = 0; i < BATCH; i++) {
                            message[0] = (byte) i;
                            q.enqueue(message);
                        }
                        long now = System.nanoTime();
                        batches[b] = now - t;
                        t = now;
                    }
                    double mean = (t - t0) / (double) (batches.length * BATCH);
                    Arrays.sort(batches);
                    out[r] = String.format("%.0f/%.1f/%.1f", mean, batches[batches.length / 2] / (double) BATCH,
                            batches[batches.length / 10] / (double) BATCH);
                }
            } finally {
                delete(dir);
            }
        }
        return out;
    }

    static void delete(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
