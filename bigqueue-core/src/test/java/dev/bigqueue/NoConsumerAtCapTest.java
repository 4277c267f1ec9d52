package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.internal.ConsumerFile;
import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.testing.CapturedLog;
import dev.bigqueue.testing.Poll;
import dev.bigqueue.testing.Threads;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantee 6 (disk) with {@code maxDiskBytes} and no consumer at all (the queue's own consumer
 * off, no named consumer, no retention): nothing can free an arena until a consumer is created, so
 * the queue says so. {@code BLOCK} still waits (a consumer created later, in this process or by a
 * read-only open in another, does free room: failing would break a producer started before its
 * consumers), but logs one WARN naming why and what to do, where before it waited silently for
 * ever; {@code FAIL}'s message names the missing consumer instead of an unread one.
 */
class NoConsumerAtCapTest {
    /** Only a hang reaches it: the waits end on conditions. */
    private static final Duration HANG = Duration.ofMinutes(2);
    private static final int ARENA = 8192;
    private static final String WHY = "no consumer at all";

    @TempDir
    Path dir;

    private CapturedLog log;

    @BeforeEach
    void captureLog() {
        log = new CapturedLog();
    }

    @AfterEach
    void restoreLog() {
        log.close();
    }

    private long warnings() {
        return log.warnings("dev.bigqueue.").stream().filter(l -> l.contains(WHY)).count();
    }

    private static QueueConfig.Builder noConsumer(WhenFull whenFull) {
        return QueueConfig.builder().arenaSize(ARENA).gcInterval(Duration.ZERO).pretouch(false).ownConsumer(false)
                .maxDiskBytes(2 * ARENA).whenFull(whenFull);
    }

    @Test
    void block_withNoConsumerAtAll_warnsOnceWhyAndStillWaitsForAConsumerToAppear() throws Exception {
        int total = 20; // records of 1,016 bytes: about 16 fit in two arenas
        try (BigQueue q = BigQueue.open(dir, noConsumer(WhenFull.BLOCK).build())) {
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread producer = new Thread(() -> {
                try {
                    for (int i = 0; i < total; i++) {
                        q.enqueue(new byte[1000]);
                    }
                } catch (Throwable t) {
                    failed.set(t);
                }
            }, "producer");
            // A second producer comes to the full queue after the first: it too runs a pass at the cap
            // before it waits, a second look that must not log again.
            Thread second = new Thread(() -> {
                try {
                    q.enqueue(new byte[1000]);
                } catch (Throwable t) {
                    failed.set(t);
                }
            }, "second producer");
            producer.start();
            try {
                awaitWaitingForRoom(producer);
                assertTrue(producer.isAlive(), "the producer did not wait for room: " + failed.get());
                // The WARN comes before the first wait, on the producer's thread.
                String logged = log.text();
                assertEquals(1, warnings(), "one WARN saying why nothing can free room; logged: [" + logged + "]");
                assertTrue(logged.contains(dir.toString()) && logged.contains("maxDiskBytes")
                        && logged.contains("Consumers.of(queue).open"), logged);
                second.start();
                awaitWaitingForRoom(second);
                assertTrue(second.isAlive(), "the second producer did not wait for room: " + failed.get());
                assertEquals(1, warnings(), "one WARN per spell at the cap, not one per look");

                // A consumer made now (as a read-only open in another process may) that has read
                // everything so far: the producer's next look collects, and it finishes.
                long tail = q.tailOffset();
                ConsumerFile.create(FileFormat.consumerFile(dir, "late"), tail, tail * FileFormat.recordBytes(1000),
                        0).close();
                Poll.until(() -> !producer.isAlive() && !second.isAlive(), null, HANG,
                        () -> "the producers still wait after a consumer appeared, at "
                                + Arrays.toString(producer.getStackTrace()) + " and "
                                + Arrays.toString(second.getStackTrace()));
            } finally {
                if (producer.isAlive() || second.isAlive()) {
                    q.close(); // ends the blocked enqueues, so the threads do not outlive a failed run
                }
                producer.join();
                if (second.getState() != Thread.State.NEW) {
                    second.join();
                }
            }
            assertNull(failed.get());
            assertEquals(total + 1, q.tailOffset());
            assertEquals(1, warnings(), "one WARN per spell at the cap");
        }
    }

    /** Returns once {@code t} waits for room under the cap, or has ended (wrongly: the caller checks). */
    private static void awaitWaitingForRoom(Thread t) throws InterruptedException {
        Poll.until(() -> !t.isAlive() || Threads.waitingIn(t, "DiskSpace", "awaitRoom"), null, HANG,
                () -> t.getName() + " at " + Arrays.toString(t.getStackTrace()));
    }

    @Test
    void fail_withNoConsumerAtAll_saysSo() throws Exception {
        try (BigQueue q = BigQueue.open(dir, noConsumer(WhenFull.FAIL).build())) {
            QueueFullException full = assertThrows(QueueFullException.class, () -> {
                for (;;) {
                    q.enqueue(new byte[1000]);
                }
            });
            assertTrue(full.getMessage().contains(WHY) && full.getMessage().contains("ownConsumer"),
                    full.getMessage());
        }
    }
}
