package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.arenaFiles;
import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static dev.bigqueue.consumer.Fixtures.payload;
import static dev.bigqueue.consumer.Fixtures.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.WhenFull;
import dev.bigqueue.testing.CapturedLog;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantee 6 with named consumers: an arena is deleted only once every consumer, persisted ones
 * that are not open included, has read past it; {@code delete} releases what a consumer held;
 * with DROP_OLDEST a consumer that fell out of retention moves to the earliest message with a WARN.
 */
class RetentionTest {
    private static final int MESSAGES = 2000;

    @TempDir
    Path dir;

    private static void enqueue(BigQueue q, int count) {
        for (int i = 0; i < count; i++) {
            q.enqueueString(payload(q.tailOffset()));
        }
    }

    private static void drainOwn(BigQueue q) {
        while (q.dequeue() != null) {
            // the queue's own consumer holds arenas too; move it out of the way
        }
    }

    private static void readAll(Consumer c, long from, long to) {
        for (long o = from; o < to; o++) {
            byte[] m = c.dequeue();
            assertTrue(m != null, c.name() + ": offset " + o + " is missing");
            assertEquals(o, offsetOf(m), c.name());
        }
    }

    @Test
    void slowConsumer_pinsArenas_untilItCatchesUp() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, MESSAGES);
            Consumer fast = Consumers.of(q).open("fast");
            Consumer slow = Consumers.of(q).open("slow");
            readAll(fast, 0, MESSAGES);
            readAll(slow, 0, 10);
            drainOwn(q);
            long before = arenaFiles(dir);
            assertTrue(before > 40, "test needs many arenas, has " + before);
            q.gc();
            assertTrue(q.earliestOffset() <= slow.committedPosition(), "GC deleted what the slow consumer needs");
            // Offsets 0..9 fill about four arenas (offset 7 is 9000 bytes); only those may go.
            assertTrue(arenaFiles(dir) >= before - 5, "the slow consumer pins the arenas after it: " + arenaFiles(dir)
                    + " of " + before + " left");
            readAll(slow, 10, MESSAGES);
            q.gc();
            assertTrue(arenaFiles(dir) <= 2, "arenas left after everyone caught up: " + arenaFiles(dir));
            assertTrue(q.earliestOffset() > MESSAGES - 100);
        }
    }

    @Test
    void delete_releasesWhatTheConsumerHeld() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, MESSAGES);
            Consumers consumers = Consumers.of(q);
            consumers.open("abandoned");
            consumers.open("closed-early").close();
            drainOwn(q);
            q.gc();
            assertEquals(0, q.earliestOffset());
            consumers.delete("abandoned");
            q.gc();
            assertEquals(0, q.earliestOffset(), "a closed consumer still holds its arenas");
            consumers.delete("closed-early");
            q.gc();
            assertTrue(arenaFiles(dir) <= 2, "arenas left after the deletes: " + arenaFiles(dir));
        }
    }

    @Test
    void persistedButUnopenedConsumer_pinsArenasAcrossARestart_whenGcRunsFirst() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, MESSAGES);
            Consumers consumers = Consumers.of(q);
            readAll(consumers.open("parked"), 0, 50);
            Consumer ledger = consumers.open("ledger", CommitMode.MANUAL);
            readAll(ledger, 0, 30);
            ledger.commit();
            readAll(ledger, 30, 400);
            drainOwn(q);
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            drainOwn(q);
            q.gc(); // before Consumers.of: only the files on disk speak for the consumers
            assertTrue(q.earliestOffset() <= 30, "GC deleted arenas a persisted consumer needs; earliest is now "
                    + q.earliestOffset());
            Consumers consumers = Consumers.of(q);
            Consumer parked = consumers.open("parked");
            Consumer ledger = consumers.open("ledger", CommitMode.MANUAL);
            assertEquals(50, parked.position());
            assertEquals(30, ledger.position());
            readAll(parked, 50, MESSAGES);
            readAll(ledger, 30, MESSAGES);
            ledger.commit();
            q.gc();
            assertTrue(arenaFiles(dir) <= 2, "arenas left after everyone caught up: " + arenaFiles(dir));
        }
    }

    @Test
    void manualSeekBack_keepsTheArenasItWentBackFor() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            enqueue(q, MESSAGES);
            Consumer m = Consumers.of(q).open("replayer", CommitMode.MANUAL);
            readAll(m, 0, 1500);
            m.commit();
            drainOwn(q);
            m.seek(100);
            assertEquals(100, m.committedPosition(), "a seek back before the committed position is committed");
            q.gc();
            readAll(m, 100, MESSAGES);
        }
    }

    @Test
    void backgroundGc_neverDeletesUnderReadingConsumers() throws Exception {
        QueueConfig config = QueueConfig.builder().arenaSize(4096).gcInterval(Duration.ofMillis(5))
                .flushInterval(Duration.ZERO).build();
        int total = 20_000;
        try (BigQueue q = BigQueue.open(dir, config)) {
            Consumers consumers = Consumers.of(q);
            Consumer[] readers = {consumers.open("r0"), consumers.open("r1"), consumers.open("r2", CommitMode.MANUAL)};
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            for (int k = 0; k < readers.length; k++) {
                Consumer c = readers[k];
                int pace = k;
                threads.add(new Thread(() -> {
                    try {
                        for (long o = 0; o < total; o++) {
                            byte[] m = c.dequeue(Duration.ofSeconds(20));
                            assertTrue(m != null, c.name() + " timed out at " + o);
                            assertEquals(o, offsetOf(m), c.name());
                            if (pace > 0 && o % (50 * pace) == 0) {
                                Thread.sleep(1);
                            }
                            if (c.commitMode() == CommitMode.MANUAL && o % 97 == 0) {
                                c.commit();
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            threads.add(new Thread(() -> {
                try {
                    for (long o = 0; o < total; o++) {
                        byte[] m = q.dequeue(Duration.ofSeconds(20));
                        assertTrue(m != null, "own consumer timed out at " + o);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
            threads.forEach(Thread::start);
            enqueue(q, total);
            for (Thread t : threads) {
                t.join(60_000);
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            readers[2].commit();
            q.gc();
            assertTrue(arenaFiles(dir) <= 2, "arenas left: " + arenaFiles(dir));
        }
    }

    @Test
    void dropOldest_movesALaggingConsumerToTheEarliestMessage_withAWarnNamingIt() {
        QueueConfig config = QueueConfig.builder().arenaSize(4096).maxDiskBytes(8 * 4096)
                .whenFull(WhenFull.DROP_OLDEST).gcInterval(Duration.ZERO).build();
        String log;
        try (BigQueue q = BigQueue.open(dir, config)) {
            Consumer laggard = Consumers.of(q).open("laggard");
            enqueue(q, 500);
            long earliest = q.earliestOffset();
            assertTrue(earliest > 0, "DROP_OLDEST should have dropped arenas");
            assertEquals(earliest, laggard.position());
            try (CapturedLog captured = new CapturedLog()) {
                assertEquals(earliest, offsetOf(laggard.dequeue()));
                log = captured.text();
            }
            readAll(laggard, earliest + 1, 500);
            assertNull(laggard.dequeue());
        }
        assertTrue(log.contains("WARN") && log.contains("'laggard'") && log.contains("message(s)"),
                "expected a WARN naming the consumer and the messages it missed, got: " + log);
    }
}
