package dev.bigqueue.internal;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Makes written records durable: {@link #flush()} msyncs the arena bytes written since the last
 * flush, then the queue's positions (index, consumer files), and records the new durable point.
 * Callers are the periodic flush ({@code flushInterval}), {@code flushEveryOps}, an explicit
 * {@code flush()}, and {@code syncOnWrite} producers through {@link #awaitDurable(long)}, which
 * shares one sync among every producer waiting at the time (group commit).
 */
public final class Flusher {
    private final RecordLog log;
    private final Index index;
    private final long everyOps;
    private final AtomicLong opsSinceFlush = new AtomicLong();
    private final List<Runnable> positionSyncs = new CopyOnWriteArrayList<>();
    private final Object flushLock = new Object();
    private volatile long durablePosition;

    private final ReentrantLock groupLock = new ReentrantLock();
    private final Condition groupDone = groupLock.newCondition();
    private boolean groupSyncRunning;

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
            for (Runnable sync : positionSyncs) {
                sync.run();
            }
            index.durable().write(tail[0], tail[1]);
            index.force();
        }
    }

    /**
     * Returns once the record stream is durable up to {@code position}. Of the producers waiting
     * at once, one runs the sync for all of them.
     */
    public void awaitDurable(long position) throws IOException {
        if (durablePosition >= position) {
            return;
        }
        groupLock.lock();
        try {
            while (durablePosition < position) {
                if (groupSyncRunning) {
                    groupDone.awaitUninterruptibly();
                    continue;
                }
                groupSyncRunning = true;
                groupLock.unlock();
                try {
                    synchronized (flushLock) {
                        syncRecords(log.tailPosition());
                    }
                } finally {
                    groupLock.lock();
                    groupSyncRunning = false;
                    groupDone.signalAll();
                }
            }
        } finally {
            groupLock.unlock();
        }
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
