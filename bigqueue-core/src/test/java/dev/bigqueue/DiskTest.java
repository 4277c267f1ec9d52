package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.testing.SmallTmpfs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantee 6 (disk): arenas are deleted once every consumer has read past them; with
 * {@code maxDiskBytes} the arena files never exceed the cap under each {@link WhenFull} policy;
 * space is reserved at arena creation, so a full disk is a clean exception, not a JVM crash.
 */
class DiskTest {
    private static final int ARENA = 8192;

    @TempDir
    Path dir;

    static long arenaFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("arena-\\d{12}\\.dat")).count();
        }
    }

    static String arenaFileNames(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("arena-")).sorted().toList()
                    .toString();
        }
    }

    static long arenaBytes(Path dir) throws IOException {
        return arenaFiles(dir) * ARENA;
    }

    private static QueueConfig.Builder base() {
        return QueueConfig.builder().arenaSize(ARENA).gcInterval(Duration.ZERO);
    }

    @Test
    void gc_deletesOnlyArenasTheConsumerHasReadPast() throws IOException {
        // Without pretouch, so that no arena is made ahead and the file counts are exact.
        try (BigQueue q = BigQueue.open(dir, base().pretouch(false).build())) {
            for (int i = 0; i < 100; i++) {
                q.enqueue(new byte[1000]); // ~8 per arena -> 13 arenas
            }
            long before = arenaFiles(dir);
            assertTrue(before >= 12, "arenas: " + before);
            q.gc();
            assertEquals(before, arenaFiles(dir), "nothing read yet, nothing deleted");
            for (int i = 0; i < 50; i++) {
                q.dequeue();
            }
            q.gc();
            long after = arenaFiles(dir);
            assertTrue(after < before && after >= before / 2 - 1, before + " -> " + after);
            assertTrue(q.earliestOffset() > 0 && q.earliestOffset() <= 50,
                    "earliest retained moved forward but not past the head: " + q.earliestOffset());
            for (int i = 50; i < 100; i++) {
                assertEquals(1000, q.dequeue().length);
            }
            q.gc();
            assertTrue(arenaFiles(dir) <= 1);
            // The last message handed out is committed lazily (at-least-once), so its arena stays.
            assertTrue(q.earliestOffset() >= 90 && q.earliestOffset() <= 100, "earliest " + q.earliestOffset());
            assertEquals(100, q.enqueue(new byte[1]));
        }
    }

    @Test
    void ownConsumerOff_onlyNamedConsumersHoldArenas_andNoConsumerMeansKeepAll() throws IOException {
        QueueConfig off = base().pretouch(false).ownConsumer(false).build();
        try (BigQueue q = BigQueue.open(dir, off)) {
            for (int i = 0; i < 100; i++) {
                q.enqueue(new byte[1000]);
            }
            long before = arenaFiles(dir);
            q.gc();
            assertEquals(before, arenaFiles(dir), "no consumer at all: nothing has been read, nothing goes");
            IllegalStateException e = assertThrows(IllegalStateException.class, q::dequeue);
            assertTrue(e.getMessage().contains("ownConsumer"), e.getMessage());
            // A named consumer (as bigqueue-consumers persists it) that has read 60 messages.
            long position = 60 * dev.bigqueue.internal.FileFormat.recordBytes(1000);
            dev.bigqueue.internal.ConsumerFile.create(dev.bigqueue.internal.FileFormat.consumerFile(dir, "audit"),
                    60, position, 0).close();
            q.gc();
            long after = arenaFiles(dir);
            assertTrue(after < before && after > 1, before + " -> " + after);
            assertTrue(q.earliestOffset() > 0 && q.earliestOffset() <= 60, "earliest " + q.earliestOffset());
        }
        try (BigQueue q = BigQueue.open(dir, base().pretouch(false).build())) {
            long files = arenaFiles(dir);
            q.gc();
            assertEquals(files, arenaFiles(dir), "with the own consumer back on, its head holds the rest");
        }
    }

    @Test
    void gcInterval_runsInTheBackground() throws Exception {
        try (BigQueue q = BigQueue.open(dir, base().pretouch(false).gcInterval(Duration.ofMillis(50)).build())) {
            for (int i = 0; i < 100; i++) {
                q.enqueue(new byte[1000]);
            }
            while (q.dequeue() != null) {
                // drain
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); // a hang detector only
            while (arenaFiles(dir) > 1 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(arenaFiles(dir) <= 1, "background GC deleted the consumed arenas");
        }
    }

    @Test
    void maxDiskBytes_fail_throwsClearly_writesNothing_andRecovers() throws IOException {
        QueueConfig c = base().maxDiskBytes(4 * ARENA).whenFull(WhenFull.FAIL).build();
        try (BigQueue q = BigQueue.open(dir, c)) {
            long n = 0;
            QueueFullException full = null;
            while (full == null) {
                try {
                    q.enqueue(new byte[1000]);
                    n++;
                } catch (QueueFullException e) {
                    full = e;
                }
                assertTrue(arenaBytes(dir) <= 4 * ARENA);
            }
            assertTrue(full.getMessage().contains("maxDiskBytes")
                    && full.getMessage().contains(dir.getFileName().toString()),
                    full.getMessage());
            assertEquals(n, q.tailOffset(), "the failed enqueue wrote nothing");
            for (int i = 0; i < n; i++) {
                assertEquals(1000, q.dequeue().length);
            }
            assertNull(q.dequeue());
            q.enqueue(new byte[1000]); // the collector frees space for it
            assertTrue(arenaBytes(dir) <= 4 * ARENA);
        }
    }

    @Test
    void maxDiskBytes_block_waitsForTheConsumer() throws Exception {
        QueueConfig c = base().maxDiskBytes(3 * ARENA).whenFull(WhenFull.BLOCK).build();
        int total = 300;
        try (BigQueue q = BigQueue.open(dir, c)) {
            AtomicLong maxBytes = new AtomicLong();
            CountDownLatch producerDone = new CountDownLatch(1);
            Thread producer = new Thread(() -> {
                for (int i = 0; i < total; i++) {
                    q.enqueue(MemoryCapTest.ByteBufferInts.message(i, 996));
                    try {
                        maxBytes.accumulateAndGet(arenaBytes(dir), Math::max);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
                producerDone.countDown();
            });
            producer.start();
            assertTrue(!producerDone.await(300, TimeUnit.MILLISECONDS), "producer must block at the cap");
            for (int i = 0; i < total; i++) {
                byte[] m = q.take();
                assertEquals(i, MemoryCapTest.ByteBufferInts.read(m));
            }
            assertTrue(producerDone.await(10, TimeUnit.SECONDS));
            assertTrue(maxBytes.get() <= 3 * ARENA, "arena bytes reached " + maxBytes.get());
        }
    }

    @Test
    void maxDiskBytes_block_neverStallsFlushOrConsumersThatFlushEveryOp() throws Exception {
        QueueConfig c = base().maxDiskBytes(2 * ARENA).whenFull(WhenFull.BLOCK).flushEveryOps(1).build();
        int total = 100;
        try (BigQueue q = BigQueue.open(dir, c)) {
            Thread producer = new Thread(() -> {
                for (int i = 0; i < total; i++) {
                    q.enqueue(MemoryCapTest.ByteBufferInts.message(i, 996));
                }
            });
            producer.start();
            Thread.sleep(200); // the producer is blocked at the cap by now
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
                q.flush();
                for (int i = 0; i < total; i++) {
                    assertEquals(i, MemoryCapTest.ByteBufferInts.read(q.take()));
                }
            });
            producer.join(10_000);
            assertTrue(!producer.isAlive());
        }
    }

    @Test
    void dropOldest_takesBackTheMappingAnIdleReaderHolds() {
        // The reader keeps its arena pinned between reads (a lease); dropping that arena must
        // still go through while the reader sits idle, and the reader must then move forward.
        QueueConfig c = base().maxDiskBytes(3 * ARENA).whenFull(WhenFull.DROP_OLDEST).build();
        try (BigQueue q = BigQueue.open(dir, c)) {
            q.enqueue(MemoryCapTest.ByteBufferInts.message(0, 996));
            q.enqueue(MemoryCapTest.ByteBufferInts.message(1, 996));
            assertEquals(0, MemoryCapTest.ByteBufferInts.read(q.peek()));
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
                for (int i = 2; i < 100; i++) {
                    q.enqueue(MemoryCapTest.ByteBufferInts.message(i, 996));
                }
            });
            long earliest = q.earliestOffset();
            assertTrue(earliest > 1, "the reader's arena was dropped: earliest " + earliest);
            assertEquals(earliest, MemoryCapTest.ByteBufferInts.read(q.dequeue()));
        }
    }

    @Test
    void maxDiskBytes_dropOldest_movesReaderForwardAndKeepsCap() throws IOException {
        QueueConfig c = base().maxDiskBytes(3 * ARENA).whenFull(WhenFull.DROP_OLDEST).build();
        try (BigQueue q = BigQueue.open(dir, c)) {
            for (int i = 0; i < 200; i++) {
                q.enqueue(MemoryCapTest.ByteBufferInts.message(i, 996));
                assertTrue(arenaBytes(dir) <= 3 * ARENA, "after message " + i + ": " + arenaFileNames(dir));
            }
            long earliest = q.earliestOffset();
            assertTrue(earliest > 0 && earliest < 200, "earliest " + earliest);
            assertEquals(earliest, q.headOffset(), "the head moved forward to the earliest retained message");
            byte[] first = q.dequeue();
            assertEquals(earliest, MemoryCapTest.ByteBufferInts.read(first));
            long expected = earliest + 1;
            byte[] m;
            while ((m = q.dequeue()) != null) {
                assertEquals(expected++, MemoryCapTest.ByteBufferInts.read(m));
            }
            assertEquals(200, expected);
        }
    }

    @Test
    void maxDiskBytes_messageLargerThanCap_isRejectedUpFront() {
        QueueConfig c = base().maxDiskBytes(2 * ARENA).whenFull(WhenFull.FAIL).build();
        try (BigQueue q = BigQueue.open(dir, c)) {
            q.enqueueString("kept");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> q.enqueue(new byte[5 * ARENA]));
            assertTrue(e.getMessage().contains("maxDiskBytes"), e.getMessage());
            assertEquals("kept", q.dequeueString());
        }
    }

    @Test
    void diskFull_onSmallTmpfs_isACleanIOException_andQueueStaysReadable() throws Exception {
        long arena = 256 * 1024;
        try (SmallTmpfs fs = SmallTmpfs.mount(1024 * 1024)) {
            Path qdir = fs.path().resolve("q");
            QueueConfig c = QueueConfig.builder().arenaSize(arena).gcInterval(Duration.ZERO).build();
            long written = 0;
            UncheckedIOException full = null;
            byte[] payload = new byte[10_000];
            try (BigQueue q = BigQueue.open(qdir, c)) {
                while (full == null && written < 1000) {
                    try {
                        payload[0] = (byte) written;
                        q.enqueue(payload);
                        written++;
                    } catch (UncheckedIOException e) {
                        full = e;
                    }
                }
                assertTrue(full != null, "the 1 MiB tmpfs must fill up");
                assertTrue(full.getMessage().contains(qdir.toRealPath().toString()), full.getMessage());
                assertTrue(full.getMessage().contains("space"), full.getMessage());
                assertEquals(written, q.tailOffset());
                for (long i = 0; i < written; i++) {
                    assertEquals((byte) i, q.dequeue()[0]);
                }
                assertNull(q.dequeue());
            }
            try (BigQueue q = BigQueue.open(qdir, c)) {
                assertEquals(written, q.tailOffset(), "everything acknowledged survives the full disk and a reopen");
                q.gc();
                payload[0] = 42;
                q.enqueue(payload); // space freed by the collector makes room again
                assertArrayEquals(payload, q.dequeue());
            }
        }
    }
}
