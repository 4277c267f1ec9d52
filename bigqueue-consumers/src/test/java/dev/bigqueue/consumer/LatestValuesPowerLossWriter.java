package dev.bigqueue.consumer;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;

/**
 * The child JVM of {@link LatestValuesPowerLossTest}: puts and deletes keys of a LatestValues store
 * on a LazyFS mount until the parent kills it, with checkpoints by bytes and on request, while a
 * second thread enqueues keyed records as another writer of the queue. Each stdout line is one
 * {@code write(2)} made after what it reports returned:
 * <ul>
 *   <li>{@code READY}: the queue and the store are open.</li>
 *   <li>{@code ACK n}: the store's n-th put or delete returned.</li>
 *   <li>{@code CHECKPOINT o}: {@code checkpoint()} returned, with a snapshot at offset o: every
 *       record below o is durable from then on.</li>
 * </ul>
 * Arguments: {@code DIR SEED TARGET ARENA_BYTES FLUSH_INTERVAL_MS CHECKPOINT_EVERY_BYTES
 * CHECKPOINT_EVERY_PUTS} (0: never). It goes on for about 2 * TARGET operations, at most
 * {@value #MAX_RATE} a second, then waits to be killed.
 */
public final class LatestValuesPowerLossWriter {
    static final String STORE = "lv";
    static final int KEYS = 100;
    private static final long MAX_RATE = 3000;
    private static final FileOutputStream OUT = new FileOutputStream(FileDescriptor.out);

    private LatestValuesPowerLossWriter() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Random r = new Random(Long.parseLong(args[1]));
        long target = Long.parseLong(args[2]);
        long arenaBytes = Long.parseLong(args[3]);
        long flushIntervalMs = Long.parseLong(args[4]);
        long everyBytes = Long.parseLong(args[5]);
        long everyPuts = Long.parseLong(args[6]);
        BigQueue q = BigQueue.open(dir, PowerLossWriter.config(arenaBytes, flushIntervalMs, false));
        LatestValues lv = LatestValues.open(q, STORE, LatestValuesOptions.builder().checkpointEveryBytes(everyBytes)
                .build());
        Thread other = new Thread(() -> otherWriter(q, r.nextLong()), "other-writer");
        other.setDaemon(true);
        say("READY");
        other.start();
        long startNs = System.nanoTime();
        for (long n = 0; n < 2 * target + 100; n++) {
            long aheadNs = startNs + n * 1_000_000_000L / MAX_RATE - System.nanoTime();
            if (aheadNs > 0) {
                Thread.sleep(aheadNs / 1_000_000, (int) (aheadNs % 1_000_000));
            }
            String key = "k" + r.nextInt(KEYS);
            if (r.nextInt(6) == 0) {
                lv.delete(key);
            } else {
                lv.put(key, value("put " + n, r));
            }
            say("ACK " + n);
            if (everyPuts > 0 && (n + 1) % everyPuts == 0) {
                lv.checkpoint();
                say("CHECKPOINT " + lv.checkpointOffset());
            }
        }
        Thread.sleep(Long.MAX_VALUE);
    }

    /** Keyed records of the same keys, enqueued straight into the queue, as another writer would. */
    private static void otherWriter(BigQueue q, long seed) {
        Random r = new Random(seed);
        try {
            for (long n = 0; ; n++) {
                q.enqueue(Message.builder().key("k" + r.nextInt(KEYS)).value(value("other " + n, r)).build());
                Thread.sleep(1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(3);
        }
    }

    /** A value naming where it came from, of 10 bytes to 3 KiB: some records straddle 64 KiB arenas. */
    private static byte[] value(String origin, Random r) {
        return (origin + "|" + "v".repeat(r.nextInt(3000))).getBytes(StandardCharsets.UTF_8);
    }

    private static synchronized void say(String line) {
        try {
            OUT.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
