package dev.bigqueue.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueClosedException;
import dev.bigqueue.QueueConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link DurableFutures} where the order of events must be forced: the test holds the writer lock,
 * which the sync thread takes to read the tail, so that no sync can start while it sets a scene.
 * Every wait here is on a condition; the timeouts only detect a hang.
 */
class DurableFuturesTest {
    private static final long HANG_S = 60;

    @TempDir
    Path tmp;

    private BigQueue open(String name) {
        return BigQueue.open(tmp.resolve(name), QueueConfig.builder().arenaSize(1 << 20)
                .flushInterval(Duration.ZERO).gcInterval(Duration.ZERO).pretouch(false).build());
    }

    /**
     * 1000 waiters from 16 threads, each enqueueing and then asking, all while the sync thread is
     * held in a dependent stage, share one sync: it covers every record appended before it read
     * the tail. A design that syncs per call (run flush() in whenDurable) counts about 1000 here,
     * since every call has new bytes to sync.
     */
    @Test
    void thousandWaiters_enqueueingWhileASyncIsDue_shareOneSync() throws Exception {
        try (BigQueue q = open("share")) {
            QueueEngine engine = Engines.of(q);
            q.enqueue(new byte[100]);
            CountDownLatch inStage = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Void> first = engine.appender().underWriteLock(() -> q.whenDurable(0).thenRun(() -> {
                inStage.countDown();
                awaitUninterruptibly(release);
            }));
            assertTrue(inStage.await(HANG_S, TimeUnit.SECONDS));
            long syncsBefore = engine.flusher().syncCount();
            List<CompletableFuture<Long>> futures = Collections.synchronizedList(new ArrayList<>());
            ExecutorService pool = Executors.newFixedThreadPool(16);
            for (int t = 0; t < 16; t++) {
                int mine = t < 8 ? 63 : 62; // 8 * 63 + 8 * 62 = 1000
                pool.execute(() -> {
                    for (int i = 0; i < mine; i++) {
                        futures.add(q.whenDurable(q.enqueue(new byte[100])));
                    }
                });
            }
            pool.shutdown();
            awaitTermination(pool);
            assertEquals(1000, futures.size());
            assertTrue(futures.stream().noneMatch(CompletableFuture::isDone), "nothing synced yet");
            release.countDown();
            first.get(HANG_S, TimeUnit.SECONDS);
            for (CompletableFuture<Long> f : futures) {
                assertEquals(1001L, f.get(HANG_S, TimeUnit.SECONDS));
            }
            assertEquals(1, engine.flusher().syncCount() - syncsBefore, "one sync for 1000 waiters");
        }
    }

    /**
     * close() runs while the sync thread is inside a dependent stage (application code) that
     * blocks: close returns without waiting for it, its final flush made the pending futures
     * durable, and the thread completes them normally, in offset order, once the stage returns.
     */
    @Test
    void close_duringABlockedDependentStage_returns_andPendingFuturesCompleteNormallyInOrder() throws Exception {
        BigQueue q = open("close-blocked");
        QueueEngine engine = Engines.of(q);
        q.enqueue(new byte[10]);
        CountDownLatch inStage = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<String> stageThread = new ArrayList<>();
        CompletableFuture<Void> first = engine.appender().underWriteLock(() -> q.whenDurable(0).thenRun(() -> {
            stageThread.add(Thread.currentThread().getName());
            inStage.countDown();
            awaitUninterruptibly(release);
        }));
        assertTrue(inStage.await(HANG_S, TimeUnit.SECONDS));
        assertTrue(stageThread.get(0).startsWith("bigqueue-sync-"), stageThread.toString());
        List<Long> order = Collections.synchronizedList(new ArrayList<>());
        List<CompletableFuture<Long>> pending = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            q.enqueue(new byte[10]);
        }
        for (long offset = 20; offset >= 1; offset--) {
            long o = offset;
            CompletableFuture<Long> f = q.whenDurable(offset);
            f.thenRun(() -> order.add(o));
            pending.add(f);
        }
        Thread closer = new Thread(q::close, "closer");
        closer.start();
        closer.join(TimeUnit.SECONDS.toMillis(HANG_S));
        assertFalse(closer.isAlive(), "close waited for application code on the sync thread");
        assertTrue(pending.stream().noneMatch(CompletableFuture::isDone), "left to the sync thread");
        release.countDown();
        first.get(HANG_S, TimeUnit.SECONDS);
        for (CompletableFuture<Long> f : pending) {
            assertEquals(21L, f.get(HANG_S, TimeUnit.SECONDS), "made durable by close's flush");
        }
        List<Long> expected = new ArrayList<>();
        for (long i = 1; i <= 20; i++) {
            expected.add(i);
        }
        assertEquals(expected, order, "completed in offset order");
    }

    /** A dependent stage on the sync thread closes the queue: no deadlock, the rest complete in order. */
    @Test
    void close_fromADependentStage_onTheSyncThread() throws Exception {
        BigQueue q = open("close-in-stage");
        QueueEngine engine = Engines.of(q);
        q.enqueue(new byte[10]);
        CountDownLatch go = new CountDownLatch(1);
        CompletableFuture<Void> closedInStage = engine.appender().underWriteLock(() -> q.whenDurable(0).thenRun(() -> {
            awaitUninterruptibly(go);
            q.close();
        }));
        List<CompletableFuture<Long>> pending = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            pending.add(q.whenDurable(q.enqueue(new byte[10])));
        }
        go.countDown();
        closedInStage.get(HANG_S, TimeUnit.SECONDS);
        for (int i = 0; i < pending.size(); i++) {
            // Made durable by the sync that covered offset 0 (if the enqueue came before it read the
            // tail: the value is the durable offset then) or by close's final flush (6).
            long offset = i + 1;
            long value = pending.get(i).get(HANG_S, TimeUnit.SECONDS);
            assertTrue(value > offset && value <= 6, "offset " + offset + " completed with " + value);
        }
        assertTrue(engine.isClosed());
    }

    /**
     * When close's final flush fails, the futures it did not make durable complete exceptionally
     * with a QueueClosedException caused by the error. The error is handed in (an msync that fails
     * cannot be provoked on a healthy disk); the futures and the flusher are the queue's own.
     */
    @Test
    void finish_afterAFailedFinalFlush_failsTheFuturesNotDurable_withQueueClosed() throws Exception {
        try (BigQueue q = open("failed-flush")) {
            QueueEngine engine = Engines.of(q);
            q.enqueue(new byte[10]);
            q.flush();
            q.enqueue(new byte[10]);
            DurableFutures futures = new DurableFutures("failed-flush", engine.flusher(), engine.appender(),
                    "queue failed-flush is closed");
            futures.stopSyncing(); // as close does first: no thread, no sync from here on
            CompletableFuture<Long> durable = futures.whenDurable(0);
            CompletableFuture<Long> notDurable = futures.whenDurable(1);
            assertTrue(durable.isDone(), "offset 0 was flushed: at once");
            assertFalse(notDurable.isDone());
            UncheckedIOException error = new UncheckedIOException(new IOException("msync: Input/output error"));
            futures.finish(error);
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    notDurable::get);
            assertInstanceOf(QueueClosedException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("is closed"), e.getCause().getMessage());
            assertSame(error, e.getCause().getCause());
            org.junit.jupiter.api.Assertions.assertThrows(QueueClosedException.class, () -> futures.whenDurable(1));
        }
    }

    private static void awaitTermination(ExecutorService pool) {
        try {
            assertTrue(pool.awaitTermination(HANG_S, TimeUnit.SECONDS), "hang");
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
