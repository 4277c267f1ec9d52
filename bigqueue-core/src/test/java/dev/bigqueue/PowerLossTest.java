package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.bigqueue.internal.ConsumerFile;
import dev.bigqueue.internal.Cursor;
import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.internal.InternalAccess;
import dev.bigqueue.internal.QueueEngine;
import dev.bigqueue.internal.RecordLog;
import dev.bigqueue.testing.Payloads;
import dev.bigqueue.testing.QueueFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantee 3 (power loss): with {@code syncOnWrite} every acknowledged message survives an OS
 * crash; otherwise everything up to the last completed {@code flush()} does.
 *
 * <p><b>What this can prove without cutting the power.</b>
 * <ul>
 *   <li>That the queue asks the kernel for durability at the right moments, observed from the
 *       outside: after {@code flush()}, and after each {@code syncOnWrite} enqueue returns, the
 *       queue's mappings hold no dirty page ({@code Shared_Dirty}/{@code Private_Dirty} in
 *       {@code /proc/self/smaps}), i.e. the kernel has written those pages back; the durable slot
 *       in {@code queue.meta} equals the tail; and {@code Flusher.durablePosition()} covers every
 *       acknowledged record, also with several producers sharing syncs.
 *   <li>That recovery copes with what a power cut can leave: a simulated disk image where every
 *       512-byte sector written since the last flush independently did or did not reach the disk
 *       (the snapshot taken right after {@code flush()} is the disk as of then, since no page was
 *       dirty), with a different kernel boot id (so recovery takes its OS-crash path). Every
 *       image must open, hold every message of the last flush with exact content, and no torn
 *       message.
 * </ul>
 * <b>What it cannot prove:</b> that the disk honours the cache flush the kernel sends on
 * {@code fsync} ({@code O_DIRECT} reads would not tell either), that the filesystem's own journal
 * recovers the directory entries of created and deleted arenas (the queue fsyncs the directory,
 * which is all it can do), or tearing below a 512-byte sector. Those need a real power cut or
 * a block-level fault injector (dm-log-writes, dm-flakey), which a unit test does not have.
 */
class PowerLossTest {
    private static final int MAX = 8 * 1024;

    @TempDir
    Path tmp;

    private static QueueConfig.Builder base(int arenaSize) {
        return QueueConfig.builder().arenaSize(arenaSize).flushInterval(Duration.ZERO).gcInterval(Duration.ZERO)
                .maxInMemoryArenas(0).pretouch(false);
    }

    /**
     * The periodic flush syncs a large backlog in pieces ({@code Flusher.flushInBackground}); when it
     * is done the result must be the same as one {@code flush()}: nothing dirty, durable slot = tail.
     */
    @Test
    void periodicFlush_inPieces_leavesNoDirtyPage_andTheDurableSlotEqualsTheTail() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/smaps")), "needs Linux /proc/self/smaps");
        Path dir = tmp.resolve("q");
        try (BigQueue q = BigQueue.open(dir, base(1 << 20).build())) {
            for (int i = 0; i < 1000; i++) {
                q.enqueue(Payloads.payload(11, i, MAX)); // about 4 MB: 16 pieces over 5 arenas
            }
            assertTrue(QueueFiles.dirtyKb(dir, "arena-") > 0, "arena pages written and not flushed are dirty");
            InternalAccess.engine(q).flusher().flushInBackground();
            assertEquals(0, QueueFiles.dirtyKb(dir, "arena-"), "after the periodic flush every arena page is clean");
            RecordLog log = InternalAccess.engine(q).log();
            assertEquals(log.tailPosition(), InternalAccess.engine(q).flusher().durablePosition());
            assertArrayEquals(new long[] {q.tailOffset(), log.tailPosition()},
                    newestSlot(dir, FileFormat.META_DURABLE_SLOTS), "durable slot in queue.meta = tail");
        }
        // And on its timer.
        try (BigQueue q = BigQueue.open(dir, base(1 << 20).flushInterval(Duration.ofMillis(50)).build())) {
            for (int i = 0; i < 1000; i++) {
                q.enqueue(Payloads.payload(12, i, MAX));
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (QueueFiles.dirtyKb(dir, "arena-") > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(0, QueueFiles.dirtyKb(dir, "arena-"), "the flushInterval timer left dirty arena pages");
        }
    }

    /**
     * The periodic flush runs on an idle-class thread; with every core kept busy by the
     * application, it must still happen (an overdue flush runs in the normal class).
     */
    @Test
    void periodicFlush_stillHappens_whenEveryCoreIsBusy() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/smaps")), "needs Linux /proc/self/smaps");
        Path dir = tmp.resolve("q");
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        List<Thread> spinners = new ArrayList<>();
        try (BigQueue q = BigQueue.open(dir, base(1 << 20).flushInterval(Duration.ofMillis(100)).build())) {
            for (int i = 0; i < 2 * Runtime.getRuntime().availableProcessors(); i++) {
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        Thread.onSpinWait();
                    }
                });
                t.start();
                spinners.add(t);
            }
            for (int i = 0; i < 300; i++) {
                q.enqueue(Payloads.payload(13, i, MAX));
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (QueueFiles.dirtyKb(dir, "arena-") > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(0, QueueFiles.dirtyKb(dir, "arena-"), "no periodic flush within 5 s with every core busy");
        } finally {
            stop.set(true);
            for (Thread t : spinners) {
                t.join();
            }
        }
    }

    @Test
    void flush_leavesNoDirtyPage_andTheDurableSlotEqualsTheTail() throws IOException {
        assumeTrue(Files.isReadable(Path.of("/proc/self/smaps")), "needs Linux /proc/self/smaps");
        Path dir = tmp.resolve("q");
        long seed = 7;
        try (BigQueue q = BigQueue.open(dir, base(64 * 1024).build())) {
            for (int i = 0; i < 300; i++) {
                q.enqueue(Payloads.payload(seed, i, MAX));
            }
            // Without a flush the written pages are dirty: the measure can see the difference.
            assertTrue(QueueFiles.dirtyKb(dir, "arena-") > 0, "arena pages written and not flushed are dirty");
            q.flush();
            assertEquals(0, QueueFiles.dirtyKb(dir, "arena-"), "after flush() every arena page is written back");
            assertEquals(0, QueueFiles.dirtyKb(dir, FileFormat.META_FILE), "after flush() queue.meta is written back");
            RecordLog log = InternalAccess.engine(q).log();
            assertArrayEquals(new long[] {q.tailOffset(), log.tailPosition()},
                    newestSlot(dir, FileFormat.META_DURABLE_SLOTS), "durable slot in queue.meta = tail");

            for (int i = 0; i < 10; i++) {
                assertArrayEquals(Payloads.payload(seed, i, MAX), q.dequeue());
            }
            assertTrue(QueueFiles.dirtyKb(dir, FileFormat.META_FILE) > 0, "a dequeue commits the head in queue.meta");
            q.flush();
            assertEquals(0, QueueFiles.dirtyKb(dir, FileFormat.META_FILE), "flush() writes the head back");
            long durableHead = newestSlot(dir, FileFormat.META_HEAD_SLOTS)[0];
            assertTrue(durableHead == 9 || durableHead == 10, "head on disk is the last dequeued message or the"
                    + " next one, got " + durableHead);
        }
    }

    @Test
    void syncOnWrite_enqueueReturnsOnlyOnceItsRecordIsWrittenBack() throws IOException {
        assumeTrue(Files.isReadable(Path.of("/proc/self/smaps")), "needs Linux /proc/self/smaps");
        Path dir = tmp.resolve("q");
        try (BigQueue q = BigQueue.open(dir, base(16 * 1024).syncOnWrite(true).build())) {
            QueueEngine engine = InternalAccess.engine(q);
            for (int i = 0; i < 200; i++) {
                q.enqueue(Payloads.payload(3, i, MAX));
                assertTrue(engine.flusher().durablePosition() >= engine.log().tailPosition(),
                        "enqueue " + i + " returned before its record was synced");
                assertEquals(0, QueueFiles.dirtyKb(dir, "arena-"), "enqueue " + i + " returned with dirty arena pages");
            }
        }
    }

    @Test
    void syncOnWrite_withConcurrentProducers_everyAcknowledgedRecordIsCoveredByASync() throws Exception {
        Path dir = tmp.resolve("q");
        try (BigQueue q = BigQueue.open(dir, base(16 * 1024).syncOnWrite(true).build())) {
            QueueEngine engine = InternalAccess.engine(q);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    int thread = t;
                    done.add(pool.submit(() -> {
                        for (int i = 0; i < 100; i++) {
                            long o = q.enqueue(Payloads.payload(thread, i, 2000));
                            long end = engine.reader().positionOf(o + 1);
                            long durable = engine.flusher().durablePosition();
                            assertTrue(durable >= end, "offset " + o + " acknowledged at durable position " + durable
                                    + " before its end " + end);
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(400, q.tailOffset());
        }
    }

    @Test
    void simulatedPowerLoss_everyFlushedMessageSurvives_noTornMessage() throws Exception {
        Random seeds = new Random(Long.getLong("bigqueue.test.seed", System.nanoTime()));
        for (int image = 0; image < 3; image++) {
            long seed = seeds.nextLong();
            simulate(seed, 20);
        }
    }

    /**
     * Writes, dequeues and flushes, takes the files as the disk holds them (snapshot S), writes and
     * dequeues more without a flush (state P, the page cache at the moment of the crash), and then
     * opens {@code trials} disk images mixing S and P sector by sector.
     */
    private void simulate(long seed, int trials) throws Exception {
        Random r = new Random(seed);
        int arenaSize = 16 * 1024;
        Path dir = tmp.resolve("live-" + seed);
        int flushed = 100 + r.nextInt(100);
        // The head gets close to the flushed tail, then goes past it: a head newer than the data.
        int handedBeforeFlush = flushed - 1 - r.nextInt(10);
        int more = 20 + r.nextInt(60);
        TreeMap<String, byte[]> s;
        TreeMap<String, byte[]> p;
        try (BigQueue q = BigQueue.open(dir, base(arenaSize).build())) {
            for (int i = 0; i < flushed; i++) {
                q.enqueue(Payloads.payload(seed, i, MAX));
            }
            for (int i = 0; i < handedBeforeFlush; i++) {
                q.dequeue();
            }
            q.flush();
            s = QueueFiles.snapshot(dir);
            for (int i = flushed; i < flushed + more; i++) {
                q.enqueue(Payloads.payload(seed, i, MAX));
                if (r.nextBoolean()) {
                    q.dequeue();
                }
            }
            p = QueueFiles.snapshot(dir);
        }
        for (int trial = 0; trial < trials; trial++) {
            String where = "seed " + seed + ", trial " + trial + " (flushed " + flushed + ", then " + more + " more)";
            Path image = tmp.resolve("image-" + seed + "-" + trial);
            double reached = new double[] {0.1, 0.5, 0.9}[trial % 3];
            writeImage(image, s, p, reached, r);
            try (BigQueue q = BigQueue.open(image, base(arenaSize).build())) {
                long tail = q.tailOffset();
                assertTrue(tail >= flushed, where + ": every flushed message survives; tail " + tail);
                long head = q.headOffset();
                assertTrue(head <= tail, where + ": head " + head + " is past the tail " + tail);
                assertTrue(head >= Math.max(0, handedBeforeFlush - 1), where + ": head " + head
                        + " went back before the flushed head " + handedBeforeFlush);
                verifyRecords(q, seed, where);
                // The queue goes on working where the disk left it.
                long next = q.enqueue(Payloads.payload(seed, tail, MAX));
                assertEquals(tail, next);
                byte[] m;
                long expected = head;
                while ((m = q.dequeue()) != null) {
                    assertArrayEquals(Payloads.payload(seed, expected, MAX), m, where + ": message " + expected);
                    expected++;
                }
                assertEquals(tail + 1, expected, where + ": dequeued up to the tail");
            }
            CrashRecoveryTest.deleteTree(image);
        }
        CrashRecoveryTest.deleteTree(dir);
    }

    /**
     * After an OS crash, queue.meta and a consumer file may reach the disk with positions newer
     * than the records that did: the queue's own consumer and a named one then resume at the
     * recovered tail (where the next message will be), neither past it.
     */
    @Test
    void consumersCommittedPastTheRecoveredTail_resumeAtTheTail() throws IOException {
        Path dir = tmp.resolve("q");
        int arenaSize = 4096;
        int[] sizes = new int[50];
        Arrays.fill(sizes, 300);
        long[] pos = QueueFiles.positions(sizes);
        try (BigQueue q = BigQueue.open(dir, base(arenaSize).build())) {
            for (int i = 0; i < sizes.length; i++) {
                byte[] m = new byte[300];
                Arrays.fill(m, (byte) i);
                q.enqueue(m);
            }
        }
        // The disk after the crash: records 40.. never written back, positions past them were.
        int lost = 40;
        for (int i = lost; i < sizes.length; i++) {
            QueueFiles.zero(QueueFiles.arenaFileAt(dir, arenaSize, pos[i]),
                    QueueFiles.indexInArena(arenaSize, pos[i]), FileFormat.RECORD_HEADER_SIZE);
        }
        QueueFiles.markUnclean(dir);
        QueueFiles.zero(QueueFiles.meta(dir), FileFormat.META_HEAD_SLOTS, 2 * FileFormat.SLOT_SIZE);
        QueueFiles.writeSlot(dir, FileFormat.META_HEAD_SLOTS, 45, pos[45], 1);
        QueueFiles.zero(QueueFiles.meta(dir), FileFormat.META_DURABLE_SLOTS, 2 * FileFormat.SLOT_SIZE);
        QueueFiles.writeSlot(dir, FileFormat.META_DURABLE_SLOTS, 30, pos[30], 1);
        QueueFiles.zero(QueueFiles.meta(dir), FileFormat.META_BOOT_ID_OFFSET, 16); // another boot
        Path billing = FileFormat.consumerFile(dir, "billing");
        ConsumerFile.create(billing, 48, pos[48], 0).close();

        try (BigQueue q = BigQueue.open(dir, base(arenaSize).build())) {
            assertEquals(lost, q.tailOffset());
            assertEquals(lost, q.headOffset(), "the queue's own consumer resumes at the tail");
            assertArrayEquals(new long[] {lost, pos[lost]},
                    ConsumerFile.readAll(dir.resolve(FileFormat.CONSUMERS_DIR)).get("billing"),
                    "the named consumer resumes at the tail");
            byte[] next = "after the power cut".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            assertEquals(lost, q.enqueue(next));
            assertArrayEquals(next, q.dequeue(), "the next message written is delivered, not skipped");
        }
    }

    /** Every record from the earliest to the tail is whole and is the message enqueued at its offset. */
    private static void verifyRecords(BigQueue q, long seed, String where) {
        RecordLog log = InternalAccess.engine(q).log();
        Cursor c = new Cursor();
        c.moveTo(log.earliestOffset(), log.earliestPosition());
        long expected = log.earliestOffset();
        byte[] m;
        while ((m = InternalAccess.engine(q).reader().read(c, true)) != null) {
            assertArrayEquals(Payloads.payload(seed, expected, MAX), m, where + ": record " + expected);
            expected++;
        }
        assertEquals(q.tailOffset(), expected, where);
    }

    /**
     * A disk image after a power cut: for each 512-byte sector, the version of the last flush (S)
     * or the newer one (P), chosen at random with probability {@code reached} for P. Arenas created
     * after the flush exist (their creation was synced), holding their synced header and, in each
     * sector, zeros or the newer bytes. The kernel boot id in queue.meta is replaced: the machine
     * rebooted.
     */
    private static void writeImage(Path image, Map<String, byte[]> s, Map<String, byte[]> p, double reached,
            Random r) throws IOException {
        Files.createDirectories(image);
        for (Map.Entry<String, byte[]> e : p.entrySet()) {
            byte[] newer = e.getValue();
            byte[] older = s.get(e.getKey());
            if (older == null) {
                // Made after the flush: header synced at creation, the rest zeros until written back.
                older = new byte[newer.length];
                System.arraycopy(newer, 0, older, 0, FileFormat.ARENA_FIRST_RECORD_SLOT);
            }
            byte[] out = older.clone();
            for (int at = 0; at < out.length; at += 512) {
                if (r.nextDouble() < reached) {
                    int n = Math.min(512, out.length - at);
                    System.arraycopy(newer, at, out, at, n);
                }
            }
            if (e.getKey().equals(FileFormat.META_FILE)) {
                byte[] boot = new byte[16];
                r.nextBytes(boot);
                System.arraycopy(boot, 0, out, FileFormat.META_BOOT_ID_OFFSET, 16);
            }
            Path f = image.resolve(e.getKey());
            Files.createDirectories(f.getParent());
            Files.write(f, out);
        }
    }

    /** The newest valid slot of the pair at {@code at} in queue.meta, as {offset, position}. */
    private static long[] newestSlot(Path dir, int at) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(QueueFiles.meta(dir))).order(ByteOrder.LITTLE_ENDIAN);
        long[] best = null;
        long bestSeq = 0;
        for (int slot = at; slot < at + 2 * FileFormat.SLOT_SIZE; slot += FileFormat.SLOT_SIZE) {
            long offset = b.getLong(slot + FileFormat.SLOT_OFFSET);
            long position = b.getLong(slot + FileFormat.SLOT_POSITION);
            long seq = b.getLong(slot + FileFormat.SLOT_SEQUENCE);
            long check = b.getLong(slot + FileFormat.SLOT_CHECK);
            if (seq > bestSeq && check == FileFormat.slotCheck(offset, position, seq)) {
                best = new long[] {offset, position};
                bestSeq = seq;
            }
        }
        assertTrue(best != null, "no valid slot at " + at);
        return best;
    }
}
