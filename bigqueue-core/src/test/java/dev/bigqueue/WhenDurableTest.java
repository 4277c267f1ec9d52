package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.bigqueue.internal.Engines;
import dev.bigqueue.internal.Flusher;
import dev.bigqueue.internal.QueueEngine;
import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.Payloads;
import dev.bigqueue.testing.QueueFiles;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code durableOffset()} and {@code whenDurable(offset)}: a future completes only once its
 * message is on disk, in offset order, and every future handed out completes, close racing or
 * not. Timeouts here only detect a hang.
 */
class WhenDurableTest {
    private static final long HANG_S = 60;
    private static final int MAX = 4096;

    @TempDir
    Path tmp;

    private static QueueConfig.Builder noFlush() {
        return QueueConfig.builder().arenaSize(1 << 20).flushInterval(Duration.ZERO).gcInterval(Duration.ZERO)
                .maxInMemoryArenas(0).pretouch(false);
    }

    /** One completion seen from its dependent stage, as it ran. */
    private record Seen(long offset, long value, long durablePosition, long durableOffset, String thread) {
    }

    /**
     * 4 producers each enqueue and ask for every message. Each future's stage records what the
     * flusher had made durable when it ran: its message's bytes always (the end of its record is at
     * or before the durable position), and the stages on the sync thread ran in offset order. When
     * all are done, no arena page is dirty. Complete the futures before syncing (swap the two
     * lines of the sync thread) and the durable positions fall short; skip the sync and pages stay dirty.
     */
    @Test
    void futuresComplete_onlyOnceTheirBytesAreOnDisk_inOffsetOrder() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/smaps")), "needs Linux /proc/self/smaps");
        Path dir = tmp.resolve("order");
        try (BigQueue q = BigQueue.open(dir, noFlush().build())) {
            QueueEngine engine = Engines.of(q);
            Flusher flusher = engine.flusher();
            long syncsBefore = flusher.syncCount();
            List<Seen> seen = Collections.synchronizedList(new ArrayList<>());
            List<CompletableFuture<?>> all = Collections.synchronizedList(new ArrayList<>());
            List<Thread> producers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int seed = t;
                Thread p = new Thread(() -> {
                    for (int i = 0; i < 500; i++) {
                        long offset = q.enqueue(Payloads.payload(seed, i, MAX));
                        all.add(q.whenDurable(offset).thenAccept(v -> seen.add(new Seen(offset, v,
                                flusher.durablePosition(), flusher.durableOffset(),
                                Thread.currentThread().getName()))));
                    }
                });
                producers.add(p);
                p.start();
            }
            for (Thread p : producers) {
                p.join();
            }
            for (CompletableFuture<?> f : all) {
                f.get(HANG_S, TimeUnit.SECONDS);
            }
            long tail = q.tailOffset();
            assertEquals(2000, tail);
            assertEquals(0, QueueFiles.dirtyKb(dir, "arena-"), "every page of a durable message is clean");
            long lastOnSyncThread = -1;
            int onSyncThread = 0;
            for (Seen s : seen) {
                long end = s.offset + 1 < tail ? engine.reader().positionOf(s.offset + 1) : engine.log().tailPosition();
                assertTrue(s.durablePosition >= end, "offset " + s.offset + " completed with its bytes (to " + end
                        + ") not yet on disk (durable to " + s.durablePosition + ")");
                assertTrue(s.value > s.offset && s.durableOffset > s.offset, s.toString());
                if (s.thread.startsWith("bigqueue-sync-")) {
                    assertTrue(s.offset > lastOnSyncThread, "completed out of order: " + s.offset + " after "
                            + lastOnSyncThread);
                    lastOnSyncThread = s.offset;
                    onSyncThread++;
                }
            }
            assertTrue(onSyncThread > 0, "some futures waited for a sync");
            System.out.printf("whenDurable: 2000 futures, %d completed by the sync thread, %d syncs%n",
                    onSyncThread, flusher.syncCount() - syncsBefore);
        }
    }

    @Test
    void durableOffset_followsFlushes_syncOnWrite_andReopen() throws Exception {
        Path dir = tmp.resolve("offset");
        try (BigQueue q = BigQueue.open(dir, noFlush().build())) {
            assertEquals(0, q.durableOffset());
            for (int i = 0; i < 10; i++) {
                q.enqueue(new byte[100]);
            }
            assertTrue(q.durableOffset() <= 10);
            q.flush();
            assertEquals(10, q.durableOffset());
            CompletableFuture<Long> f = q.whenDurable(9);
            assertTrue(f.isDone(), "already durable: at once");
            assertEquals(10L, f.get());
            q.enqueue(new byte[100]);
            assertEquals(11L, q.whenDurable(10).get(HANG_S, TimeUnit.SECONDS));
            assertEquals(11, q.durableOffset());
        }
        try (BigQueue q = BigQueue.open(dir, noFlush().syncOnWrite(true).build())) {
            assertEquals(11, q.durableOffset(), "a clean close left everything durable");
            for (int i = 0; i < 5; i++) {
                long offset = q.enqueue(new byte[100]);
                assertTrue(q.durableOffset() > offset, "syncOnWrite: durable when enqueue returns");
                assertTrue(q.whenDurable(offset).isDone());
            }
        }
    }

    /**
     * The periodic flush syncs up to the tail; the durable offset it reports must reach the tail
     * too, also when the records since its last checkpoint (every 64 KiB) are few and the producer
     * has stopped: before, they were never reported durable, and a caller acking upstream by
     * durableOffset() waited for the next 64 KiB forever.
     */
    @Test
    void periodicFlush_reportsEveryRecordItSynced_andAfterArenasWereCollected() throws Exception {
        try (BigQueue q = BigQueue.open(tmp.resolve("periodic"), noFlush().build())) {
            Flusher flusher = Engines.of(q).flusher();
            for (int i = 0; i < 10; i++) {
                q.enqueue(new byte[100]);
            }
            flusher.flushInBackground();
            assertEquals(10, q.durableOffset(), "10 small records, less than one checkpoint's worth");
            for (int i = 0; i < 1_000; i++) {
                q.enqueue(new byte[100 + i % 50]);
            }
            flusher.flushInBackground();
            assertEquals(1_010, q.durableOffset(), "past a checkpoint, and some records after it");
            flusher.flushInBackground();
            assertEquals(1_010, q.durableOffset(), "nothing new: unchanged");
        }
        // Everything consumed: the collector deletes all arenas but the tail's, the checkpoint's included.
        try (BigQueue q = BigQueue.open(tmp.resolve("collected"), noFlush().build())) {
            Flusher flusher = Engines.of(q).flusher();
            // One record ending 1,000 bytes before the first arena's end (1 MiB less its 576-byte
            // header): the checkpoint after it lies in arena 0; then 20 small ones into arena 1.
            q.enqueue(new byte[(1 << 20) - 576 - 1_000 - 16]);
            for (int i = 0; i < 20; i++) {
                q.enqueue(new byte[100]);
            }
            while (q.dequeue() != null) {
                // consume all: the queue's own consumer then holds no arena
            }
            q.gc();
            assertTrue(q.earliestOffset() > 1, "arena 0, holding the checkpoint, was collected: earliest "
                    + q.earliestOffset());
            flusher.flushInBackground();
            assertEquals(21, q.durableOffset());
        }
    }

    @Test
    void badArguments_andClosedQueue() throws Exception {
        BigQueue q = BigQueue.open(tmp.resolve("args"), noFlush().build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> q.whenDurable(0));
        assertTrue(e.getMessage().contains("[0, 0)"), e.getMessage());
        q.enqueue(new byte[1]);
        q.enqueue(new byte[1]);
        for (long bad : new long[] {-1, 2, 3, Long.MAX_VALUE, Long.MIN_VALUE}) {
            e = assertThrows(IllegalArgumentException.class, () -> q.whenDurable(bad));
            assertTrue(e.getMessage().contains("offset " + bad) && e.getMessage().contains("[0, 2)"), e.getMessage());
        }
        q.close();
        assertThrows(QueueClosedException.class, () -> q.whenDurable(0));
        assertThrows(QueueClosedException.class, q::durableOffset);
    }

    /**
     * whenDurable racing close(), many rounds: every call either throws QueueClosedException or
     * returns a future, every future completes, and normally (close's final flush made it durable),
     * with a durable offset above its own; the sync thread ends.
     */
    @Test
    void whenDurable_racingClose_everyFutureCompletes() throws Exception {
        for (int round = 0; round < 40; round++) {
            Path dir = tmp.resolve("race-" + round);
            BigQueue q = BigQueue.open(dir, noFlush().build());
            AtomicLong asked = new AtomicLong();
            List<List<long[]>> results = new ArrayList<>();
            List<List<CompletableFuture<Long>>> futures = new ArrayList<>();
            List<Thread> producers = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                List<CompletableFuture<Long>> mine = new ArrayList<>();
                List<long[]> offsets = new ArrayList<>();
                futures.add(mine);
                results.add(offsets);
                Thread p = new Thread(() -> {
                    try {
                        for (;;) {
                            long offset = q.enqueue(new byte[64]);
                            mine.add(q.whenDurable(offset));
                            offsets.add(new long[] {offset});
                            asked.incrementAndGet();
                        }
                    } catch (QueueClosedException expected) {
                        // the race was lost: close came first
                    }
                });
                producers.add(p);
                p.start();
            }
            long waitUntil = 20 + round * 5L;
            while (asked.get() < waitUntil && producers.stream().allMatch(Thread::isAlive)) {
                Thread.onSpinWait();
            }
            q.close();
            for (Thread p : producers) {
                p.join(TimeUnit.SECONDS.toMillis(HANG_S));
                assertFalse(p.isAlive(), "a producer hangs after close");
            }
            for (int t = 0; t < 3; t++) {
                for (int i = 0; i < futures.get(t).size(); i++) {
                    long offset = results.get(t).get(i)[0];
                    long value = futures.get(t).get(i).get(HANG_S, TimeUnit.SECONDS);
                    assertTrue(value > offset, "round " + round + ": offset " + offset + " completed with " + value);
                }
            }
            awaitNoSyncThread(dir);
        }
    }

    private static void awaitNoSyncThread(Path dir) throws InterruptedException {
        String name = "bigqueue-sync-" + dir.getFileName();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals(name)) {
                t.join(TimeUnit.SECONDS.toMillis(HANG_S));
                assertFalse(t.isAlive(), name + " still alive after close");
            }
        }
    }

    /**
     * A child enqueues and, every 10th message, waits for whenDurable and then acknowledges it;
     * killed with kill -9, the reopened queue holds every acknowledged message, with its content.
     * A process kill keeps the page cache, so this cannot tell a sync from none (the test above
     * does); it checks that a queue driven through whenDurable recovers what it acknowledged.
     */
    @Test
    void acknowledgedByWhenDurable_thereAfterKill9() throws Exception {
        Path dir = tmp.resolve("kill");
        long acked;
        try (ChildJvm child = ChildJvm.start(Child.class, dir.toString())) {
            child.awaitLine("ACK 300", Duration.ofSeconds(HANG_S));
            child.kill();
            List<String> lines = child.lines();
            acked = lines.stream().filter(l -> l.startsWith("ACK ")).mapToLong(l -> Long.parseLong(l.substring(4)))
                    .max().orElseThrow();
            assertTrue(lines.stream().noneMatch(l -> l.startsWith("ERR")), lines + child.stderr());
        }
        try (BigQueue q = BigQueue.open(dir, noFlush().build())) {
            assertTrue(q.tailOffset() > acked, "acknowledged " + acked + ", recovered tail " + q.tailOffset());
            for (long i = 0; i <= acked; i++) {
                assertEquals(Payloads.crc(Payloads.payload(7, i, MAX)), Payloads.crc(q.dequeue()), "offset " + i);
            }
        }
    }

    /** The child of {@link #acknowledgedByWhenDurable_thereAfterKill9()}. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false,
                    "US-ASCII");
            BigQueue q = BigQueue.open(Path.of(args[0]), noFlush().build());
            for (long i = 0; ; i++) {
                long offset = q.enqueue(Payloads.payload(7, i, MAX));
                if (offset != i) {
                    out.println("ERR offset " + offset + ", expected " + i);
                    out.flush();
                    System.exit(2);
                }
                if (i % 10 == 0) {
                    try {
                        long durable = q.whenDurable(offset).get();
                        if (durable <= offset) {
                            out.println("ERR durable " + durable + " for " + offset);
                        }
                    } catch (ExecutionException e) {
                        out.println("ERR " + e.getCause());
                    }
                    out.println("ACK " + offset);
                    out.flush();
                }
            }
        }
    }
}
