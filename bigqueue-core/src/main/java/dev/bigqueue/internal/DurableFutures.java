package dev.bigqueue.internal;

import dev.bigqueue.QueueClosedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The futures of {@code BigQueue.whenDurable}, and the one thread that syncs for them
 * ({@code bigqueue-sync-DIR}): group commit for callers that do not wait.
 *
 * <p><b>Why a thread.</b> A {@code syncOnWrite} producer waits, so one of the waiting producers can
 * run the sync for all ({@link Flusher#awaitDurable}). A future has nobody waiting on it: a caller
 * that returned cannot be asked to sync later, and one that synced for the others until nobody
 * waited would, under steady load, never return. So one thread runs the syncs. It is started by
 * the first future that has to wait (under {@link #lock}, never once close has begun: a queue that
 * never waits has no such thread) and ended by close. It never syncs on a timer: it sleeps until a
 * future waits, then runs syncs back to back while futures wait, each covering every record
 * appended before it read the tail (the exact pair, under the writer lock), so every caller that
 * came during one sync shares the next. It runs in the batch scheduling class, like
 * {@link Maintenance} (it holds written-back pages while it syncs: it must never be starved).
 *
 * <p><b>Completion.</b> Futures complete in offset order, with the durable offset, only once the
 * sync that covers them is on disk, and never under a lock: dependent stages added without
 * {@code Async} run user code on the completing thread, which may call the queue. Pending futures
 * are completed by one party at a time: this thread, or close. The thread is in one of three
 * phases: waiting, {@code SYNCING} (holds pins, the writer lock for a moment; close waits for the
 * end of this phase: it is bounded) and {@code COMPLETING} (runs user code; close never waits for
 * it, and leaves the futures still pending to the thread, which completes them after its batch, so
 * the order holds even when a dependent stage closes the queue).
 *
 * <p><b>Close.</b> {@link #stopSyncing()} (no sync runs after it), then the final flush, then
 * {@link #finish(Throwable)}: every pending future is made durable by that flush and completes
 * normally with the durable offset; if the flush failed, those it did not cover complete
 * exceptionally with a {@link QueueClosedException} caused by the error. A sync that fails
 * completes the futures it was to cover exceptionally with its error; later ones get another sync.
 *
 * <p><b>Shared state:</b> everything mutable is under {@link #lock}, but {@link #batch}, confined
 * to the thread. The durable offset is the {@link Flusher}'s (an atomic).
 */
final class DurableFutures {
    private static final int WAITING = 0;
    private static final int SYNCING = 1;
    private static final int COMPLETING = 2;

    private final String queueName;
    private final Flusher flusher;
    private final Appender appender;
    private final String closedMessage;

    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a future starts waiting, and when close stops the thread. */
    private final Condition work = lock.newCondition();
    /** Signalled when a sync phase ends (close waits for it). */
    private final Condition phaseEnded = lock.newCondition();
    private final PriorityQueue<Pending> pending = new PriorityQueue<>();
    private Thread thread;
    private int phase = WAITING;
    private boolean threadWaiting;
    /** No sync starts once set (close's first step here). */
    private boolean stopped;
    /** Set by close after its final flush: pending futures complete with its outcome. */
    private boolean closed;
    private Throwable closeError;

    /** The futures the thread completes after a sync, in order; confined to the thread. */
    private final ArrayList<Pending> batch = new ArrayList<>();

    DurableFutures(String queueName, Flusher flusher, Appender appender, String closedMessage) {
        this.queueName = queueName;
        this.flusher = flusher;
        this.appender = appender;
        this.closedMessage = closedMessage;
    }

    /** A future of one offset: compared by offset, so the pending ones complete in order. */
    private static final class Pending extends CompletableFuture<Long> implements Comparable<Pending> {
        final long offset;

        Pending(long offset) {
            this.offset = offset;
        }

        @Override
        public int compareTo(Pending o) {
            return Long.compare(offset, o.offset);
        }
    }

    /**
     * A future completing once {@code offset} (below the tail: the caller checked) is on disk.
     *
     * @throws QueueClosedException if close has finished with the futures.
     */
    CompletableFuture<Long> whenDurable(long offset) {
        long durable = flusher.durableOffset();
        if (offset < durable) {
            return CompletableFuture.completedFuture(durable);
        }
        Pending p = new Pending(offset);
        lock.lock();
        try {
            if (closed) {
                throw new QueueClosedException(closedMessage);
            }
            // Again under the lock: a sync that drew its batch since the first look must not leave
            // this one to the next batch, after later offsets (completion would leave offset order).
            durable = flusher.durableOffset();
            if (offset < durable) {
                return CompletableFuture.completedFuture(durable);
            }
            pending.add(p);
            if (thread == null && !stopped) {
                // Started under the lock so that close, which stops it under the lock, never misses
                // it; Thread.start waits for the JVM only, never for a thread of the queue.
                thread = new Thread(this::run, "bigqueue-sync-" + queueName);
                thread.setDaemon(true);
                thread.start();
            } else if (threadWaiting) {
                work.signal();
            }
        } finally {
            lock.unlock();
        }
        return p;
    }

    private void run() {
        NativeIO.makeCurrentThreadBackground();
        for (;;) {
            lock.lock();
            try {
                while (!stopped && pending.isEmpty()) {
                    threadWaiting = true;
                    work.awaitUninterruptibly();
                    threadWaiting = false;
                }
                if (stopped) {
                    return;
                }
                phase = SYNCING;
            } finally {
                lock.unlock();
            }
            StreamPoint target = null;
            Throwable error = null;
            try {
                target = appender.tail();
                flusher.syncTo(target);
            } catch (IOException e) {
                error = new UncheckedIOException("sync of queue " + queueName + " failed: " + e.getMessage(), e);
            } catch (RuntimeException | Error e) {
                error = e;
            }
            long durable = flusher.durableOffset();
            lock.lock();
            try {
                // A failed sync fails the futures it was to cover; without a target (the tail was
                // not even read), those waiting now.
                long covered = error == null ? durable : target != null ? target.offset() : Long.MAX_VALUE;
                while (!pending.isEmpty() && pending.peek().offset < covered) {
                    batch.add(pending.poll());
                }
                phase = COMPLETING;
                phaseEnded.signalAll();
            } finally {
                lock.unlock();
            }
            completeBatch(durable, error);
            ArrayList<Pending> left = null;
            Throwable outcome;
            lock.lock();
            try {
                phase = WAITING;
                outcome = closeError;
                if (closed) {
                    left = drain();
                }
            } finally {
                lock.unlock();
            }
            if (left != null) {
                completeClosed(left, outcome);
                return;
            }
        }
    }

    /**
     * Completes {@link #batch} in order, on the thread, holding no lock. After a failed sync, those
     * another flush made durable meanwhile still complete normally.
     */
    private void completeBatch(long durable, Throwable error) {
        for (Pending p : batch) {
            if (p.offset < durable) {
                p.complete(durable);
            } else {
                p.completeExceptionally(error);
            }
        }
        batch.clear();
    }

    /** Close's first step here: no sync starts after this returns, and none is running. */
    void stopSyncing() {
        lock.lock();
        try {
            stopped = true;
            work.signal();
            while (phase == SYNCING) {
                phaseEnded.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Close's last step here, after its final flush ({@code flushError} if that failed): completes
     * every pending future, or leaves them to the thread if it is running user code, and waits for
     * the thread to end unless it is.
     */
    void finish(Throwable flushError) {
        ArrayList<Pending> left = null;
        Thread t;
        lock.lock();
        try {
            closed = true;
            closeError = flushError;
            work.signal();
            t = thread;
            if (phase != COMPLETING) {
                left = drain();
            } else {
                // It finishes its batch, then completes these (it reads closed under this lock).
                t = null;
            }
        } finally {
            lock.unlock();
        }
        if (left != null) {
            completeClosed(left, flushError);
        }
        if (t != null && t != Thread.currentThread()) {
            ThreadEnd.await(t, false);
        }
    }

    private ArrayList<Pending> drain() {
        ArrayList<Pending> all = new ArrayList<>(pending.size());
        while (!pending.isEmpty()) {
            all.add(pending.poll());
        }
        return all;
    }

    private void completeClosed(ArrayList<Pending> left, Throwable flushError) {
        long durable = flusher.durableOffset();
        for (Pending p : left) {
            if (p.offset < durable) {
                p.complete(durable);
            } else {
                QueueClosedException e = new QueueClosedException(closedMessage + " (offset " + p.offset
                        + " was not made durable" + (flushError == null ? ")" : ": the final flush failed)"));
                if (flushError != null) {
                    e.initCause(flushError);
                }
                p.completeExceptionally(e);
            }
        }
    }
}
