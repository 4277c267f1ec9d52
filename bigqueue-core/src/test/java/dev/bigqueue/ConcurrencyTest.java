package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantees 1 and 7 (order, threads): many producers and consumers on one queue with random
 * pauses and message sizes; every message delivered exactly once, each producer's messages in
 * its own order; blocking readers wake on enqueue and on close.
 */
class ConcurrencyTest {
    @TempDir
    Path dir;

    static byte[] message(int producer, int seq, int padding) {
        return ByteBuffer.allocate(8 + padding).putInt(producer).putInt(seq).array();
    }

    @RepeatedTest(3)
    void eightProducersEightConsumers_everyMessageExactlyOnce_inPerProducerOrder() throws Exception {
        int producers = 8;
        int consumers = 8;
        int perProducer = 5_000;
        QueueConfig config = QueueConfig.builder().arenaSize(64 * 1024).maxInMemoryArenas(2)
                .gcInterval(Duration.ofMillis(20)).flushInterval(Duration.ofMillis(30)).build();
        ExecutorService pool = Executors.newFixedThreadPool(producers + consumers);
        try (BigQueue q = BigQueue.open(dir, config)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            for (int p = 0; p < producers; p++) {
                int producer = p;
                futures.add(pool.submit(() -> {
                    Random r = new Random(producer);
                    start.await();
                    for (int s = 0; s < perProducer; s++) {
                        q.enqueue(message(producer, s, r.nextInt(64) == 0 ? r.nextInt(100_000) : r.nextInt(200)));
                        if (r.nextInt(500) == 0) {
                            Thread.sleep(1);
                        }
                    }
                    return null;
                }));
            }
            AtomicInteger received = new AtomicInteger();
            int total = producers * perProducer;
            ConcurrentLinkedQueue<long[]> seen = new ConcurrentLinkedQueue<>();
            for (int c = 0; c < consumers; c++) {
                int consumer = c;
                futures.add(pool.submit(() -> {
                    Random r = new Random(100 + consumer);
                    start.await();
                    int[] lastSeq = new int[producers];
                    java.util.Arrays.fill(lastSeq, -1);
                    List<byte[]> batch = new ArrayList<>();
                    while (received.get() < total) {
                        batch.clear();
                        switch (r.nextInt(5)) {
                            case 0 -> batch.add(q.dequeue());
                            case 1 -> batch.add(q.dequeue(Duration.ofMillis(5)));
                            case 2 -> q.drainTo(batch, 1 + r.nextInt(16));
                            case 3 -> q.drainTo(batch, 1 + r.nextInt(16), Duration.ofMillis(5));
                            default -> batch.add(q.peek() != null ? q.dequeue() : null);
                        }
                        for (byte[] m : batch) {
                            if (m == null) {
                                continue;
                            }
                            ByteBuffer b = ByteBuffer.wrap(m);
                            int producer = b.getInt();
                            int seq = b.getInt();
                            // One consumer sees each producer's messages in increasing order.
                            assertTrue(seq > lastSeq[producer], "order broken for producer " + producer);
                            lastSeq[producer] = seq;
                            seen.add(new long[] {producer, seq});
                            received.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
            BitSet[] got = new BitSet[producers];
            for (int p = 0; p < producers; p++) {
                got[p] = new BitSet();
            }
            for (long[] m : seen) {
                assertTrue(!got[(int) m[0]].get((int) m[1]), "duplicate " + m[0] + "/" + m[1]);
                got[(int) m[0]].set((int) m[1]);
            }
            for (int p = 0; p < producers; p++) {
                assertEquals(perProducer, got[p].cardinality(), "producer " + p);
            }
            assertEquals(total, q.tailOffset());
            assertNull(q.dequeue());
            assertTrue(q.isEmpty());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void take_wakesOnEnqueue() throws Exception {
        try (BigQueue q = BigQueue.open(dir)) {
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<byte[]> taken = pool.submit(q::take);
                Thread.sleep(100);
                assertTrue(!taken.isDone(), "take() waits while the queue is empty");
                q.enqueueString("wake");
                assertEquals("wake", new String(taken.get(5, TimeUnit.SECONDS)));
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void dequeueWithTimeout_returnsNullInTime() throws Exception {
        try (BigQueue q = BigQueue.open(dir)) {
            long t0 = System.nanoTime();
            assertNull(q.dequeue(Duration.ofMillis(100)));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms >= 90 && ms < 2000, "waited " + ms + " ms");
            assertNull(q.dequeue(Duration.ZERO));
        }
    }

    @Test
    void drainToWithTimeout_waitsForTheFirstMessage_returnsZeroInTime_andIsInterruptible() throws Exception {
        try (BigQueue q = BigQueue.open(dir)) {
            List<byte[]> sink = new ArrayList<>();
            long t0 = System.nanoTime();
            assertEquals(0, q.drainTo(sink, 10, Duration.ofMillis(100)));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms >= 90 && ms < 2000, "waited " + ms + " ms");
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<Integer> drained = pool.submit(() -> q.drainTo(sink, 10, Duration.ofSeconds(30)));
                Thread.sleep(100);
                assertTrue(!drained.isDone(), "drainTo waits while the queue is empty");
                for (int i = 0; i < 3; i++) {
                    q.enqueueString("m" + i);
                }
                int n = drained.get(5, TimeUnit.SECONDS);
                assertTrue(n >= 1 && n <= 3, "took " + n);
                List<byte[]> rest = new ArrayList<>();
                assertEquals(3 - n, q.drainTo(rest, 10));
                sink.addAll(rest);
                for (int i = 0; i < 3; i++) {
                    assertEquals("m" + i, new String(sink.get(i)));
                }
                Future<Integer> interrupted = pool.submit(() -> q.drainTo(sink, 10, Duration.ofSeconds(30)));
                Thread.sleep(50);
                pool.shutdownNow();
                java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                        () -> interrupted.get(5, TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof InterruptedException, String.valueOf(e.getCause()));
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void close_wakesBlockedReadersWithClosedException() throws Exception {
        BigQueue q = BigQueue.open(dir);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> waiting = new ArrayList<>();
            waiting.add(pool.submit(q::take));
            waiting.add(pool.submit(q::take));
            waiting.add(pool.submit(() -> q.dequeue(Duration.ofMinutes(5))));
            waiting.add(pool.submit(() -> q.drainTo(new ArrayList<>(), 10, Duration.ofMinutes(5))));
            Thread.sleep(100);
            q.close();
            for (Future<?> f : waiting) {
                java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                        () -> f.get(5, TimeUnit.SECONDS));
                assertTrue(e.getCause() instanceof QueueClosedException, String.valueOf(e.getCause()));
                assertTrue(e.getCause().getMessage().contains("closed"), e.getCause().getMessage());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void take_isInterruptible() throws Exception {
        try (BigQueue q = BigQueue.open(dir)) {
            AtomicInteger interrupted = new AtomicInteger();
            Thread t = new Thread(() -> {
                try {
                    q.take();
                } catch (InterruptedException e) {
                    interrupted.incrementAndGet();
                }
            });
            t.start();
            Thread.sleep(50);
            t.interrupt();
            t.join(5000);
            assertEquals(1, interrupted.get());
        }
    }

    @Test
    void syncOnWrite_groupCommit_manyProducersAllDurable() throws Exception {
        QueueConfig config = QueueConfig.builder().arenaSize(1 << 20).syncOnWrite(true).build();
        try (BigQueue q = BigQueue.open(dir, config)) {
            ExecutorService pool = Executors.newFixedThreadPool(16);
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < 16; t++) {
                    int producer = t;
                    fs.add(pool.submit(() -> {
                        for (int i = 0; i < 50; i++) {
                            q.enqueue(message(producer, i, 100));
                        }
                        return null;
                    }));
                }
                for (Future<?> f : fs) {
                    f.get(60, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(800, q.tailOffset());
        }
    }

    /**
     * Group commit under random interleavings: producers come and go in random numbers, pause at
     * random, and some are interrupted while they wait for their sync. No producer may be left
     * parked (a lost wake-up hangs here), every acknowledged record must be covered by a sync, and
     * an interrupt must survive the wait.
     */
    @RepeatedTest(3)
    void syncOnWrite_groupCommit_randomInterleavings_nobodyStuckEveryAckDurable() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        QueueConfig config = QueueConfig.builder().arenaSize(64 * 1024).syncOnWrite(true).build();
        try (BigQueue q = BigQueue.open(dir, config)) {
            dev.bigqueue.internal.QueueEngine engine = dev.bigqueue.internal.Engines.of(q);
            int producers = 2 + random.nextInt(31);
            ExecutorService pool = Executors.newFixedThreadPool(producers);
            AtomicInteger written = new AtomicInteger();
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < producers; t++) {
                    int producer = t;
                    long producerSeed = random.nextLong();
                    fs.add(pool.submit(() -> {
                        Random r = new Random(producerSeed);
                        for (int i = 0; i < 40; i++) {
                            boolean interrupt = r.nextInt(10) == 0;
                            if (interrupt) {
                                Thread.currentThread().interrupt();
                            }
                            long offset = q.enqueue(message(producer, i, 1 + r.nextInt(3000)));
                            if (interrupt && !Thread.interrupted()) {
                                throw new AssertionError("seed " + seed + ": the interrupt was lost in the sync wait");
                            }
                            long end = engine.reader().positionOf(offset + 1);
                            if (engine.flusher().durablePosition() < end) {
                                throw new AssertionError("seed " + seed + ": offset " + offset
                                        + " acknowledged before it was synced");
                            }
                            written.incrementAndGet();
                            if (r.nextBoolean()) {
                                Thread.yield();
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : fs) {
                    f.get(60, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(written.get(), q.tailOffset(), "seed " + seed);
        }
    }

    /**
     * A thread whose interrupt flag is set (a pool shutting down, say) can still enqueue and
     * dequeue across arena boundaries: file channels close on interrupt, so the queue must not
     * start channel I/O with the flag set, and the caller must find the flag still set.
     */
    @Test
    void anInterruptedThread_stillEnqueuesAndDequeuesAcrossArenas_andKeepsItsFlag() throws Exception {
        QueueConfig config = QueueConfig.builder().arenaSize(8192).maxInMemoryArenas(2).pretouch(false).build();
        try (BigQueue q = BigQueue.open(dir, config)) {
            Thread.currentThread().interrupt();
            try {
                for (int i = 0; i < 100; i++) {
                    q.enqueue(message(0, i, 1000)); // about 13 arenas
                }
                q.flush();
                for (int i = 0; i < 100; i++) {
                    assertTrue(Thread.currentThread().isInterrupted(), "the interrupt flag was cleared");
                    assertEquals(ByteBuffer.wrap(message(0, i, 1000)), ByteBuffer.wrap(q.dequeue()));
                }
                assertTrue(Thread.currentThread().isInterrupted(), "the interrupt flag was cleared");
            } finally {
                Thread.interrupted();
            }
        }
        // Opening (lock file, index, consumer files, arena registration) works for it too.
        reopenWhileInterrupted(config);
    }

    private void reopenWhileInterrupted(QueueConfig config) {
        Thread.currentThread().interrupt();
        try (BigQueue q = BigQueue.open(dir, config)) {
            q.enqueue(message(1, 0, 10));
            q.flush();
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt flag was cleared by open");
        } finally {
            Thread.interrupted();
        }
    }
}
