package dev.bigqueue.internal;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.TreeSet;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongConsumer;

/**
 * Decides when a sync of record bytes may count as durable, and remembers a failed one for good.
 *
 * <p>Why it is needed: when the disk fails to take a file's dirty pages, Linux reports the error
 * once per open file, to whichever sync asks first, and marks the pages clean. The next msync of
 * the same range then "succeeds" without writing anything (measured on ext4 over a loop device
 * whose backing store filled up: the retry returned, and after a remount the bytes read as zeros;
 * even writing the same bytes again and syncing left them unwritten, because ext4 had given up
 * converting the extent). So:
 * <ul>
 *   <li>After the first failure no sync counts again for the rest of this open: {@link #begin}
 *       throws the failure, which names the durable offset it left behind.</li>
 *   <li>A sync that succeeded while others ran may owe its success to one of them having been told
 *       of the error instead. Its target counts only once every sync begun before it ended has
 *       ended, and none failed. Syncs begun after it ended cannot have taken its error, so they
 *       do not hold it up: a steady stream of overlapping syncs still proves each one soon.</li>
 * </ul>
 * A failing sync records its failure before it counts as ended, so whoever would publish after it
 * sees the failure.
 *
 * <p><b>Shared state:</b> everything under {@link #lock}, held for bookkeeping only, never across
 * a sync or a callback other than the publication of a proven position (an atomic maximum).
 * Any thread that syncs record bytes may call it; {@link #awaitProven} waits on {@link #decided}.
 */
final class SyncVerdicts {
    /** The target of a sync that proved nothing. */
    private static final long NO_TARGET = -1;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a position is proven or a failure is recorded. */
    private final Condition decided = lock.newCondition();
    /** Receives each newly proven stream position (the flusher's durable point). */
    private final LongConsumer publish;
    private long nextTicket;
    /** Tickets of the syncs running now. */
    private final TreeSet<Long> running = new TreeSet<>();
    /** Successes waiting for the syncs that overlapped them: {tickets issued when it ended, target}. */
    private final ArrayDeque<long[]> pending = new ArrayDeque<>();
    private long proven;
    private IOException failure;

    SyncVerdicts(long proven, LongConsumer publish) {
        this.proven = proven;
        this.publish = publish;
    }

    /**
     * A sync starts.
     *
     * @return its ticket, for {@link #succeeded}, {@link #failed} or {@link #abandoned}.
     * @throws IOException the recorded failure (a new exception, for the caller's stack), if any.
     */
    long begin() throws IOException {
        lock.lock();
        try {
            throwIfFailed();
            long ticket = nextTicket++;
            running.add(ticket);
            return ticket;
        } finally {
            lock.unlock();
        }
    }

    /** The sync with {@code ticket} wrote everything before {@code target} without an error. */
    void succeeded(long ticket, long target) {
        end(ticket, target, null);
    }

    /** The sync with {@code ticket} ended without a verdict on the disk (the queue closed under it, say). */
    void abandoned(long ticket) {
        end(ticket, NO_TARGET, null);
    }

    /**
     * The sync with {@code ticket} failed with {@code error}, already worded for the user. The first
     * failure is kept for good; nothing pending is ever published.
     *
     * @return the failure kept (the first one).
     */
    IOException failed(long ticket, IOException error) {
        return end(ticket, NO_TARGET, error);
    }

    /**
     * Returns once every record before {@code target} is proven on disk; waits for the syncs that
     * overlapped the one that wrote them (none of them holds a lock the caller may hold).
     *
     * @throws IOException the recorded failure, if there is one before that.
     */
    void awaitProven(long target) throws IOException {
        lock.lock();
        try {
            while (proven < target) {
                throwIfFailed();
                decided.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The first failure, or null. */
    IOException failure() {
        lock.lock();
        try {
            return failure;
        } finally {
            lock.unlock();
        }
    }

    /** Ends sync {@code ticket}, with the target it proved or the error it met; returns the failure kept. */
    private IOException end(long ticket, long target, IOException error) {
        lock.lock();
        try {
            if (error != null && failure == null) {
                failure = error;
            }
            if (failure != null) {
                pending.clear();
            } else if (target != NO_TARGET) {
                pending.add(new long[] {nextTicket, target});
            }
            publishProven(ticket);
            return failure;
        } finally {
            lock.unlock();
        }
    }

    /** Under the lock: {@code ticket} has ended; publishes what no running sync can still taint. */
    private void publishProven(long ticket) {
        running.remove(ticket);
        long oldestRunning = running.isEmpty() ? nextTicket : running.first();
        long highest = proven;
        for (Iterator<long[]> it = pending.iterator(); it.hasNext(); ) {
            long[] p = it.next();
            // Every sync with a ticket below p[0] began before p's sync ended: all must have ended.
            if (p[0] <= oldestRunning) {
                highest = Math.max(highest, p[1]);
                it.remove();
            }
        }
        if (highest > proven) {
            proven = highest;
            publish.accept(highest);
        }
        decided.signalAll();
    }

    private void throwIfFailed() throws IOException {
        if (failure != null) {
            throw new IOException(failure.getMessage(), failure);
        }
    }
}
