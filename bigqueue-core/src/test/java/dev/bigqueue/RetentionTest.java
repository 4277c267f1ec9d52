package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** retention(Duration): arenas whose newest message is older are deleted even if a consumer lags. */
class RetentionTest {
    @TempDir
    Path dir;

    private static QueueConfig config(Duration retention) {
        return QueueConfig.builder().arenaSize(4096).pretouch(false).gcInterval(Duration.ZERO).retention(retention)
                .build();
    }

    private static void fill(BigQueue q, Instant old, int oldCount, int newCount) {
        for (int i = 0; i < oldCount; i++) {
            q.enqueue(Message.builder().timestamp(old).value(("old-" + i + "-" + "x".repeat(100)).getBytes()).build());
        }
        for (int i = 0; i < newCount; i++) {
            q.enqueue(("new-" + i + "-" + "x".repeat(100)).getBytes());
        }
    }

    @Test
    void off_byDefault_aLaggingConsumerKeepsEverything() {
        try (BigQueue q = BigQueue.open(dir, config(Duration.ZERO))) {
            fill(q, Instant.now().minus(Duration.ofDays(30)), 200, 10);
            q.gc();
            assertEquals(0, q.earliestOffset());
            assertTrue(q.dequeueString().startsWith("old-0-"));
        }
    }

    @Test
    void anArenaOfOldMessagesOnly_goes_evenWhenTheNextArenaStartsWithANewMessage() {
        // The time index entry of arena 1's first record covers that record too: judged by it alone,
        // arena 0 looked as recent as the first live message and was kept.
        Instant old = Instant.now().minus(Duration.ofHours(2));
        try (BigQueue q = BigQueue.open(dir, config(Duration.ofHours(1)))) {
            // 80-byte records (16 header + 64 payload): exactly 50 fill arena 0's 4000 data bytes.
            for (int i = 0; i < 50; i++) {
                q.enqueue(Message.builder().timestamp(old).value(new byte[64]).build());
            }
            for (int i = 0; i < 60; i++) {
                q.enqueue(new byte[64]);
            }
            q.gc();
            assertEquals(50, q.earliestOffset(), "arena 0 (offsets 0..49, all 2 h old) is past the retention");
            q.gc();
            assertEquals(50, q.earliestOffset(), "no live message goes");
        }
    }

    @Test
    void anArenaWhoseLastMessageIsRecent_stays_evenIfItsIndexedOnesAreOld() {
        Instant old = Instant.now().minus(Duration.ofHours(2));
        try (BigQueue q = BigQueue.open(dir, config(Duration.ofHours(1)))) {
            for (int i = 0; i < 49; i++) {
                q.enqueue(Message.builder().timestamp(old).value(new byte[64]).build());
            }
            q.enqueue(new byte[64]); // the last record of arena 0 is live
            for (int i = 0; i < 60; i++) {
                q.enqueue(Message.builder().timestamp(old).value(new byte[64]).build());
            }
            q.gc();
            assertEquals(0, q.earliestOffset(), "arena 0 holds a live message");
        }
    }

    @Test
    void expiredArenas_go_evenIfTheOwnConsumerLags_whichResumesAtTheEarliest_andItIsChangeableBetweenOpens() {
        Instant old = Instant.now().minus(Duration.ofHours(2));
        try (BigQueue q = BigQueue.open(dir, config(Duration.ZERO))) {
            fill(q, old, 200, 100);
        }
        // Reopened with retention: the option is not part of the files, each open applies its own.
        try (BigQueue q = BigQueue.open(dir, config(Duration.ofHours(1)))) {
            assertEquals(Duration.ofHours(1), q.config().retention());
            q.gc();
            long earliest = q.earliestOffset();
            assertTrue(earliest > 0 && earliest <= 200, "old arenas went, new ones stay: earliest " + earliest);
            assertEquals(earliest, q.headOffset(), "the lagging own consumer is at the earliest message kept");
            String first = q.dequeueString();
            assertEquals(earliest, q.headOffset() - 1);
            assertTrue(first.startsWith((earliest < 200 ? "old-" : "new-")), first);
            // Nothing newer than the retention is ever deleted.
            q.gc();
            assertTrue(q.earliestOffset() <= 200);
        }
        try (BigQueue q = BigQueue.open(dir, config(Duration.ZERO))) {
            assertTrue(q.headOffset() >= q.earliestOffset(), "the move was committed and the reopen accepts it");
            int n = 0;
            while (q.dequeue() != null) {
                n++;
            }
            assertTrue(n >= 100);
        }
    }

    @Test
    void retention_neverDeletesTheArenaBeingWritten_norRecentMessages() {
        try (BigQueue q = BigQueue.open(dir, config(Duration.ofMillis(1)))) {
            fill(q, Instant.now().plus(Duration.ofDays(1)), 100, 0);
            q.gc();
            assertEquals(0, q.earliestOffset(), "newest message in the future: nothing is older than 1 ms");
        }
    }
}
