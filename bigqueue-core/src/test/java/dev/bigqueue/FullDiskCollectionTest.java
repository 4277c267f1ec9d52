package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.testing.SmallTmpfs;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Guarantee 6 (disk) on a really full disk (a small tmpfs): when an arena cannot be made for lack
 * of space, the writer first collects the arenas every consumer has read past (or pools them, with
 * {@code arenaPool}) and tries again, so a consumed queue never fails an enqueue for space that a
 * collection would free; only when nothing can be collected is the full disk an IOException.
 */
class FullDiskCollectionTest {
    private static final long ARENA = 256 * 1024;

    /** Collection only when the writer runs it: no background pass between the steps. */
    private static QueueConfig config(int arenaPool) {
        return QueueConfig.builder().arenaSize(ARENA).gcInterval(Duration.ZERO).pretouch(false).arenaPool(arenaPool)
                .build();
    }

    /**
     * Fills a 1 MiB tmpfs (three arenas of 256 KiB and the queue's small files; a fourth arena does
     * not fit), reads everything, then enqueues again with the background collector off.
     */
    @ParameterizedTest(name = "arenaPool {0}")
    @ValueSource(ints = {0, 2})
    void fullDisk_consumedArenasAreCollectedAndTheEnqueueSucceeds(int arenaPool) throws Exception {
        try (SmallTmpfs fs = SmallTmpfs.mount(1024 * 1024)) {
            Path qdir = fs.path().resolve("q");
            QueueConfig c = config(arenaPool);
            byte[] payload = new byte[10_000];
            try (BigQueue q = BigQueue.open(qdir, c)) {
                long written = fill(q, payload);
                assertTrue(DiskTest.arenaFiles(qdir) >= 3, "arenas: " + DiskTest.arenaFileNames(qdir));
                for (long i = 0; i < written; i++) {
                    assertEquals((byte) i, q.dequeue()[0]);
                }
                assertNull(q.dequeue());
                // No gc() here: the enqueue that needs a new arena makes the room itself.
                payload[0] = 42;
                assertEquals(written, q.enqueue(payload), "the enqueue after everything was read");
                assertArrayEquals(payload, q.dequeue());
                // On across the next five arena boundaries, each message read as it comes: every new
                // arena needs the collection again (the disk holds three).
                for (long i = 0; i < 5 * ARENA / payload.length; i++) {
                    payload[0] = (byte) i;
                    q.enqueue(payload);
                    assertEquals((byte) i, q.dequeue()[0]);
                }
            }
        }
    }

    /** Nothing read: nothing can be collected, and the full disk stays a clean IOException naming the queue. */
    @ParameterizedTest(name = "arenaPool {0}")
    @ValueSource(ints = {0, 2})
    void fullDisk_nothingConsumed_isStillACleanIOException(int arenaPool) throws Exception {
        try (SmallTmpfs fs = SmallTmpfs.mount(1024 * 1024)) {
            Path qdir = fs.path().resolve("q");
            QueueConfig c = config(arenaPool);
            byte[] payload = new byte[10_000];
            try (BigQueue q = BigQueue.open(qdir, c)) {
                long written = fill(q, payload);
                UncheckedIOException full = assertThrows(UncheckedIOException.class, () -> q.enqueue(payload));
                assertTrue(full.getMessage().contains(qdir.toRealPath().toString()), full.getMessage());
                assertEquals(written, q.tailOffset(), "the failed enqueues wrote nothing");
                for (long i = 0; i < written; i++) {
                    assertEquals((byte) i, q.dequeue()[0]);
                }
            }
        }
    }

    /** Enqueues numbered payloads until the disk is full; how many went in. */
    private static long fill(BigQueue q, byte[] payload) {
        long written = 0;
        for (;;) {
            payload[0] = (byte) written;
            try {
                q.enqueue(payload);
            } catch (UncheckedIOException full) {
                assertTrue(full.getMessage().contains("space"), full.getMessage());
                return written;
            }
            written++;
            assertTrue(written < 1000, "the 1 MiB tmpfs must fill up");
        }
    }
}
