package dev.bigqueue.internal;

import dev.bigqueue.QueueFullException;
import dev.bigqueue.WhenFull;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the arenas a record needs before any byte of it is written, keeping the arena files
 * within {@code maxDiskBytes} by the {@link WhenFull} policy. Pooled arena files ({@link ArenaPool})
 * count against the cap and are the first to go when it is reached.
 *
 * <p>A message that could need more arenas than the cap, wherever in an arena it starts, is refused
 * up front ({@link #checkFits}): whether it fits must not depend on where the tail is.
 *
 * <p>The writer calls {@link #ensureArenas} under its lock, with its lease given back. Room is
 * made first by a collection pass, and only then by the policy; the arena count is read again
 * after every pass, since the background collector may have freed the room meanwhile. That pass
 * is given the exact tail: once every consumer has read everything, it keeps only the tail's
 * arena, so a queue every consumer has emptied always has room for any message that fits. With
 * {@code BLOCK} the writer lets go of its lock and waits in {@link #awaitRoom}: room comes from
 * consumers moving on and a collection, which nothing signals directly, so it looks again every
 * {@value #BLOCK_POLL_MS} ms (and at once when the queue closes).
 *
 * <p>With no consumer at all (the queue's own one off, no named one, no retention) nothing can free
 * an arena until a consumer is created, in this process or by a read-only open in another. BLOCK
 * still waits for that, since it may come, but logs one WARN per spell at the cap saying so; FAIL's
 * message says so.
 *
 * <p>When an arena cannot be made (a full disk), a collection pass runs too, and the creation is
 * tried again if it freed an arena file: a consumed arena must not make an enqueue fail for space.
 *
 * <p>A pass skipped because a read-only open (another process) holds the {@link GcFence} says
 * nothing about what could be freed: under every policy the writer then lets go of its lock, waits
 * the same way until that short step (creating or moving back a consumer) is over, and looks again.
 * FAIL throws, and DROP_OLDEST drops unread messages, only after a pass that ran found nothing to
 * free. The writer never waits on the fence itself (a file lock another process holds, which a
 * close could not interrupt), only looks again.
 */
final class DiskSpace {
    private static final Logger LOG = LoggerFactory.getLogger(DiskSpace.class);
    static final long BLOCK_POLL_MS = 5;
    private static final String NO_CONSUMER_WHY = "the queue has no consumer at all (ownConsumer is off, no named"
            + " consumer exists in consumers/, no retention is set), so nothing can free an arena";
    private final long arenaSize;
    private final long maxArenas;
    private final long dataBytes;
    /** The largest payload a record may carry under the cap; MAX_VALUE when there is none. */
    private final long maxPayload;
    private final WhenFull whenFull;
    private final ReentrantLock waitLock = new ReentrantLock();
    private final Condition roomOrClose = waitLock.newCondition();
    private GarbageCollector gc;
    /**
     * Whether this spell at the cap already logged that no consumer exists (one WARN, not one per
     * look); reset once room is made. Under the writer lock.
     */
    private boolean warnedNoConsumer;

    /** What {@link #ensureArenas} found. */
    enum Room {
        /** The arenas the record needs exist: write it. */
        READY,
        /** Full, and the policy is BLOCK: let go of the writer lock, {@link #awaitRoom}, try again. */
        WAIT_FOR_CONSUMERS,
        /**
         * The collection pass was skipped (a read-only open holds the {@link GcFence}): let go of
         * the writer lock, {@link #awaitRoom}, try again, whatever the policy.
         */
        WAIT_FOR_FENCE
    }

    DiskSpace(long arenaSize, long maxDiskBytes, WhenFull whenFull) {
        this.arenaSize = arenaSize;
        this.maxArenas = maxDiskBytes == 0 ? 0 : maxDiskBytes / arenaSize;
        this.whenFull = whenFull;
        this.dataBytes = FileFormat.dataBytes(arenaSize);
        this.maxPayload = maxArenas == 0 ? Long.MAX_VALUE : maxPayloadBytes(arenaSize, maxArenas);
    }

    /**
     * The largest payload that fits under a cap of {@code maxArenas} arenas wherever the record
     * starts, so that whether a message is accepted never depends on where the tail happens to be.
     * A record starts at a multiple of 8 and its first 8 bytes never span arenas (the data bytes of
     * an arena are a multiple of 8), so the latest it can start in an arena is 8 bytes before the
     * arena's data ends; from there, {@code recordBytes} bytes stay within {@code maxArenas} arenas
     * iff {@code recordBytes <= (maxArenas - 1) * dataBytes + 8}. That bound is a multiple of 8, so
     * the padding never matters: the payload may be at most the bound less the record header.
     */
    static long maxPayloadBytes(long arenaSize, long maxArenas) {
        return (maxArenas - 1) * FileFormat.dataBytes(arenaSize) + 8 - FileFormat.RECORD_HEADER_SIZE;
    }

    /**
     * Refuses, before the writer lock is taken and anything is written, a payload of {@code len}
     * bytes that could need more arenas than the cap allows (see {@link #maxPayloadBytes}).
     */
    void checkFits(long len) {
        if (len > maxPayload) {
            throw new IllegalArgumentException("a message of " + len + " bytes is larger than maxDiskBytes ("
                    + maxArenas * arenaSize + " bytes, " + maxArenas + " arenas of " + arenaSize + " bytes) allows:"
                    + " at most " + maxPayload + " bytes (key and headers included), wherever it starts in an arena;"
                    + " nothing was written. Raise maxDiskBytes (each further arena allows " + dataBytes
                    + " bytes more) or arenaSize, or send smaller messages");
        }
    }

    /** Set once while the queue opens, before any append. */
    void setCollector(GarbageCollector collector) {
        this.gc = collector;
    }

    /**
     * Called under the writer lock before a record of {@code recordBytes} is written at
     * {@code position}.
     *
     * @return whether the arenas are there, or why the writer must let go of its lock and wait.
     */
    Room ensureArenas(Appender appender, RecordLog log, long position, long recordBytes) {
        long first = log.arenaOf(position);
        long last = log.arenaOf(position + recordBytes - 1);
        ArenaManager arenas = log.arenas();
        if (arenas.exists(last) && arenas.exists(first)) {
            return Room.READY;
        }
        // Under the creation lock: the pretoucher creates arenas ahead under it, checking the cap,
        // and must not slip one in between the room made here and the arena created for it.
        synchronized (arenas.createLock()) {
            return makeRoomAndCreate(appender, log, first, last);
        }
    }

    private Room makeRoomAndCreate(Appender appender, RecordLog log, long first, long last) {
        ArenaManager arenas = log.arenas();
        long missing = 0;
        for (long id = first; id <= last; id++) {
            if (!arenas.exists(id)) {
                missing++;
            }
        }
        try {
            if (maxArenas > 0) {
                // The record spans at most maxArenas arenas: checkFits refused larger ones up front.
                Room room = makeRoom(appender, log, missing);
                if (room != Room.READY) {
                    return room;
                }
            }
            for (long id = first; id <= last; id++) {
                if (!arenas.exists(id)) {
                    Room room = create(appender, log, id);
                    if (room != Room.READY) {
                        return room;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Room.READY;
    }

    /**
     * Creates arena {@code id}. When that fails (a full disk, most likely) and a collection pass
     * frees an arena file (deleted, or pooled, which the next try takes instead of a new file), it
     * tries again; so an enqueue never fails for space the collector would free, whatever
     * {@code gcInterval}. Otherwise the failure stands, or, if the pass was fenced off, the writer
     * waits for the read-only open's step and looks again.
     */
    private Room create(Appender appender, RecordLog log, long id) throws IOException {
        ArenaManager arenas = log.arenas();
        for (;;) {
            // Counted before the try: a background pass that freed a file since then counts too.
            int before = arenas.arenaFileCount();
            try {
                arenas.create(id);
                return Room.READY;
            } catch (IOException e) {
                GarbageCollector.Pass pass;
                try {
                    pass = gc.collectForRoom(appender.tailLocked());
                } catch (IOException | RuntimeException passFailed) {
                    e.addSuppressed(passFailed);
                    throw e;
                }
                if (arenas.arenaFileCount() < before) {
                    // Room was made this time; the disk is still at its limit, which the user should know.
                    LOG.warn("queue {}: {}; collected the arena files every consumer had read and tried again. The"
                            + " disk is full: set maxDiskBytes below the free space to keep the queue within it",
                            log.directory(), e.getMessage());
                    continue;
                }
                if (pass == GarbageCollector.Pass.FENCED) {
                    return Room.WAIT_FOR_FENCE;
                }
                throw e;
            }
        }
    }

    /** Frees arenas by the policy; READY once there is room for {@code missing} more. */
    private Room makeRoom(Appender appender, RecordLog log, long missing) throws IOException {
        ArenaManager arenas = log.arenas();
        // Pooled files are not counted here: they are dropped below, or become the missing arenas.
        while (arenas.arenaFileCount() + missing > maxArenas) {
            int before = arenas.arenaFileCount();
            // With the writer lock held the tail cannot move: once every consumer has read up to it,
            // this pass may delete everything before the tail's arena (GarbageCollector#collectForRoom).
            GarbageCollector.Pass pass = gc.collectForRoom(appender.tailLocked());
            int after = arenas.arenaFileCount();
            if (after + missing <= maxArenas) {
                break;
            }
            if (after < before) {
                continue; // a pass (this one or the background one) freed something: look again
            }
            if (pass == GarbageCollector.Pass.FENCED) {
                // Nothing is known about what a pass could free: not full yet, whatever the policy.
                return Room.WAIT_FOR_FENCE;
            }
            boolean noConsumer = pass == GarbageCollector.Pass.NO_CONSUMER;
            switch (whenFull) {
                case FAIL:
                    throw new QueueFullException("queue " + log.directory().toAbsolutePath() + " is full: its "
                            + after + " arena files reach maxDiskBytes (" + maxArenas * arenaSize + " bytes) and "
                            + (noConsumer ? NO_CONSUMER_WHY : "the oldest still holds messages a consumer has not read")
                            + "; nothing was written. Consume messages, raise maxDiskBytes, or choose whenFull BLOCK or"
                            + " DROP_OLDEST");
                case DROP_OLDEST:
                    long dropped = gc.dropOldest(appender.tailLocked());
                    if (dropped < 0) {
                        throw new IllegalStateException("cannot make room in " + log.directory() + ": "
                                + after + " arena files, the oldest is the one being written, and the next record"
                                + " needs " + missing + " more; raise maxDiskBytes");
                    }
                    LOG.warn("queue {} reached maxDiskBytes ({} bytes): dropped the oldest arena, {} unread"
                            + " message(s) for consumers behind it; earliest offset is now {}",
                            log.directory(), maxArenas * arenaSize, dropped, log.earliestOffset());
                    break;
                case BLOCK:
                default:
                    if (noConsumer && !warnedNoConsumer) {
                        // A consumer made later (here, or by a read-only open elsewhere) frees room, so
                        // BLOCK still waits; but without a word it would look like a hang.
                        warnedNoConsumer = true;
                        LOG.warn("queue {} reached maxDiskBytes ({} bytes) with whenFull BLOCK, and {}: enqueues"
                                + " wait until a consumer is created and reads past the oldest arena. Create one"
                                + " (Consumers.of(queue).open(name)), turn ownConsumer on, set a retention, raise"
                                + " maxDiskBytes, or choose whenFull FAIL or DROP_OLDEST", log.directory(),
                                maxArenas * arenaSize, NO_CONSUMER_WHY);
                    }
                    return Room.WAIT_FOR_CONSUMERS;
            }
        }
        ArenaPool pool = arenas.pool();
        if (pool != null) {
            // The missing arenas come from the pool first, so this keeps arena files, pooled ones
            // included, within the cap once they are made.
            pool.trimTo((int) Math.min(Integer.MAX_VALUE, maxArenas - arenas.arenaFileCount()));
        }
        warnedNoConsumer = false;
        return Room.READY;
    }

    /**
     * BLOCK, or a fenced pass: waits a little for room, without the writer lock; returns at once
     * when the queue closes.
     */
    void awaitRoom(RecordLog log) {
        waitLock.lock();
        try {
            log.checkOpen();
            if (roomOrClose.await(BLOCK_POLL_MS, TimeUnit.MILLISECONDS)) {
                log.checkOpen();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for room under maxDiskBytes in "
                    + log.directory(), e);
        } finally {
            waitLock.unlock();
        }
    }

    /** Wakes producers waiting for room (at close: they then throw). */
    void wakeWaiters() {
        waitLock.lock();
        try {
            roomOrClose.signalAll();
        } finally {
            waitLock.unlock();
        }
    }
}
