package dev.bigqueue.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Makes written records durable: {@link #flush()} msyncs the arena bytes written since the last
 * flush, then the queue's positions (index, consumer files), and records the new durable point.
 * Callers are the periodic flush ({@code flushInterval}), {@code flushEveryOps}, an explicit
 * {@code flush()}, and {@code syncOnWrite} producers through {@link #awaitDurable(long)}, which
 * shares one sync among every producer waiting at the time (group commit).
 */
public final class Flusher {
    static final int BACKGROUND_PIECES = 16;
    /** Syncs one leader runs back to back before the role passes on, so that its own producer moves too. */
    static final int MAX_LEADER_ROUNDS = 8;
    static final long MIN_BACKGROUND_PIECE_BYTES = 256 * 1024;

    private final RecordLog log;
    private final Index index;
    private final long everyOps;
    private final AtomicLong opsSinceFlush = new AtomicLong();
    private final List<Runnable> positionSyncs = new CopyOnWriteArrayList<>();
    private final Object flushLock = new Object();
    private volatile long durablePosition;

    /** Whether a syncOnWrite producer is running a group sync now. */
    private final AtomicBoolean groupSyncRunning = new AtomicBoolean();
    /** Producers parked until a group sync covers them; a stale entry costs one spurious unpark. */
    private final Queue<GroupWaiter> groupWaiters = new ConcurrentLinkedQueue<>();

    Flusher(RecordLog log, Index index, long flushEveryOps, long durablePosition) {
        this.log = log;
        this.index = index;
        this.everyOps = flushEveryOps;
        this.durablePosition = durablePosition;
    }

    /** Adds an action run by every {@link #flush()} to make a consumer's position durable. */
    public void addPositionSync(Runnable sync) {
        positionSyncs.add(sync);
    }

    public void removePositionSync(Runnable sync) {
        positionSyncs.remove(sync);
    }

    /** Counts one enqueue or dequeue for {@code flushEveryOps}, flushing when the count is reached. */
    public void countOp() throws IOException {
        if (everyOps > 0 && opsSinceFlush.incrementAndGet() >= everyOps) {
            opsSinceFlush.set(0);
            flush();
        }
    }

    /** Everything written and committed so far is on disk when this returns. */
    public void flush() throws IOException {
        synchronized (flushLock) {
            long[] tail = log.underWriteLock(() -> new long[] {log.tailOffset(), log.tailPosition()});
            syncRecords(tail[1]);
            syncPositions(tail);
        }
    }

    /**
     * The periodic flush ({@code flushInterval}): the same result as {@link #flush()}, but the
     * record bytes are synced in pieces of about 1/{@value #BACKGROUND_PIECES} of the backlog
     * (at least {@value #MIN_BACKGROUND_PIECE_BYTES} bytes), with the flush lock let go in between.
     *
     * <p>Why: writing back dirty pages costs the calling thread CPU (a few milliseconds for 10 MB)
     * before it sleeps on the disk. In one piece that is a burst long enough to push an
     * application thread off a core of a small machine for milliseconds, once per interval. In
     * pieces, each burst is short and the thread sleeps on the disk between them; a
     * {@code syncOnWrite} producer waits for one piece, not for the whole backlog.
     */
    public void flushInBackground() throws IOException {
        long[] tail = log.underWriteLock(() -> new long[] {log.tailOffset(), log.tailPosition()});
        long piece = Math.max(MIN_BACKGROUND_PIECE_BYTES, (tail[1] - durablePosition) / BACKGROUND_PIECES);
        while (durablePosition < tail[1]) {
            synchronized (flushLock) {
                long from = Math.max(durablePosition, log.earliestPosition());
                syncRecords(Math.min(tail[1], from + piece));
            }
        }
        synchronized (flushLock) {
            syncRecords(tail[1]);
            syncPositions(tail);
        }
    }

    /** Consumer positions, then the durable point of the stream; under {@link #flushLock}. */
    private void syncPositions(long[] tail) throws IOException {
        for (Runnable sync : positionSyncs) {
            sync.run();
        }
        index.durable().write(tail[0], tail[1]);
        index.force();
    }

    /**
     * Returns once the record stream is durable up to {@code position}. Of the producers waiting
     * at once, one (the leader) runs the syncs for all of them; the others park until one covers
     * their record.
     *
     * <p>The leader syncs up to the tail, wakes exactly the waiters that sync covered, and while
     * waiters remain whose records came in during the sync, syncs again at once (up to
     * {@value #MAX_LEADER_ROUNDS} rounds, then the role passes on). So syncs run back to back
     * while producers are waiting, and a producer wakes once per record, when it is durable.
     * The first version (a lock and {@code signalAll}) woke every waiter after every sync, one
     * after another through the lock, only for most of them to go back to sleep: on 2 cores those
     * context switches cost as much as the sync itself.
     */
    public void awaitDurable(long position) throws IOException {
        boolean interrupted = false;
        GroupWaiter me = null;
        try {
            while (durablePosition < position) {
                if (groupSyncRunning.compareAndSet(false, true)) {
                    try {
                        leadGroupSyncs();
                    } finally {
                        groupSyncRunning.set(false);
                        wakeAllWaiters();
                    }
                    continue;
                }
                // Join the waiters before looking at the flag: a leader clears it before it wakes
                // them all, so one of the two sees the other. Joined again after every wake-up, as
                // the leader's list is drained when it ends.
                if (me == null) {
                    me = new GroupWaiter(Thread.currentThread(), position);
                }
                groupWaiters.add(me);
                if (groupSyncRunning.get() && durablePosition < position) {
                    LockSupport.park(this);
                    if (Thread.interrupted()) {
                        interrupted = true; // syncOnWrite cannot give up half-way; restored below
                    }
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The leader's work: sync, wake whom it covered, again while records are waiting. */
    private void leadGroupSyncs() throws IOException {
        for (int round = 0; round < MAX_LEADER_ROUNDS; round++) {
            synchronized (flushLock) {
                syncRecords(log.tailPosition());
            }
            if (!wakeCoveredWaiters()) {
                return;
            }
        }
    }

    /**
     * Unparks the waiters whose records are now durable and keeps the others waiting.
     *
     * @return whether any waiter is still waiting for a sync.
     */
    private boolean wakeCoveredWaiters() {
        long durable = durablePosition;
        List<GroupWaiter> uncovered = null;
        GroupWaiter w;
        while ((w = groupWaiters.poll()) != null) {
            if (w.position <= durable) {
                LockSupport.unpark(w.thread);
            } else {
                if (uncovered == null) {
                    uncovered = new ArrayList<>();
                }
                uncovered.add(w);
            }
        }
        if (uncovered == null) {
            return false;
        }
        groupWaiters.addAll(uncovered);
        return true;
    }

    /** Unparks every waiter; each looks at the result itself (and one may lead next). */
    private void wakeAllWaiters() {
        GroupWaiter w;
        while ((w = groupWaiters.poll()) != null) {
            LockSupport.unpark(w.thread);
        }
    }

    /** A syncOnWrite producer parked until the stream is durable up to {@code position}. */
    private record GroupWaiter(Thread thread, long position) {
    }

    public long durablePosition() {
        return durablePosition;
    }

    /** msync of the arena bytes in [durablePosition, target); under {@link #flushLock}. */
    private void syncRecords(long target) throws IOException {
        long from = Math.max(durablePosition, log.earliestPosition());
        if (target <= from) {
            durablePosition = Math.max(durablePosition, target);
            return;
        }
        ArenaManager arenas = log.arenas();
        long firstArena = log.arenaOf(from);
        long lastArena = log.arenaOf(target - 1);
        for (long id = firstArena; id <= lastArena; id++) {
            // From the header when the arena was started since the last sync: its first-record slot is new.
            int start = id == firstArena && arenas.firstRecordPosition(id) < from ? log.indexInArena(from) : 0;
            int end = id == lastArena ? log.indexInArena(target - 1) + 1
                    : (int) (FileFormat.ARENA_HEADER_SIZE + log.dataBytesPerArena());
            arenas.force(id, start, end - start);
        }
        durablePosition = target;
    }
}
