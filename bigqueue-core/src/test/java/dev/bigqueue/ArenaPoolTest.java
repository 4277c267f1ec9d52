package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.bigqueue.internal.Cursor;
import dev.bigqueue.internal.Engines;
import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.internal.RecordLog;
import dev.bigqueue.testing.Payloads;
import dev.bigqueue.testing.QueueFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code arenaPool(n)} in one process: files are reused rather than made again, nothing old ever
 * comes back (after many reuse cycles, after a power loss that reverted a reused arena's unflushed
 * pages to what they held before), pooled files count against maxDiskBytes, stray pool files do
 * not stop an open, and close may race collection and reuse. The kill -9 rounds are in
 * {@link ArenaPoolCrashTest}.
 */
class ArenaPoolTest {
    static final int ARENA_SIZE = 8192;
    /** 72 payload bytes make 88-byte records, 92 to an arena exactly: old and new records line up. */
    static final int FIXED = 72;
    static final int RECORD_BYTES = 88;

    @TempDir
    Path tmp;

    static QueueConfig.Builder config(int pool) {
        return QueueConfig.builder().arenaSize(ARENA_SIZE).arenaPool(pool).gcInterval(Duration.ZERO)
                .flushInterval(Duration.ZERO).pretouch(false);
    }

    @Test
    void option_defaultsValidationAndProperties() {
        assertEquals(QueueConfig.DEFAULT_ARENA_POOL, QueueConfig.defaults().arenaPool());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> QueueConfig.builder().arenaPool(-1).build());
        assertTrue(e.getMessage().contains("arenaPool") && e.getMessage().contains("-1")
                && e.getMessage().contains("0 (off) to " + QueueConfig.MAX_ARENA_POOL), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> QueueConfig.builder().arenaPool(QueueConfig.MAX_ARENA_POOL + 1).build());
        Properties p = new Properties();
        p.setProperty("bigqueue.arenaPool", "5");
        QueueConfig c = QueueConfig.fromProperties(p);
        assertEquals(5, c.arenaPool());
        assertEquals(c, c.toBuilder().build());
        assertTrue(c.toString().contains("arenaPool=5"));
    }

    @Test
    void consumedArenas_areReusedNotMadeAgain_andEveryMessageComesBackOnceInOrder_overManyCycles() throws Exception {
        long seed = Long.getLong("bigqueue.test.seed", System.nanoTime());
        Random random = new Random(seed);
        Path dir = tmp.resolve("q");
        int pool = 3;
        ArrayDeque<Long> model = new ArrayDeque<>();
        Set<Object> pooledKeys = new HashSet<>();
        Set<Object> reusedKeys = new HashSet<>();
        long next = 0;
        long reuses = 0;
        // With the pretoucher, which makes arenas ahead (out of the pool too).
        BigQueue q = BigQueue.open(dir, config(pool).pretouch(true).build());
        try {
            for (int step = 0; step < 400; step++) {
                String where = "seed " + seed + ", step " + step;
                int op = random.nextInt(10);
                if (op < 5) {
                    for (int i = random.nextInt(40); i > 0; i--) {
                        assertEquals(next, q.enqueue(Payloads.payload(seed, next, 3000)), where);
                        model.addLast(next++);
                    }
                } else if (op < 9) {
                    for (int i = random.nextInt(40); i > 0; i--) {
                        Long want = model.pollFirst();
                        byte[] got = q.dequeue();
                        if (want == null) {
                            assertNull(got, where + ": the model is empty");
                            break;
                        }
                        assertArrayEquals(Payloads.payload(seed, want, 3000), got, where + ": offset " + want);
                    }
                    q.gc();
                } else {
                    q.close();
                    q = BigQueue.open(dir, config(pool).pretouch(true).build());
                }
                assertEquals(model.size(), q.size(), where);
                // A file key (inode) of a pool file at the last step now under an arena name: reused.
                // (Only pool files of the last step: the file system gives a deleted file's inode
                // number to new files, and pool files here go only by reuse.)
                Map<String, Object> keys = fileKeys(dir);
                Set<Object> pooledBefore = pooledKeys;
                pooledKeys = new HashSet<>();
                for (Map.Entry<String, Object> e : keys.entrySet()) {
                    if (e.getKey().startsWith("pool-")) {
                        pooledKeys.add(e.getValue());
                    } else if (pooledBefore.contains(e.getValue()) && reusedKeys.add(e.getValue() + "@" + e.getKey())) {
                        reuses++;
                        assertTrue(reusesInHeader(dir.resolve(e.getKey())) > 0, where + ": " + e.getKey()
                                + " is a reused file, its header must count it");
                    }
                }
                assertTrue(pooledKeys.size() <= pool, where + ": " + pooledKeys.size() + " pool files, arenaPool is "
                        + pool + ": " + new java.util.TreeMap<>(keys));
            }
            verifyEveryRecord(q, seed, 3000, "seed " + seed + ", at the end");
            for (Long want : model) {
                assertArrayEquals(Payloads.payload(seed, want, 3000), q.dequeue(), "offset " + want);
            }
            assertNull(q.dequeue());
        } finally {
            q.close();
        }
        assertTrue(reuses >= 20, "seed " + seed + ": files should have been reused many times, got " + reuses);
    }

    @Test
    void aSmallerPoolAtReopen_deletesTheExtraFiles_andNoneAtZero() throws IOException {
        Path dir = tmp.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config(4).build())) {
            fillAndConsume(q, 6 * 92);
            q.gc();
            assertEquals(4, countFiles(dir, "pool-"));
        }
        try (BigQueue q = BigQueue.open(dir, config(2).build())) {
            assertEquals(2, countFiles(dir, "pool-"));
        }
        try (BigQueue q = BigQueue.open(dir, config(0).build())) {
            assertEquals(0, countFiles(dir, "pool-"));
            fillAndConsume(q, 3 * 92);
            q.gc();
            assertEquals(0, countFiles(dir, "pool-"));
        }
    }

    /**
     * A cap too large for an int count of arenas ("unbounded" written as Long.MAX_VALUE) keeps the
     * pool: the open's trim to the room under the cap used to cast that count to an int, which
     * wrapped to a negative number, and every pooled file was deleted at each open.
     */
    @Test
    void aHugeMaxDiskBytes_keepsThePooledFilesAtReopen() throws IOException {
        Path dir = tmp.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config(4).build())) {
            fillAndConsume(q, 6 * 92);
            q.gc();
            assertEquals(4, countFiles(dir, "pool-"));
        }
        try (BigQueue q = BigQueue.open(dir, config(4).maxDiskBytes(Long.MAX_VALUE).build())) {
            assertEquals(4, countFiles(dir, "pool-"));
        }
        try (BigQueue q = BigQueue.open(dir, config(4).maxDiskBytes((long) ARENA_SIZE << 32).build())) {
            assertEquals(4, countFiles(dir, "pool-"));
        }
    }

    @Test
    void strayOrDamagedPoolFiles_areDeletedOrReused_neverTakenForArenas() throws IOException {
        Path dir = tmp.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config(2).build())) {
            fillAndConsume(q, 92);
        }
        // Wrong size, a directory, and one of the right size full of arena-like garbage.
        Files.write(dir.resolve(FileFormat.poolFileName(7)), new byte[100]);
        Files.createDirectory(dir.resolve(FileFormat.poolFileName(8)));
        byte[] garbage = new byte[ARENA_SIZE];
        new Random(1).nextBytes(garbage);
        Files.write(dir.resolve(FileFormat.poolFileName(0)), garbage);
        try (BigQueue q = BigQueue.open(dir, config(2).build())) {
            assertFalse(Files.exists(dir.resolve(FileFormat.poolFileName(7))));
            assertFalse(Files.exists(dir.resolve(FileFormat.poolFileName(8))));
            assertTrue(Files.exists(dir.resolve(FileFormat.poolFileName(0))));
            long tail = q.tailOffset();
            for (int i = 0; i < 3 * 92; i++) {
                q.enqueue(fixed(tail + i));
            }
            assertFalse(Files.exists(dir.resolve(FileFormat.poolFileName(0))), "the garbage file was reused");
            q.flush();
        }
        QueueFiles.markUnclean(dir); // recovery reads everything after the durable point again
        try (BigQueue q = BigQueue.open(dir, config(2).build())) {
            for (long o = q.headOffset(); o < q.tailOffset(); o++) {
                assertArrayEquals(fixed(o), q.dequeue(), "offset " + o);
            }
            assertNull(q.dequeue());
        }
    }

    /**
     * A power loss after a flush: the pages of the reused arena after the durable point never
     * reached the disk, so there it holds what the file held as its old arena, records lined up
     * exactly where the new ones would start. Recovery must cut at the durable point.
     */
    @Test
    void reusedArena_whosePagesAfterTheFlushRevertToTheOldRecords_recoveryCutsThere() throws Exception {
        Path dir = tmp.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config(1).build())) {
            fillAndConsume(q, 2 * 92);
            q.gc();
            Path pooled = onlyFile(dir, "pool-");
            byte[] old = Files.readAllBytes(pooled);
            Object key = fileKey(pooled);
            long base = q.tailOffset();
            q.enqueue(fixed(base));
            Path reused = null;
            for (Map.Entry<String, Object> e : fileKeys(dir).entrySet()) {
                if (e.getValue().equals(key)) {
                    reused = dir.resolve(e.getKey());
                }
            }
            long reusedArena = FileFormat.arenaIdOf(reused.getFileName().toString());
            assertTrue(reusedArena >= 0, "the pooled file became the next arena: " + reused);
            // 30 records into the reused file.
            long firstInReused = reusedArena * 92;
            for (long o = base + 1; o < firstInReused + 30; o++) {
                q.enqueue(fixed(o));
            }
            long durable = firstInReused + 10;
            Path copy = tmp.resolve("after-power-loss");
            QueueFiles.copyTree(dir, copy);
            QueueFiles.forgeCrashAfterFlush(copy, durable, durable * RECORD_BYTES);
            int from = FileFormat.arenaDataStart(ARENA_SIZE) + 10 * RECORD_BYTES;
            try (FileChannel ch = FileChannel.open(copy.resolve(reused.getFileName()), StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(old, from, ARENA_SIZE - from), from);
            }
            try (BigQueue r = BigQueue.open(copy, config(1).build())) {
                assertEquals(durable, r.tailOffset(), "recovery cuts at the durable point: the old records after it"
                        + " are not this arena's");
                verifyFixed(r);
                r.enqueue(fixed(durable));
            }
            QueueFiles.markUnclean(copy);
            try (BigQueue r = BigQueue.open(copy, config(1).build())) {
                assertEquals(durable + 1, r.tailOffset(), "what recovery cut stays cut (it zeroed it)");
                verifyFixed(r);
            }
        }
    }

    /**
     * The arenas recovery cuts are deleted, never pooled: they can hold whole records at the very
     * offsets and positions the log writes next (here every record after a damaged one), which the
     * offset salt cannot tell from new ones.
     */
    @Test
    void arenasCutByRecovery_areDeleted_neverPooled() throws Exception {
        Path dir = tmp.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config(4).build())) {
            for (long o = 0; o < 3 * 92; o++) {
                q.enqueue(fixed(o));
            }
        }
        // A crash after offset 10 was flushed, and record 20 damaged: recovery cuts there, and the
        // two arenas after it, full of whole records, go.
        QueueFiles.forgeCrashAfterFlush(dir, 10, 10L * RECORD_BYTES);
        QueueFiles.flipByte(FileFormat.arenaFile(dir, 0), FileFormat.arenaDataStart(ARENA_SIZE) + 20L * RECORD_BYTES
                + 20);
        try (BigQueue q = BigQueue.open(dir, config(4).build())) {
            assertEquals(20, q.tailOffset());
            assertEquals(0, countFiles(dir, "pool-"), "an arena recovery cut went into the pool");
            assertEquals(1, countFiles(dir, "arena-"));
            verifyFixed(q);
        }
    }

    /** Kill -9 leaves the page cache as it was: the zeroed bytes after the tail stop recovery there. */
    @Test
    void reusedArena_copiedMidWrite_recoversExactlyTheWrittenRecords() throws Exception {
        Path dir = tmp.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config(2).build())) {
            for (int round = 0; round < 12; round++) {
                long tail = q.tailOffset();
                for (int i = 0; i < 92 + round * 7; i++) {
                    q.enqueue(fixed(tail + i));
                }
                while (q.dequeue() != null) {
                    // consume all
                }
                q.gc();
                Path copy = tmp.resolve("copy-" + round);
                QueueFiles.copyTree(dir, copy); // an open queue's files: as a kill -9 leaves them
                try (BigQueue r = BigQueue.open(copy, config(2).build())) {
                    assertEquals(q.tailOffset(), r.tailOffset(), "round " + round);
                    verifyFixed(r);
                }
            }
        }
    }

    @Test
    void maxDiskBytes_countsPooledFiles_andDropsThemFirst() throws IOException {
        Path dir = tmp.resolve("q");
        long cap = 4L * ARENA_SIZE;
        QueueConfig c = config(3).maxDiskBytes(cap).whenFull(WhenFull.FAIL).build();
        long seed = 42;
        try (BigQueue q = BigQueue.open(dir, c)) {
            long next = 0;
            for (int round = 0; round < 40; round++) {
                // Up to three arenas of unread messages, then read them all: the pool fills up.
                int n = 1 + new Random(round).nextInt(3 * 92);
                for (int i = 0; i < n; i++) {
                    q.enqueue(fixed(next++));
                    assertTrue(diskBytes(dir) <= cap, "round " + round + ": " + diskBytes(dir)
                            + " bytes of arena and pool files, cap " + cap);
                }
                for (int i = 0; i < n; i++) {
                    assertArrayEquals(fixed(q.headOffset()), q.dequeue());
                }
                q.gc();
                assertTrue(diskBytes(dir) <= cap, "round " + round + " after gc");
            }
        }
        try (BigQueue q = BigQueue.open(dir, config(3).maxDiskBytes(2L * ARENA_SIZE).build())) {
            assertTrue(diskBytes(dir) <= 2L * ARENA_SIZE, "a lower cap at reopen drops pooled files");
        }
    }

    @Test
    void close_racingGcAndReuse_losesNothingAcknowledged() throws Exception {
        Path dir = tmp.resolve("q");
        long acknowledged = 0;
        for (int round = 0; round < 8; round++) {
            BigQueue q = BigQueue.open(dir, config(2).gcInterval(Duration.ofMillis(1)).build());
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CountDownLatch going = new CountDownLatch(3);
            long[] acked = {q.tailOffset() - 1};
            List<Thread> threads = new ArrayList<>();
            threads.add(untilClosed(going, failure, () -> acked[0] = q.enqueue(fixed(q.tailOffset()))));
            threads.add(untilClosed(going, failure, q::dequeue));
            threads.add(untilClosed(going, failure, q::gc));
            threads.forEach(Thread::start);
            going.await();
            long target = q.tailOffset() + 200 + round * 50;
            while (q.tailOffset() < target && failure.get() == null) {
                Thread.onSpinWait();
            }
            q.close();
            for (Thread t : threads) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError("round " + round, failure.get());
            }
            try (BigQueue r = BigQueue.open(dir, config(2).build())) {
                assertTrue(r.tailOffset() > acked[0], "round " + round + ": acknowledged " + acked[0]
                        + ", tail " + r.tailOffset());
                verifyFixed(r);
                acknowledged = r.tailOffset();
            }
        }
        assertTrue(acknowledged > 8 * 200);
    }

    // ---- helpers

    static byte[] fixed(long offset) {
        byte[] b = new byte[FIXED];
        ByteBuffer.wrap(b).putLong(offset).putLong(offset * 31 + 7).putLong(~offset);
        return b;
    }

    private static void fillAndConsume(BigQueue q, int n) {
        long tail = q.tailOffset();
        for (int i = 0; i < n; i++) {
            q.enqueue(fixed(tail + i));
        }
        while (q.dequeue() != null) {
            // consume all
        }
    }

    /** Every record from the earliest to the tail, not consuming: each is {@link #fixed} of its offset. */
    static void verifyFixed(BigQueue q) {
        RecordLog log = Engines.of(q).log();
        Cursor c = new Cursor();
        c.moveTo(log.earliestOffset(), log.earliestPosition());
        long expected = log.earliestOffset();
        for (byte[] m; (m = Engines.of(q).reader().read(c, true)) != null; expected++) {
            assertArrayEquals(fixed(expected), m, "offset " + expected);
        }
        assertEquals(q.tailOffset(), expected);
    }

    static void verifyEveryRecord(BigQueue q, long seed, int max, String where) {
        RecordLog log = Engines.of(q).log();
        Cursor c = new Cursor();
        c.moveTo(log.earliestOffset(), log.earliestPosition());
        long expected = log.earliestOffset();
        for (byte[] m; (m = Engines.of(q).reader().read(c, true)) != null; expected++) {
            if (!Arrays.equals(Payloads.payload(seed, expected, max), m)) {
                fail(where + ": record at offset " + expected + " is not the message enqueued there");
            }
        }
        assertEquals(q.tailOffset(), expected, where + ": records end at the tail (earliest " + log.earliestOffset()
                + "@" + log.earliestPosition() + ", tail " + log.tailOffset() + "@" + log.tailPosition()
                + ", reading stopped at " + c.point() + ")");
    }

    static Map<String, Object> fileKeys(Path dir) throws IOException {
        Map<String, Object> keys = new HashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                if (FileFormat.arenaIdOf(name) >= 0 || FileFormat.poolIdOf(name) >= 0) {
                    try {
                        keys.put(name, fileKey(p));
                    } catch (java.nio.file.NoSuchFileException racedWithGc) {
                        // renamed or deleted meanwhile
                    }
                }
            }
        }
        return keys;
    }

    static Object fileKey(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class).fileKey();
    }

    static int reusesInHeader(Path arena) throws IOException {
        return QueueFiles.readInt(arena, FileFormat.ARENA_REUSES_OFFSET);
    }

    static int countFiles(Path dir, String prefix) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return (int) s.filter(p -> p.getFileName().toString().startsWith(prefix)).count();
        }
    }

    private static Path onlyFile(Path dir, String prefix) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> l = s.filter(p -> p.getFileName().toString().startsWith(prefix)).toList();
            assertEquals(1, l.size(), l.toString());
            return l.get(0);
        }
    }

    /** Bytes of arena and pool files (.tmp ones included: they are arenas being made). */
    static long diskBytes(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            long total = 0;
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                if (name.startsWith("arena-") || name.startsWith("pool-")) {
                    try {
                        total += Files.size(p);
                    } catch (java.nio.file.NoSuchFileException gone) {
                        // deleted meanwhile
                    }
                }
            }
            return total;
        }
    }

    /** A thread that calls {@code step} until the queue is closed under it; any other error goes to {@code failure}. */
    private static Thread untilClosed(CountDownLatch going, AtomicReference<Throwable> failure, Runnable step) {
        return new Thread(() -> {
            going.countDown();
            try {
                for (;;) {
                    step.run();
                }
            } catch (IllegalStateException closed) {
                // the end
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
    }
}
