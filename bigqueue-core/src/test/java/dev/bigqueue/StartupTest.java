package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.internal.Cursor;
import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.internal.Engines;
import dev.bigqueue.testing.QueueFiles;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantee 9 (start-up): opening a queue costs the same whether it holds a thousand messages
 * or millions; a clean reopen reads the index and the arena headers, never the data.
 *
 * <p>Two pieces of evidence. Timing: the median open of a queue of 2 million messages (about
 * 320 MB) is compared with that of a queue of 1000 messages; a scan would read 320 MB (hundreds
 * of milliseconds even from the page cache). And a direct proof: a record in the middle of the
 * big queue is damaged after a clean close, and the open still succeeds, which it could not if it
 * validated the data (the damage is found, and reported, only when that record is read).
 */
class StartupTest {
    private static final int SIZE = 150;
    private static final int BIG = 2_000_000;
    private static final int SMALL = 1000;

    @TempDir
    Path tmp;

    private static QueueConfig config() {
        return QueueConfig.builder().arenaSize(64L << 20).flushInterval(Duration.ZERO).gcInterval(Duration.ZERO)
                .build();
    }

    private static void fill(Path dir, int count) {
        byte[] m = new byte[SIZE];
        ByteBuffer b = ByteBuffer.wrap(m);
        try (BigQueue q = BigQueue.open(dir, config())) {
            for (int i = 0; i < count; i++) {
                b.putInt(0, i);
                q.enqueue(m);
            }
        }
    }

    /** Median time of {@code BigQueue.open} over several opens (after two warm-up opens). */
    private static long medianOpenNanos(Path dir, long expectedTail) {
        long[] t = new long[9];
        for (int i = -2; i < t.length; i++) {
            long start = System.nanoTime();
            BigQueue q = BigQueue.open(dir, config());
            long took = System.nanoTime() - start;
            try {
                assertEquals(expectedTail, q.tailOffset());
            } finally {
                q.close();
            }
            if (i >= 0) {
                t[i] = took;
            }
        }
        Arrays.sort(t);
        return t[t.length / 2];
    }

    @Test
    void cleanReopen_ofTwoMillionMessages_costsAboutTheSameAsOfAThousand_andReadsNoData() throws Exception {
        Path big = tmp.resolve("big");
        Path small = tmp.resolve("small");
        long fillStart = System.nanoTime();
        fill(big, BIG);
        long fillMs = (System.nanoTime() - fillStart) / 1_000_000;
        fill(small, SMALL);

        long smallNs = medianOpenNanos(small, SMALL);
        long bigNs = medianOpenNanos(big, BIG);
        System.out.printf("StartupTest: median open of %d messages %.2f ms, of %d messages (%d MB of records,"
                + " written in %d ms) %.2f ms%n", SMALL, smallNs / 1e6, BIG,
                BIG * FileFormat.recordBytes(SIZE) >> 20, fillMs, bigNs / 1e6);
        assertTrue(bigNs < 200_000_000L, "open of a big queue took " + bigNs / 1e6 + " ms");
        assertTrue(bigNs < 3 * smallNs + 20_000_000L, "open of " + BIG + " messages (" + bigNs / 1e6
                + " ms) should cost about what " + SMALL + " cost (" + smallNs / 1e6 + " ms)");

        // Proof that open reads no record: damage one in the middle; open still succeeds at once.
        long middle = BIG / 2;
        long position = middle * FileFormat.recordBytes(SIZE);
        Path arena = QueueFiles.arenaFileAt(big, 64L << 20, position);
        long at = QueueFiles.indexInArena(64L << 20, position) + FileFormat.RECORD_HEADER_SIZE + 10;
        byte old = QueueFiles.flipByte(arena, at);
        try (BigQueue q = BigQueue.open(big, config())) {
            assertEquals(BIG, q.tailOffset());
            assertEquals(0, q.headOffset());
            byte[] first = q.peek();
            assertEquals(0, ByteBuffer.wrap(first).getInt(0));
            // The damage is there, and found when that record is read.
            Cursor c = new Cursor();
            c.moveTo(middle, position);
            assertThrows(QueueCorruptedException.class, () -> Engines.of(q).reader().read(c, false));
        }
        QueueFiles.writeByte(arena, at, old);
        try (BigQueue q = BigQueue.open(big, config())) {
            byte[] expected = new byte[SIZE];
            ByteBuffer.wrap(expected).putInt(0, 0);
            assertArrayEquals(expected, q.peek());
        }
    }
}
