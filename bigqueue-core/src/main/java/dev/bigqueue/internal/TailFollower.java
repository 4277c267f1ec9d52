package dev.bigqueue.internal;

import static dev.bigqueue.internal.FileFormat.RECORD_HEADER_SIZE;
import static dev.bigqueue.internal.FileFormat.RECORD_STAMP_OFFSET;

import java.nio.MappedByteBuffer;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

/**
 * The tail of a read-only queue: how far the records another process (the one writer) appends
 * have been verified. It plays the appender's part for {@link RecordLog}: it alone publishes the
 * tail, so readers read only records it checked.
 *
 * <p><b>The commit rule is the only rule.</b> A record counts once its checksum, which mixes in the
 * record's own offset and length, matches its payload; the first record that does not match (not
 * yet written, half written, or torn by a writer killed mid-append) is where the tail stops, and a
 * later look tries it again. Nothing in {@code queue.meta} is taken for a tail: the scan starts at
 * the durable point (or a clean close's tail), which the writer recorded only after the records
 * before it were on disk, and checks every record after it. A record verified once never changes:
 * the writer only appends, and its recovery after a crash cuts only what was not whole.
 *
 * <p><b>Waiting</b> is a parked back-off over the mapped tail, not a disk poll: a waiting thread
 * checks the next record's bytes in the page cache, then parks 20 µs, doubling up to 1 ms; so a
 * new record is seen within about 1 ms (plus scheduling) of its append, and an idle reader costs
 * about a thousand cheap checks a second. After {@link #STALE_CHECK_NS} of nothing new it also maps
 * the arenas after the tail's again from their files: a writer restarted after a crash deletes the
 * arenas after its recovered tail (made ahead, or holding the rest of a torn record) and makes them
 * again, and an old mapping would never show the new records.
 *
 * <p><b>Threads.</b> One thread advances at a time ({@link #advancing}, taken with {@code tryLock}
 * only: a thread that finds it busy parks and looks again, so nobody waits on it). The verified tail
 * is published through the log's release stores and the volatile {@link #tail} (an immutable
 * {@link StreamPoint}); the earliest record through the log, under this object's monitor so that it
 * only moves forward. A verification pins one arena at a time and waits for nothing while pinned.
 */
final class TailFollower {
    /** {@link #verify}: the arena of the record's first byte is not on disk. */
    private static final long MISSING = -2;
    private static final long MIN_PARK_NS = 20_000;
    private static final long MAX_PARK_NS = 1_000_000;
    /** Nothing new for this long: check whether the tail's arena file was replaced. */
    static final long STALE_CHECK_NS = 100_000_000;

    private final RecordLog log;
    private final ArenaManager arenas;
    private final Index index;
    private final long dataBytes;
    private final ReentrantLock advancing = new ReentrantLock();
    /** Guarded by {@link #advancing}. */
    private final CRC32C crc = new CRC32C();
    /** Guarded by {@link #advancing}: the payload of the record being verified. */
    private byte[] scratch = new byte[4096];
    /** Guarded by {@link #advancing}: the arena whose first record is known. */
    private long noted = -1;
    private volatile StreamPoint tail;
    /** Guarded by {@link #advancing}: when the tail last moved, and when the last stale check ran. */
    private long lastProgressNs = System.nanoTime();
    private long lastStaleCheckNs = lastProgressNs;

    TailFollower(RecordLog log, Index index, StreamPoint from) {
        this.log = log;
        this.arenas = log.arenas();
        this.index = index;
        this.dataBytes = log.dataBytesPerArena();
        this.tail = from;
        log.publishTail(from.offset(), from.position());
    }

    /** The verified tail, offset and position together. */
    StreamPoint tail() {
        return tail;
    }

    /**
     * Verifies and publishes every whole record after the tail. Returns at once if another thread
     * is doing it.
     */
    void advance() {
        if (!advancing.tryLock()) {
            return;
        }
        try {
            StreamPoint t = tail;
            long offset = t.offset();
            long position = t.position();
            if (position < log.earliestPosition()) {
                // The writer deleted what this reader had not verified yet: go on from its start.
                StreamPoint e = log.earliest();
                offset = e.offset();
                position = e.position();
            }
            long start = position;
            for (;;) {
                long bytes = verify(offset, position);
                if (bytes == MISSING) {
                    // Not made yet, or deleted by the writer (collected, or dropped by rule) before
                    // this reader got there: then its start has moved past it.
                    refreshStart();
                    StreamPoint e = log.earliest();
                    if (position < e.position()) {
                        offset = e.offset();
                        position = e.position();
                        continue;
                    }
                }
                if (bytes < 0) {
                    break;
                }
                long arena = log.arenaOf(position);
                if (arena != noted) {
                    noted = arena;
                    arenas.noteFirstRecord(arena, new StreamPoint(offset, position));
                }
                offset++;
                position += bytes;
            }
            if (position != start || position != t.position()) {
                tail = new StreamPoint(offset, position);
                log.publishTail(offset, position);
                lastProgressNs = System.nanoTime();
            } else {
                checkReplacedWhenStale();
            }
        } finally {
            advancing.unlock();
        }
    }

    /**
     * The slow look of a reader that found nothing new for {@link #STALE_CHECK_NS} (at most once per
     * that time): the writer's start, and the arenas after the tail's arena mapped again from their
     * files, in case the writer's recovery replaced them. Timed across calls, not per wait: a reader
     * that polls with {@code dequeue()} or short timeouts must not keep an old mapping for ever.
     * The caller holds {@link #advancing}.
     */
    private void checkReplacedWhenStale() {
        long now = System.nanoTime();
        if (now - lastProgressNs < STALE_CHECK_NS || now - lastStaleCheckNs < STALE_CHECK_NS) {
            return;
        }
        lastStaleCheckNs = now;
        refreshStart();
        arenas.unmapAbove(log.arenaOf(log.tailPosition()));
    }

    /**
     * The stream bytes of the whole record of {@code offset} at {@code position}; -1 if there is
     * none (yet), {@link #MISSING} if its arena is not on disk.
     */
    private long verify(long offset, long position) {
        Arena a = arenas.acquire(log.arenaOf(position));
        if (a == null) {
            return MISSING;
        }
        int len;
        int stored;
        try {
            MappedByteBuffer m = a.buffer();
            int at = log.indexInArena(position);
            len = RecordFormat.length(m, at);
            stored = RecordFormat.storedChecksum(m, at);
            if (stored == 0 || len < 0) {
                return -1; // nothing written here yet (a real record's checksum is never 0)
            }
            // The stamp and the payload, as the checksum covers them: the 8 bytes of length and
            // checksum never span arenas, but the stamp may start the next one.
            int covered = RECORD_HEADER_SIZE - RECORD_STAMP_OFFSET + len;
            if (RECORD_HEADER_SIZE - RECORD_STAMP_OFFSET + (long) len > InPlaceCheck.threshold()) {
                // Not copied: the length may be the damage, and must not decide an allocation.
                arenas.release(a);
                a = null;
                return InPlaceCheck.matches(log, crc, position, len, offset, stored) ? FileFormat.recordBytes(len) : -1;
            }
            if (scratch.length < covered) {
                scratch = new byte[Math.max(covered, scratch.length * 2)];
            }
            at += RECORD_STAMP_OFFSET;
            int n = Math.min(log.arenaEnd() - at, covered);
            m.get(at, scratch, 0, n);
            int done = n;
            long p = position + RECORD_STAMP_OFFSET + n;
            while (done < covered) {
                arenas.release(a);
                a = null;
                a = arenas.acquire(log.arenaOf(p));
                if (a == null) {
                    return -1; // the rest is in an arena not made yet
                }
                n = (int) Math.min(covered - done, dataBytes);
                a.buffer().get(log.dataStart(), scratch, done, n);
                done += n;
                p += n;
            }
        } finally {
            if (a != null) {
                arenas.release(a);
            }
        }
        return RecordFormat.matchesStampAndPayload(crc, scratch, len, offset, stored) ? FileFormat.recordBytes(len)
                : -1;
    }

    /**
     * Takes the earliest record kept, and the mark of the last drop by rule, from {@code queue.meta}
     * when the writer has moved them on: it writes them (and syncs) before it deletes arenas.
     */
    synchronized void refreshStart() {
        StreamPoint[] now = index.startAndDroppedNow();
        StreamPoint start = now[0];
        if (start == null || start.position() <= log.earliestPosition()) {
            return;
        }
        StreamPoint dropped = now[1];
        if (dropped != null) {
            log.setDropped(dropped);
        }
        log.setEarliest(start);
        arenas.forgetBelow(log.arenaOf(start.position()));
    }

    /**
     * Waits until a record exists at {@code position}, with the parked back-off of the class
     * comment.
     *
     * @param timeoutNs at most this long; negative means no limit.
     * @return false if the time ran out.
     * @throws dev.bigqueue.QueueClosedException if the queue closes first (seen within one park).
     */
    boolean await(long position, long timeoutNs) throws InterruptedException {
        long now = System.nanoTime();
        long deadline = now + timeoutNs;
        long parkNs = MIN_PARK_NS;
        for (;;) {
            if (log.tailPosition() > position) {
                return true;
            }
            log.checkOpen();
            advance();
            if (log.tailPosition() > position) {
                return true;
            }
            now = System.nanoTime();
            if (timeoutNs >= 0 && now - deadline >= 0) {
                return false;
            }
            long park = timeoutNs < 0 ? parkNs : Math.min(parkNs, deadline - now);
            LockSupport.parkNanos(this, park);
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            parkNs = Math.min(parkNs * 2, MAX_PARK_NS);
        }
    }
}
