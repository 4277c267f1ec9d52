package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** offsetForTime: Kafka's rule (first offset whose largest-timestamp-so-far is at least t), from the sparse index. */
class OffsetForTimeTest {
    @TempDir
    Path dir;

    private static Message at(long millis, int size) {
        return Message.builder().timestamp(Instant.ofEpochMilli(millis)).value(new byte[size]).build();
    }

    /** The rule, by brute force over the timestamps from {@code from}. */
    static long model(long[] ts, int from, long t) {
        long max = Long.MIN_VALUE;
        for (int i = from; i < ts.length; i++) {
            max = Math.max(max, ts[i]);
            if (max >= t) {
                return i;
            }
        }
        return ts.length;
    }

    @Test
    void edgeCases_emptyBeforeFirstAfterLastEqualAndBackwards() {
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(4096).pretouch(false).build())) {
            assertEquals(0, q.offsetForTime(Instant.ofEpochMilli(0)), "empty queue: the tail");
            long[] ts = {100, 200, 200, 200, 150, 300, 250, 400};
            for (long t : ts) {
                q.enqueue(at(t, 10));
            }
            assertEquals(0, q.offsetForTime(Instant.ofEpochMilli(-1_000)), "before the first");
            assertEquals(0, q.offsetForTime(Instant.ofEpochMilli(100)));
            assertEquals(1, q.offsetForTime(Instant.ofEpochMilli(101)));
            assertEquals(1, q.offsetForTime(Instant.ofEpochMilli(200)), "equal timestamps: the first of them");
            assertEquals(1, q.offsetForTime(Instant.ofEpochMilli(150)), "150 at offset 4 came after 200 was seen");
            assertEquals(5, q.offsetForTime(Instant.ofEpochMilli(250)), "250 at offset 6 came after 300");
            assertEquals(7, q.offsetForTime(Instant.ofEpochMilli(400)));
            assertEquals(8, q.offsetForTime(Instant.ofEpochMilli(401)), "after the last: the tail");
            assertEquals(8, q.offsetForTime(Instant.MAX));
            assertEquals(0, q.offsetForTime(Instant.MIN));
            assertEquals(1, q.offsetForTime(Instant.ofEpochMilli(100).plusNanos(1)), "stored times are whole ms");
        }
    }

    @Test
    void aReadOnlyQueue_findsOffsetsForTimes() {
        QueueConfig config = QueueConfig.builder().arenaSize(4096).pretouch(false).build();
        try (BigQueue q = BigQueue.open(dir, config)) {
            for (long t : new long[] {100, 200, 300}) {
                q.enqueue(at(t, 10));
            }
        }
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(4096).pretouch(false).readOnly(true)
                .build())) {
            assertEquals(0, q.offsetForTime(Instant.ofEpochMilli(50)));
            assertEquals(1, q.offsetForTime(Instant.ofEpochMilli(150)));
            assertEquals(3, q.offsetForTime(Instant.ofEpochMilli(301)), "after the last: the tail");
        }
    }

    @Test
    void manyArenas_andManyEntriesPerArena_matchTheModel_acrossReopen_andAfterGc() {
        for (long arenaSize : new long[] {4096, 256 * 1024}) {
            Path d = dir.resolve("a" + arenaSize);
            QueueConfig config = QueueConfig.builder().arenaSize(arenaSize).pretouch(false).build();
            Random random = new Random(arenaSize);
            int n = 6_000;
            long[] ts = new long[n];
            long clock = 1_000_000;
            try (BigQueue q = BigQueue.open(d, config)) {
                for (int i = 0; i < n; i++) {
                    clock += random.nextInt(3);
                    // Now and then an explicit timestamp goes back in time.
                    ts[i] = random.nextInt(20) == 0 ? clock - random.nextInt(500) : clock;
                    q.enqueue(at(ts[i], random.nextInt(20) == 0 ? random.nextInt(9_000) : random.nextInt(200)));
                }
                check(q, ts, 0, random);
            }
            try (BigQueue q = BigQueue.open(d, config)) {
                check(q, ts, 0, random);
                for (int i = 0; i < n / 2; i++) {
                    q.dequeue();
                }
                q.dequeue();
                q.gc();
                int earliest = (int) q.earliestOffset();
                assertTrue(earliest > 0, "gc deleted arenas");
                assertEquals(earliest, q.offsetForTime(Instant.ofEpochMilli(0)), "before everything kept: earliest");
                check(q, ts, earliest, random);
            }
        }
    }

    private static void check(BigQueue q, long[] ts, int from, Random random) {
        long lo = ts[from] - 600;
        long hi = ts[ts.length - 1] + 10;
        for (int k = 0; k < 300; k++) {
            long t = lo + (long) (random.nextDouble() * (hi - lo));
            assertEquals(model(ts, from, t), q.offsetForTime(Instant.ofEpochMilli(t)), "t = " + t);
        }
        for (int i = from; i < ts.length; i += 97) {
            assertEquals(model(ts, from, ts[i]), q.offsetForTime(Instant.ofEpochMilli(ts[i])), "t = ts[" + i + "]");
        }
    }
}
