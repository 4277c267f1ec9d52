package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.testing.FailingDisk;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A disk that fails to write back records (a real one: ext4 on a loop device whose backing tmpfs
 * is full, see {@link FailingDisk}). The kernel reports such a failure to one sync and then counts
 * the pages as written, so a retried msync returns without error and the bytes are still not on
 * disk. The queue must never vouch for them: the durable offset stays where the failure found it,
 * every later flush, {@code syncOnWrite} enqueue and {@code whenDurable} future for what is not
 * durable fails with an error that says so, and what was written stays readable in this process.
 */
class WriteBackFailureTest {
    private static final int ARENA = 16 * 1024 * 1024;
    /** Messages of 1000 bytes written after the disk broke: well past the ~1 MiB it may still take. */
    private static final int REFUSED = 6000;
    private static final int TAIL = 100 + REFUSED;
    private static final long WAIT_S = 60;

    /**
     * No periodic flush, no pretouch: the test's own calls are the only syncs, so the one that
     * meets the failure is known. (With them, one of theirs would meet it; the rule is the same.)
     */
    private static QueueConfig config() {
        return QueueConfig.builder().arenaSize(ARENA).flushInterval(Duration.ZERO).gcInterval(Duration.ZERO)
                .pretouch(false).build();
    }

    /** Messages 0..99 made durable, then the disk broken, then messages 100..TAIL-1 written (not synced). */
    private static void writeDurableThenRefused(BigQueue q, FailingDisk disk) throws Exception {
        byte[] payload = new byte[1000];
        for (int i = 0; i < 100; i++) {
            payload[0] = (byte) i;
            q.enqueue(payload);
        }
        q.flush();
        assertEquals(100, q.durableOffset());
        disk.syncAll();
        disk.breakWrites();
        for (int i = 100; i < TAIL; i++) {
            payload[0] = (byte) i;
            q.enqueue(payload); // into pages of the arena the disk never had
        }
    }

    @Test
    void aFailedWriteBack_isFinal_noRetryVouchesForTheLostBytes() throws Exception {
        try (FailingDisk disk = FailingDisk.mount(24, 128)) {
            BigQueue q = BigQueue.open(disk.path().resolve("q"), config());
            UncheckedIOException closeError;
            try {
                writeDurableThenRefused(q, disk);
                UncheckedIOException first = assertThrows(UncheckedIOException.class, q::flush);
                assertEquals(100, q.durableOffset());
                // The same range is clean in the page cache now: an msync of it returns at once
                // without error. Before this was handled, this flush passed and moved durableOffset to TAIL.
                UncheckedIOException again = assertThrows(UncheckedIOException.class, q::flush,
                        "a retried sync must not vouch for pages the disk refused");
                assertEquals(100, q.durableOffset());
                assertTrue(first.getMessage().contains("failed to write back"), first.getMessage());
                assertTrue(first.getMessage().contains("every offset from 100 (durableOffset) on may be lost"),
                        first.getMessage());
                assertTrue(again.getMessage().contains("failed to write back"), again.getMessage());

                CompletableFuture<Long> future = q.whenDurable(500);
                ExecutionException failed = assertThrows(ExecutionException.class,
                        () -> future.get(WAIT_S, TimeUnit.SECONDS));
                assertTrue(failed.getCause().getMessage().contains("failed to write back"),
                        failed.getCause().getMessage());
                assertEquals(100L, q.whenDurable(50).get(WAIT_S, TimeUnit.SECONDS),
                        "an offset durable before the failure still completes normally");

                assertEquals(TAIL, q.tailOffset());
                for (int i = 0; i < TAIL; i++) {
                    byte[] m = q.dequeue();
                    assertEquals((byte) i, m[0], "message " + i + " reads back in this process");
                }
                assertNull(q.dequeue());
            } finally {
                closeError = assertThrows(UncheckedIOException.class, q::close,
                        "close cannot claim a clean close when its final flush could not be trusted");
            }
            assertTrue(closeError.getMessage().contains("failed to write back"), closeError.getMessage());
        }
    }

    @Test
    void syncOnWrite_afterAFailedWriteBack_failsEveryEnqueue_andSaysWhy() throws Exception {
        try (FailingDisk disk = FailingDisk.mount(24, 128)) {
            BigQueue q = BigQueue.open(disk.path().resolve("q"), config().toBuilder().syncOnWrite(true).build());
            try {
                q.enqueueString("durable");
                assertEquals(1, q.durableOffset());
                disk.syncAll();
                disk.breakWrites();
                byte[] page = new byte[8192];
                // The first megabyte or so may still be taken (the tmpfs under the image keeps some slack).
                UncheckedIOException e = null;
                long offset = 1;
                for (; e == null && offset < 2000; offset++) {
                    try {
                        q.enqueue(page);
                    } catch (UncheckedIOException refused) {
                        e = refused;
                    }
                }
                assertTrue(e != null, "16 MB of syncOnWrite enqueues on a full disk must meet the failure");
                assertTrue(e.getMessage().contains("failed to write back"), e.getMessage());
                long durable = q.durableOffset();
                assertTrue(durable < offset, "the refused message is not durable: " + durable + " vs " + offset);
                for (int i = 0; i < 3; i++) {
                    UncheckedIOException later = assertThrows(UncheckedIOException.class, () -> q.enqueue(page),
                            "every later syncOnWrite enqueue fails too: none can be made durable");
                    assertInstanceOf(IOException.class, later.getCause());
                }
                assertEquals(durable, q.durableOffset());
                assertArrayEquals("durable".getBytes(StandardCharsets.UTF_8), q.dequeue());
            } finally {
                assertThrows(UncheckedIOException.class, q::close);
            }
        }
    }

    /**
     * The open after the failure must make the refused records durable, or they are gone after the
     * next cold start, and recovery then cuts the log at the first of them, taking everything
     * written after it too. The remount drops the page cache, as a reboot would.
     */
    @Test
    void theNextOpen_rewritesWhatTheDiskRefused_soItSurvivesAColdStart() throws Exception {
        try (FailingDisk disk = FailingDisk.mount(24, 128)) {
            Path dir = disk.path().resolve("q");
            QueueConfig config = config();
            byte[] payload = new byte[1000];
            BigQueue q = BigQueue.open(dir, config);
            try {
                writeDurableThenRefused(q, disk);
                assertThrows(UncheckedIOException.class, q::flush);
                assertTrue(Files.exists(dir.resolve("writeback-failed")), "the failure is recorded for the next open");
            } finally {
                disk.healWrites();
                assertThrows(UncheckedIOException.class, q::close);
            }

            long kept;
            try (BigQueue again = BigQueue.open(dir, config)) {
                assertFalse(Files.exists(dir.resolve("writeback-failed")), "the next open dealt with it");
                // The rewrite copies what the page cache still holds. The kernel keeps refused pages
                // as long as nothing evicts them; once (CI, with other sessions' disk tests beside
                // it) some were gone before this open, and the log then ends at the first of them,
                // as the class says. The durable ones are always there.
                kept = again.tailOffset();
                assertTrue(kept >= 100 && kept <= TAIL, "tail " + kept + " after the rewrite");
                if (kept < TAIL) {
                    System.out.println("the page cache had lost refused records from offset " + kept);
                }
                for (long i = kept; i < kept + 100; i++) {
                    payload[0] = (byte) i;
                    again.enqueue(payload); // written and synced after the rewritten ones
                }
                again.flush();
                assertEquals(kept + 100, again.durableOffset());
            }
            disk.remount();
            try (BigQueue cold = BigQueue.open(dir, config)) {
                // Without the rewrite the refused records read as zeros now, and recovery cuts there.
                assertEquals(kept + 100, cold.tailOffset(), "nothing cut after a cold start");
                for (long i = 0; i < kept + 100; i++) {
                    byte[] m = cold.dequeue();
                    assertEquals(1000, m.length);
                    assertEquals((byte) i, m[0], "message " + i + " from the disk itself");
                }
                assertNull(cold.dequeue());
            }
        }
    }
}
