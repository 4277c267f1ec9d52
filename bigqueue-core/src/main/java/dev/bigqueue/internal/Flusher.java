package dev.bigqueue.internal;

import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes written records durable: {@link #flush()} msyncs the arena bytes written since the last
 * flush, then the queue's positions (index, consumer files), and records the new durable point.
 * Callers are the periodic flush ({@code flushInterval}), {@code flushEveryOps}, an explicit
 * {@code flush()}, {@code syncOnWrite} producers through {@link #awaitDurable(long)}, which
 * shares one sync among every producer waiting at the time (group commit), and the sync thread of
 * {@code whenDurable} ({@link DurableFutures}) through {@link #syncTo}. Besides the durable
 * position it keeps the durable offset, moved only by syncs whose target is an exact pair of
 * offset and position (the tail read under the writer lock, or, for the periodic flush, the
 * published tail with its offset counted from a checkpoint).
 *
 * <p><b>No lock is held across a sync.</b> Flushes may run at the same time, each syncing from the
 * durable point it read to its own target and then moving the durable point up to that target if
 * it is higher ({@link #durable}, a compare-and-set maximum): a range another flush is still
 * syncing is synced again, never assumed. So a flush whose thread lost its core in the middle of a
 * sync (the background one shares a busy machine fairly, but may wait some slices) holds up no
 * producer waiting for a sync and no explicit {@code flush()}. Only the write of the durable slot is serialised
 * ({@link #slotLock}, a few stores), so that the slot never goes backwards.
 *
 * <p><b>A failed write-back is final.</b> The kernel reports it to one sync and then counts the
 * pages as written, so a retry would "succeed" and vouch for bytes that may not be on disk. After
 * the first failure nothing more becomes durable in this open: every later sync of records not
 * yet durable throws it, the periodic flush stops, close does not mark the queue clean, and a
 * marker makes the next open rewrite the refused records into new files ({@link RefusedWriteBack}).
 * A sync that ran beside others counts once every sync begun before it ended has ended well
 * ({@link SyncVerdicts}).
 */
public final class Flusher {
    private static final Logger LOG = LoggerFactory.getLogger(Flusher.class);
    static final int BACKGROUND_PIECES = 16;
    /** Yields a group-commit leader gives producers still appending before it syncs. */
    static final int MAX_SIBLING_YIELDS = 4;
    static final long MIN_BACKGROUND_PIECE_BYTES = 256 * 1024;

    private final RecordLog log;
    private final Appender appender;
    /** Counts the records from a checkpoint to a flush's target (see {@link #pointAt}). */
    private final RecordReader reader;
    /**
     * The last exact pair {@link #pointAt} counted to, where the next count starts when it is
     * past the checkpoint (so a flush reads only the headers appended since the last one).
     * Volatile: written by whichever thread ran the periodic flush.
     */
    private volatile StreamPoint lastCounted;
    private final Index index;
    private final long everyOps;
    private final AtomicLong opsSinceFlush = new AtomicLong();
    /** The open consumers, whose positions every flush syncs (the engine's list). */
    private final List<ConsumerState> consumers;
    /** Every record before this stream position is on disk; only grows. */
    private final AtomicLong durable = new AtomicLong();
    /**
     * Every record with an offset below this one is on disk; only grows, and only once the bytes
     * of a sync whose target was read as an exact pair (or a checkpoint) are on disk. May lag
     * {@link #durable}: a sync to the published tail position alone knows no offset.
     */
    private final AtomicLong durableOffset = new AtomicLong();
    /** Syncs of record bytes that reached the disk (tests count group commits with it). */
    private final AtomicLong syncs = new AtomicLong();
    /** When a sync of record bytes counts (it moves {@link #durable}); the first write-back failure, for good. */
    private final SyncVerdicts verdicts;
    /** Held by the one thread writing the durable slot (the slot has one writer at a time). */
    private final ReentrantLock slotLock = new ReentrantLock();
    /** The highest point waiting to be written to the durable slot. */
    private final AtomicReference<StreamPoint> slotPending = new AtomicReference<>();
    /** The position in the durable slot; under {@link #slotLock}. */
    private long slotPosition;

    private final ReentrantLock groupLock = new ReentrantLock();
    private final Condition groupDone = groupLock.newCondition();
    private boolean groupSyncRunning;
    /** Producers that waited during the running group sync, and during the one before; under groupLock. */
    private int waitersThisGroup;
    private int waitersLastGroup;

    Flusher(RecordLog log, Appender appender, RecordReader reader, Index index, long flushEveryOps,
            StreamPoint durablePoint, List<ConsumerState> consumers) {
        this.consumers = consumers;
        this.log = log;
        this.appender = appender;
        this.reader = reader;
        this.index = index;
        this.everyOps = flushEveryOps;
        this.durable.set(durablePoint.position());
        this.verdicts = new SyncVerdicts(durablePoint.position(), p -> durable.accumulateAndGet(p, Math::max));
        this.durableOffset.set(durablePoint.offset());
        this.slotPosition = durablePoint.position();
    }

    /** Counts {@code n} enqueues or dequeues for {@code flushEveryOps}, flushing when the count is reached. */
    public void countOps(int n) throws IOException {
        if (everyOps > 0 && opsSinceFlush.addAndGet(n) >= everyOps) {
            opsSinceFlush.set(0);
            flush();
        }
    }

    /** Everything written and committed so far is on disk when this returns. */
    public void flush() throws IOException {
        StreamPoint tail = syncTo(appender.tail());
        syncPositions(tail);
    }

    /**
     * Syncs the record bytes up to {@code point} (an exact pair of offset and position, read under
     * the writer lock or recorded at a record boundary), then moves the durable offset up to it.
     *
     * @return {@code point}.
     */
    StreamPoint syncTo(StreamPoint point) throws IOException {
        syncRecords(point.position());
        durableOffset.accumulateAndGet(point.offset(), Math::max);
        return point;
    }

    /**
     * The periodic flush ({@code flushInterval}): the same result as {@link #flush()}, but the
     * record bytes are synced in pieces of about 1/{@value #BACKGROUND_PIECES} of the backlog
     * (at least {@value #MIN_BACKGROUND_PIECE_BYTES} bytes).
     *
     * <p>Why: writing back dirty pages costs the calling thread CPU (a few milliseconds for 10 MB)
     * before it sleeps on the disk. In one piece that is a burst long enough to push an
     * application thread off a core of a small machine for milliseconds, once per interval. In
     * pieces, each burst is short and the thread sleeps on the disk between them.
     */
    public void flushInBackground() throws IOException {
        // No writer lock here: the published tail for the bytes; its offset is counted from a
        // recent checkpoint (a record boundary at or before it), or, if that fails, the
        // checkpoint itself goes in the slot (recovery finds the records after it whole).
        StreamPoint checkpoint = appender.checkpoint();
        long target = log.tailPosition();
        long piece = Math.max(MIN_BACKGROUND_PIECE_BYTES, (target - durable.get()) / BACKGROUND_PIECES);
        for (long from = durable.get(); from < target; from = durable.get()) {
            syncRecords(Math.min(target, Math.max(from, log.earliestPosition()) + piece));
        }
        // Every record before the target is on disk now; the checkpoint is at or before it.
        StreamPoint counted = lastCounted;
        StreamPoint exact = pointAt(counted != null && counted.position() > checkpoint.position() ? counted
                : checkpoint, target);
        if (exact != null) {
            lastCounted = exact;
        }
        StreamPoint reached = exact != null ? exact : checkpoint;
        durableOffset.accumulateAndGet(reached.offset(), Math::max);
        syncPositions(reached);
    }

    /**
     * The offset that goes with stream position {@code target} (a record boundary: a published
     * tail), counted from {@code from} (a record boundary at or before it) by reading record
     * lengths; null if the records between were collected meanwhile. The appender's checkpoint
     * alone moves every 64 KiB of records: without the count, a producer that paused would never
     * see its last records in {@link #durableOffset()}, though this flush synced them. The count
     * reads the headers appended since the last count, at most 64 KiB of records (the checkpoint
     * is that close to the tail), with no lock: only published records.
     */
    private StreamPoint pointAt(StreamPoint from, long target) {
        StreamPoint start = from;
        StreamPoint earliest = log.earliest();
        if (start.position() < earliest.position()) {
            start = earliest;
        }
        if (start.position() > target) {
            return null;
        }
        Cursor c = new Cursor();
        c.moveTo(start);
        try {
            while (c.position < target && reader.skip(c)) {
                // next record header
            }
        } catch (QueueCorruptedException e) {
            return null; // an arena was collected under the count
        }
        return c.position == target ? c.point() : null;
    }

    /**
     * Consumer positions, then the durable point of the stream. The slot is written by whichever
     * flush holds {@link #slotLock}; one that finds it held leaves its point pending for the holder,
     * which writes the highest pending point before it lets go. So no flush waits for another (the
     * holder may be a thread without a core just now); a slot that lags only makes a recovery
     * scan a little longer: the records it covers are on disk.
     */
    private void syncPositions(StreamPoint point) {
        for (ConsumerState c : consumers) {
            c.sync();
        }
        slotPending.accumulateAndGet(point, (a, b) -> a == null || b.position() > a.position() ? b : a);
        while (slotPending.get() != null && slotLock.tryLock()) {
            try {
                StreamPoint p = slotPending.getAndSet(null);
                if (p != null && p.position() > slotPosition) {
                    index.writeDurable(p);
                    slotPosition = p.position();
                }
            } finally {
                slotLock.unlock();
            }
        }
        index.force();
    }

    /**
     * Returns once the record stream is durable up to {@code position}. Of the producers waiting
     * at once, one (the leader) runs the sync for all of them; the others wait on a condition.
     *
     * <p>Before it syncs, a leader that had company in the last group yields the CPU a few times
     * while the tail still moves: the producers woken by the last sync are about to append, and on
     * a small machine they need the leader's core to do it. Their records then share this sync
     * instead of each waiting for the next one. A lone producer never waits for this.
     *
     * <p>Tried and dropped: unparking the waiters directly (all of them, or only those covered)
     * instead of a condition. It woke waiters more often than their records got synced, and on
     * 2 cores (load 4–5) 16 producers ran at 1k–50k enqueues/s against 50k–90k with the condition
     * (bigqueue-bench/RESULTS.md, session 2).
     */
    public void awaitDurable(long position) throws IOException {
        if (durable.get() >= position) {
            return;
        }
        groupLock.lock();
        try {
            while (durable.get() < position) {
                if (groupSyncRunning) {
                    waitersThisGroup++;
                    groupDone.awaitUninterruptibly();
                    continue;
                }
                groupSyncRunning = true;
                boolean hadCompany = waitersLastGroup > 0;
                groupLock.unlock();
                try {
                    if (hadCompany) {
                        letSiblingsAppend();
                    }
                    // The exact pair (the writer lock, once per group): the sync then also tells
                    // whenDurable waiters which offsets it made durable.
                    syncTo(appender.tail());
                } finally {
                    groupLock.lock();
                    groupSyncRunning = false;
                    waitersLastGroup = waitersThisGroup;
                    waitersThisGroup = 0;
                    groupDone.signalAll();
                }
            }
        } finally {
            groupLock.unlock();
        }
    }

    /** Yields while other producers are still appending, a few times at most. */
    private void letSiblingsAppend() {
        long tail = log.tailPosition();
        for (int i = 0; i < MAX_SIBLING_YIELDS; i++) {
            Thread.yield();
            long now = log.tailPosition();
            if (now == tail) {
                return;
            }
            tail = now;
        }
    }

    public long durablePosition() {
        return durable.get();
    }

    /** Every offset below this one is on disk (survives power loss). */
    public long durableOffset() {
        return durableOffset.get();
    }

    /** How many syncs of record bytes reached the disk since open. */
    public long syncCount() {
        return syncs.get();
    }

    /**
     * Returns once every record before stream position {@code target} is proven on disk (the
     * durable point is at or past it), or throws. The msync of the arena bytes from the durable
     * point counts only as {@link SyncVerdicts} says: once the syncs that overlapped it have ended
     * and none failed, which this waits for.
     */
    private void syncRecords(long target) throws IOException {
        long from = Math.max(durable.get(), log.earliestPosition());
        if (target <= from) {
            durable.accumulateAndGet(target, Math::max);
            return;
        }
        SyncEvent event = SyncEvents.begin();
        long ticket = verdicts.begin();
        try {
            writeBack(from, target);
        } catch (IOException | UncheckedIOException e) {
            IOException failure = describe(e);
            IOException kept = verdicts.failed(ticket, failure);
            if (kept != failure) {
                throw new IOException(kept.getMessage(), kept);
            }
            LOG.error("queue {}: {}", log.directory(), failure.getMessage());
            RefusedWriteBack.record(log.directory(), new StreamPoint(durableOffset.get(), durable.get()));
            throw failure;
        } catch (RuntimeException | Error e) {
            verdicts.abandoned(ticket);
            throw e;
        }
        verdicts.succeeded(ticket, target);
        verdicts.awaitProven(target);
        syncs.incrementAndGet();
        SyncEvents.end(event, log.directory(), target, target - from);
    }

    /**
     * The first write-back failure, or null. Once there is one, no flush, {@code syncOnWrite} wait or
     * {@code whenDurable} future of this open succeeds again.
     */
    public IOException writeBackFailure() {
        return verdicts.failure();
    }

    /** The failure as the user reads it: what happened, what is at risk, what to do. */
    private IOException describe(Exception e) {
        Throwable cause = e instanceof UncheckedIOException u ? u.getCause() : e;
        IOException failure = new IOException("the disk failed to write back records of queue " + log.directory()
                + " (" + cause.getMessage() + "). The kernel counts such pages as written even though they may not"
                + " be, so no sync of this open can be trusted any more: every offset from " + durableOffset.get()
                + " (durableOffset) on may be lost in a power loss, and flush(), syncOnWrite and whenDurable fail for"
                + " them from now on. Check the disk (dmesg), then close and reopen the queue: the next open"
                + " rewrites what the disk refused into new files.", cause);
        return failure;
    }

    /** msync of the arena bytes in [{@code from}, {@code target}), their time-index entries first. */
    private void writeBack(long from, long target) throws IOException {
        ArenaManager arenas = log.arenas();
        long firstArena = log.arenaOf(from);
        long lastArena = log.arenaOf(target - 1);
        for (long id = firstArena; id <= lastArena; id++) {
            // From the header when the arena was started since the last sync: its first-record slot is new.
            StreamPoint first = arenas.firstRecord(id);
            int start = id == firstArena && (first == null || first.position() < from) ? log.indexInArena(from) : 0;
            int end = id == lastArena ? log.indexInArena(target - 1) + 1
                    : log.arenaEnd();
            if (start > 0) {
                // The time-index entries of these records live in the arena's header, written with
                // them: they go to disk with them (a clean page costs msync nothing).
                int dataStart = log.dataStart();
                int firstEntry = (start - dataStart) / FileFormat.TIME_INDEX_INTERVAL;
                int lastEntry = (end - 1 - dataStart) / FileFormat.TIME_INDEX_INTERVAL;
                int at = FileFormat.TIME_INDEX_OFFSET + firstEntry * FileFormat.TIME_ENTRY_SIZE;
                arenas.force(id, at, (lastEntry - firstEntry + 1) * FileFormat.TIME_ENTRY_SIZE);
            }
            arenas.force(id, start, end - start);
        }
    }
}
