package dev.bigqueue.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.QueueFullException;
import dev.bigqueue.WhenFull;
import dev.bigqueue.testing.Poll;
import dev.bigqueue.testing.Threads;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Guarantee 6 (disk) with {@code maxDiskBytes} beside read-only opens: the collection pass the
 * writer runs at the cap is skipped while a read-only open holds the {@link GcFence} (it creates or
 * moves back a consumer). The writer then waits for that short step to end and runs its pass,
 * instead of acting as if nothing could be collected: FAIL threw QueueFullException, DROP_OLDEST
 * dropped an arena (and logged unread messages lost), though every consumer had read everything.
 * The fence is held here by another thread of this JVM, which the writer's pass meets exactly as it
 * meets a reader in another process (the in-JVM lock is tried first).
 */
class FencedPassAtCapTest {
    /** Only a hang reaches it: the waits end on conditions. */
    private static final Duration HANG = Duration.ofMinutes(2);
    private static final int ARENA = 8192;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = WhenFull.class, names = {"FAIL", "DROP_OLDEST"})
    void aPassFencedOffByAReader_waitsForTheReaderAndCollects(WhenFull whenFull) throws Exception {
        QueueConfig c = QueueConfig.builder().arenaSize(ARENA).gcInterval(Duration.ZERO).pretouch(false)
                .maxDiskBytes(3 * ARENA).whenFull(WhenFull.FAIL).build();
        long written = 0;
        try (BigQueue q = BigQueue.open(dir, c)) {
            // Up to the cap (FAIL tells where it is), then everything read: a pass would free two arenas.
            assertThrows(QueueFullException.class, () -> {
                for (;;) {
                    q.enqueue(new byte[1000]);
                }
            });
            written = q.tailOffset();
            for (long i = 0; i < written; i++) {
                assertEquals(1000, q.dequeue().length);
            }
            assertNull(q.dequeue());
        }
        try (BigQueue q = BigQueue.open(dir, c.toBuilder().whenFull(whenFull).build())) {
            assertEquals(3, arenaFiles(dir), "the queue is at its cap of three arenas");
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch held = new CountDownLatch(1);
            AtomicReference<Throwable> readerFailed = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                try (GcFence fence = GcFence.hold(dir)) {
                    held.countDown();
                    release.await();
                } catch (Throwable t) {
                    readerFailed.set(t);
                    held.countDown();
                }
            }, "reader holding the fence");
            reader.start();
            held.await();
            assertNull(readerFailed.get());
            byte[] next = new byte[1000];
            next[0] = 7;
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread producer = new Thread(() -> {
                try {
                    q.enqueue(next);
                } catch (Throwable t) {
                    failed.set(t);
                }
            }, "producer");
            try {
                producer.start();
                // The pass is fenced off: the producer waits for the reader. (Or, wrongly, it ended.)
                Poll.until(() -> !producer.isAlive() || Threads.waitingIn(producer, "DiskSpace", "awaitRoom"), null,
                        HANG, () -> "producer at " + Arrays.toString(producer.getStackTrace()));
                assertTrue(producer.isAlive(), "the enqueue did not wait for the reader's step to end: "
                        + failed.get() + "; earliest offset " + q.earliestOffset() + " of " + written + " read");
            } finally {
                release.countDown();
                reader.join();
            }
            Poll.until(() -> !producer.isAlive(), null, HANG,
                    () -> "the producer still waits after the reader let go, at "
                            + Arrays.toString(producer.getStackTrace()));
            assertNull(failed.get());
            assertArrayEquals(next, q.dequeue());
            assertTrue(arenaFiles(dir) <= 3, "arena files: " + arenaFiles(dir));
            // A collection made the room (every consumer at the tail: the start moved to it); a drop
            // of the oldest arena would have left the start at the first record of the next one.
            assertEquals(written, q.earliestOffset(), "earliest offset");
        }
    }

    private static long arenaFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> FileFormat.arenaIdOf(p.getFileName().toString()) >= 0).count();
        }
    }
}
