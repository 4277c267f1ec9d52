package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static dev.bigqueue.consumer.Fixtures.payload;
import static dev.bigqueue.consumer.Fixtures.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantee 7 for named consumers: threads sharing one {@link Consumer} act as a group of
 * competing consumers, each message going to exactly one of them; and the registry itself is
 * safe under concurrent open/copy/delete.
 */
class CompetingConsumersTest {
    private static final int THREADS = 8;
    private static final int MESSAGES = 20_000;
    private static final int COPY_MESSAGES = 5_000;

    @TempDir
    Path dir;

    @Test
    void eightThreadsOnOneConsumer_getEachMessageExactlyOnce_inOrderPerThread() throws Exception {
        // 64 KiB arenas: arena boundaries are covered elsewhere; 4 KiB ones would make this test
        // mostly about creating (and fsyncing) 800 arena files.
        dev.bigqueue.QueueConfig config = small().toBuilder().arenaSize(64 * 1024).build();
        try (BigQueue q = BigQueue.open(dir, config)) {
            Consumer shared = Consumers.of(q).open("workers");
            List<List<Long>> got = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CountDownLatch producerDone = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                List<Long> mine = new ArrayList<>();
                got.add(mine);
                int kind = t % 4;
                threads.add(new Thread(() -> {
                    try {
                        List<byte[]> batch = new ArrayList<>();
                        for (int call = 0;; call++) {
                            batch.clear();
                            if (kind == 0) {
                                batch.add(shared.dequeue(Duration.ofMillis(20)));
                            } else if (kind == 1) {
                                batch.add(shared.dequeue());
                                if (batch.get(0) == null) {
                                    Thread.sleep(1); // poll, but leave the two cores to the producer
                                }
                            } else if (kind == 2) {
                                // Opening the open name again hands out the same instance.
                                batch.add(Consumers.of(q).open("workers").dequeue(Duration.ofMillis(5)));
                            } else {
                                shared.drainTo(batch, 1 + call % 16, Duration.ofMillis(10));
                            }
                            batch.removeIf(m -> m == null);
                            for (byte[] m : batch) {
                                mine.add(offsetOf(m));
                            }
                            if (batch.isEmpty() && producerDone.getCount() == 0 && shared.isEmpty()) {
                                return;
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }, "worker-" + t));
            }
            threads.forEach(Thread::start);
            for (int i = 0; i < MESSAGES; i++) {
                q.enqueueString(payload(i));
            }
            producerDone.countDown();
            for (Thread t : threads) {
                t.join(60_000);
                assertTrue(!t.isAlive(), t.getName() + " did not finish");
            }
            if (failure.get() != null) {
                throw new AssertionError("a worker failed", failure.get());
            }
            BitSet seen = new BitSet(MESSAGES);
            int total = 0;
            for (List<Long> mine : got) {
                for (int i = 0; i < mine.size(); i++) {
                    int o = Math.toIntExact(mine.get(i));
                    assertTrue(!seen.get(o), "offset " + o + " was delivered twice");
                    seen.set(o);
                    if (i > 0) {
                        assertTrue(mine.get(i) > mine.get(i - 1), "one thread saw offsets out of order");
                    }
                }
                total += mine.size();
            }
            assertEquals(MESSAGES, total);
            assertEquals(MESSAGES, seen.cardinality());
            assertNull(shared.dequeue());
            assertEquals(MESSAGES, shared.position());
        }
    }

    /**
     * Copying a consumer that another thread is reading, while the background GC deletes the
     * arenas it leaves behind: every copy starts at a position the source held during the copy,
     * and reads from there.
     */
    @Test
    void copyWhileTheSourceReadsAndGcRuns_startsWhereTheSourceWasDuringTheCopy() throws Exception {
        dev.bigqueue.QueueConfig config = dev.bigqueue.QueueConfig.builder().arenaSize(Fixtures.ARENA_SIZE)
                .gcInterval(Duration.ofMillis(1)).flushInterval(Duration.ZERO).build();
        try (BigQueue q = BigQueue.open(dir, config)) {
            Consumers consumers = Consumers.of(q);
            Consumer source = consumers.open("source");
            for (int i = 0; i < COPY_MESSAGES; i++) {
                q.enqueueString(payload(i));
            }
            while (q.dequeue() != null) {
                // the own consumer must not hold arenas
            }
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                try {
                    for (int i = 0; i < COPY_MESSAGES; i++) {
                        assertEquals(i, offsetOf(source.dequeue()));
                        if (i % 16 == 0) {
                            Thread.sleep(1);
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            reader.start();
            int copies = 0;
            while (reader.isAlive()) {
                long before = source.position();
                Consumer copy = consumers.copy("copy", source);
                long after = source.position();
                long start = copy.position();
                assertTrue(before <= start && start <= after, "copy started at " + start + ", the source moved from "
                        + before + " to " + after);
                if (start < COPY_MESSAGES) {
                    assertEquals(start, offsetOf(copy.dequeue()));
                }
                assertTrue(consumers.delete("copy"));
                copies++;
            }
            reader.join();
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertTrue(copies >= 3, "only " + copies + " copies were made");
            assertTrue(q.earliestOffset() > 0, "the GC never ran");
        }
    }

    /**
     * Seeking back into what the background GC is deleting at that moment: the seek lands on the
     * offset, or throws IllegalArgumentException if its arena is gone, or (if the arena goes while
     * the seek runs) continues at the earliest message; never a corruption error.
     */
    @Test
    void seekRacingTheBackgroundGc_landsOrIsRejected_neverReportsDamage() throws Exception {
        dev.bigqueue.QueueConfig config = dev.bigqueue.QueueConfig.builder().arenaSize(Fixtures.ARENA_SIZE)
                .gcInterval(Duration.ofMillis(1)).flushInterval(Duration.ZERO).build();
        try (BigQueue q = BigQueue.open(dir, config)) {
            Consumers consumers = Consumers.of(q);
            Consumer source = consumers.open("source");
            Consumer seeker = consumers.open("seeker");
            for (int i = 0; i < COPY_MESSAGES; i++) {
                q.enqueueString(payload(i));
            }
            while (q.dequeue() != null) {
                // the own consumer must not hold arenas
            }
            seeker.seekToEnd();
            java.util.Random random = new java.util.Random(11);
            int landed = 0;
            for (int i = 0; i < COPY_MESSAGES && source.dequeue() != null; i++) {
                long earliest = q.earliestOffset();
                long target = Math.max(earliest, source.position() - 1 - random.nextInt(40));
                if (target >= q.tailOffset()) {
                    continue;
                }
                try {
                    seeker.seek(target);
                } catch (IllegalArgumentException goneMeanwhile) {
                    continue;
                }
                byte[] m = seeker.dequeue();
                assertTrue(m != null, "seek to " + target + " then nothing to read; tail " + q.tailOffset());
                long got = offsetOf(m);
                assertTrue(got == target || got <= q.earliestOffset(), "seek to " + target + " then read " + got);
                landed += got == target ? 1 : 0;
                seeker.seekToEnd();
            }
            assertTrue(landed > 100, "only " + landed + " seeks landed");
        }
    }

    @Test
    void concurrentOpenOfOneName_yieldsOneInstance() throws Exception {
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers consumers = Consumers.of(q);
            Consumer[] opened = new Consumer[THREADS];
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int i = t;
                threads.add(new Thread(() -> {
                    try {
                        go.await();
                        opened[i] = consumers.open("racy");
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }));
            }
            threads.forEach(Thread::start);
            go.countDown();
            for (Thread t : threads) {
                t.join(10_000);
            }
            for (Consumer c : opened) {
                assertSame(opened[0], c);
            }
        }
    }

    @Test
    void deleteWhileOtherThreadsRead_stopsThemCleanly_andLeavesNoFile() throws Exception {
        try (BigQueue q = BigQueue.open(dir, small())) {
            for (int i = 0; i < 5000; i++) {
                q.enqueueString(payload(i));
            }
            Consumers consumers = Consumers.of(q);
            Consumer doomed = consumers.open("doomed", CommitMode.MANUAL);
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                threads.add(new Thread(() -> {
                    try {
                        for (;;) {
                            doomed.take();
                            doomed.commit();
                        }
                    } catch (IllegalStateException expected) {
                        if (!expected.getMessage().contains("deleted")) {
                            unexpected.compareAndSet(null, expected);
                        }
                    } catch (Throwable e) {
                        unexpected.compareAndSet(null, e);
                    }
                }));
            }
            threads.forEach(Thread::start);
            Thread.sleep(30);
            assertTrue(consumers.delete("doomed"));
            for (Thread t : threads) {
                t.join(10_000);
                assertTrue(!t.isAlive(), "a reader of the deleted consumer is still running");
            }
            if (unexpected.get() != null) {
                throw new AssertionError(unexpected.get());
            }
            assertTrue(consumers.names().isEmpty());
            q.flush(); // must not touch the deleted consumer's unmapped file
        }
    }
}
