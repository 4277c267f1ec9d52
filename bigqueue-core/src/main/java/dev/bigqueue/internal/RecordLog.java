package dev.bigqueue.internal;

import static dev.bigqueue.internal.FileFormat.ARENA_HEADER_SIZE;
import static dev.bigqueue.internal.FileFormat.RECORD_CHECKSUM_OFFSET;
import static dev.bigqueue.internal.FileFormat.RECORD_HEADER_SIZE;
import static dev.bigqueue.internal.FileFormat.RECORD_LENGTH_OFFSET;
import static dev.bigqueue.internal.FileFormat.recordBytes;

import dev.bigqueue.QueueClosedException;
import dev.bigqueue.QueueCorruptedException;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

/**
 * The record stream across arenas: append at the tail, read at any position between the earliest
 * record and the tail. One writer at a time (a lock); any number of readers, each with its own
 * {@link Cursor}, without locks: a reader sees a record only once the writer has published the
 * tail past it (a volatile store after all its bytes), and checks its CRC32C before returning it.
 *
 * <p>Space for the arenas a record needs is made before any byte of it is written, so a full disk
 * or a full queue ({@code maxDiskBytes}) fails an enqueue with nothing written.
 */
public final class RecordLog {
    private static final java.lang.invoke.VarHandle PUBLISHED_TAIL_OFFSET;

    static {
        try {
            PUBLISHED_TAIL_OFFSET = java.lang.invoke.MethodHandles.lookup()
                    .findVarHandle(RecordLog.class, "publishedTailOffset", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Path dir;
    private final long dataBytes;
    private final ArenaManager arenas;
    private final Index index;
    private final DiskSpace diskSpace;

    private final ReentrantLock writeLock = new ReentrantLock();
    private final CRC32C writeCrc = new CRC32C();
    /** Writer-owned, under {@link #writeLock}. */
    private long tailOffset;
    private long tailPosition;
    /** The writer's leased arena (pinned once, kept across appends); see {@link #leaseFor(long)}. */
    private Arena writeArena;
    /** A pin held for one append only, while the lease backs off. */
    private Arena writeArenaPinnedOnce;
    private volatile boolean leaseRevokeRequested;
    private int leaseBackoff;
    private static final int LEASE_BACKOFF_APPENDS = 1024;
    /**
     * Tail position in the hint. The hint only shortens a recovery scan (which validates forward
     * from it), so it is refreshed every 256 KiB rather than on every append.
     */
    private long hintPosition;
    private static final long TAIL_HINT_EVERY_BYTES = 256 * 1024;
    /** Highest arena id known to exist; arenas are never deleted at or after the tail's. */
    private long readyArena = -1;
    /** Highest arena id whose first-record slot is known to be set. */
    private long firstRecordArena = -1;

    /** The writer wakes the pretoucher when the tail passes this. */
    private volatile long pretouchWakeAt = Long.MAX_VALUE;
    private volatile Pretoucher pretoucher;

    private volatile long publishedTailOffset;
    private volatile long publishedTailPosition;
    /** {offset, position} of the earliest record on disk; replaced whole, never modified. */
    private volatile long[] earliest = {0, 0};

    private final ReentrantLock waitLock = new ReentrantLock();
    private final Condition appended = waitLock.newCondition();
    private volatile int waitingReaders;
    private static final long SPIN_NS = 20_000;
    private volatile boolean closed;

    RecordLog(Path dir, long arenaSize, ArenaManager arenas, Index index, DiskSpace diskSpace) {
        this.dir = dir;
        this.dataBytes = FileFormat.dataBytes(arenaSize);
        this.arenas = arenas;
        this.index = index;
        this.diskSpace = diskSpace;
        arenas.setLeaseRevoker(this::revokeLease);
    }

    /** Sets the tail after recovery; before any append. */
    void initTail(long offset, long position) {
        hintPosition = position;
        readyArena = -1;
        firstRecordArena = -1;
        tailOffset = offset;
        tailPosition = position;
        publishedTailOffset = offset;
        publishedTailPosition = position;
        refreshEarliest();
    }

    public long dataBytesPerArena() {
        return dataBytes;
    }

    long arenaOf(long position) {
        return position / dataBytes;
    }

    int indexInArena(long position) {
        return (int) (ARENA_HEADER_SIZE + position % dataBytes);
    }

    /** {@link #arenaOf(long)}, remembered in {@code cursor}: no division while it stays in one arena. */
    private long arenaOf(Cursor cursor, long position) {
        long inArena = position - cursor.spanStart;
        if (inArena >= 0 && inArena < dataBytes) {
            return cursor.spanArena;
        }
        long id = arenaOf(position);
        cursor.spanArena = id;
        cursor.spanStart = arenaStart(id);
        return id;
    }

    /** First stream position held by arena {@code id}. */
    long arenaStart(long id) {
        return id * dataBytes;
    }

    public long tailOffset() {
        return publishedTailOffset;
    }

    public long tailPosition() {
        return publishedTailPosition;
    }

    public long earliestOffset() {
        return earliest[0];
    }

    public long earliestPosition() {
        return earliest[1];
    }

    /** {offset, position} of the earliest record, read together; do not modify. */
    public long[] earliest() {
        return earliest;
    }

    public ArenaManager arenas() {
        return arenas;
    }

    public Path directory() {
        return dir;
    }

    /** Recomputes the earliest record after arenas were created or deleted. */
    void refreshEarliest() {
        long[] first = arenas.earliestRecord();
        if (first == null || first[1] >= publishedTailPosition) {
            // Only the writer, or the collector when it cannot race an append (see
            // GarbageCollector), gets here: the tail's offset and position belong together.
            earliest = new long[] {publishedTailOffset, publishedTailPosition};
        } else {
            earliest = new long[] {first[0], first[1]};
        }
    }

    // ---------------------------------------------------------------- writing

    /**
     * Appends one record.
     *
     * @return its offset.
     */
    public long append(byte[] src, int off, int len) {
        long recordBytes = recordBytes(len);
        long position = lockAndReserve(recordBytes);
        try {
            writeCrc.reset();
            writeCrc.update(src, off, len);
            writeRecord(position, len, (int) writeCrc.getValue(), src, off, null);
            return publish(recordBytes);
        } finally {
            afterWrite();
            writeLock.unlock();
            wakeReaders();
        }
    }

    /** Appends the remaining bytes of {@code src}, leaving its position unchanged. */
    public long append(ByteBuffer src) {
        int len = src.remaining();
        long recordBytes = recordBytes(len);
        long position = lockAndReserve(recordBytes);
        try {
            int start = src.position();
            writeCrc.reset();
            writeCrc.update(src);
            src.position(start);
            writeRecord(position, len, (int) writeCrc.getValue(), null, 0, src);
            src.position(start);
            return publish(recordBytes);
        } finally {
            afterWrite();
            writeLock.unlock();
            wakeReaders();
        }
    }

    /**
     * Takes the writer lock with the arenas for a record of {@code recordBytes} at the tail in
     * place, and returns the tail position; the caller unlocks. When the queue is full with
     * {@code BLOCK}, waits without holding the lock, so that flushes, seeks and consumers that
     * free the space are never stuck behind a blocked producer.
     */
    private long lockAndReserve(long recordBytes) {
        for (;;) {
            writeLock.lock();
            boolean reserved = false;
            try {
                checkOpen();
                long position = tailPosition;
                long last = arenaOf(position + recordBytes - 1);
                if (last <= readyArena || diskSpace.ensureArenas(this, position, recordBytes)) {
                    readyArena = Math.max(readyArena, last);
                    reserved = true;
                    return position;
                }
            } finally {
                if (!reserved) {
                    writeLock.unlock();
                }
            }
            pause(DiskSpace.BLOCK_POLL_NS);
        }
    }

    private long publish(long recordBytes) {
        long offset = tailOffset;
        tailOffset = offset + 1;
        tailPosition += recordBytes;
        if (tailPosition - hintPosition >= TAIL_HINT_EVERY_BYTES) {
            // Every byte of the record reaches the page cache before the hint says it is there.
            VarHandle.releaseFence();
            index.writeTailHint(tailOffset, tailPosition);
            hintPosition = tailPosition;
        }
        // One full fence per append: the offset is only read for tailOffset()/size().
        PUBLISHED_TAIL_OFFSET.setRelease(this, tailOffset);
        publishedTailPosition = tailPosition;
        if (tailPosition > pretouchWakeAt) {
            pretouchWakeAt = Long.MAX_VALUE;
            Pretoucher p = pretoucher;
            if (p != null) {
                p.wake();
            }
        }
        return offset;
    }

    private void writeRecord(long position, int len, int payloadCrc, byte[] array, int off, ByteBuffer buf) {
        long arenaId = arenaOf(position);
        // The first piece goes through the writer's lease: no pin per record.
        MappedByteBuffer m = leaseFor(arenaId).buffer();
        int at = indexInArena(position);
        if (arenaId > firstRecordArena) {
            if (!arenas.hasFirstRecord(arenaId)) {
                PositionSlots.writeSlot(m, FileFormat.ARENA_FIRST_RECORD_SLOT, tailOffset, position, 1);
                arenas.noteFirstRecord(arenaId, tailOffset, position);
            }
            firstRecordArena = arenaId;
        }
        m.putInt(at + RECORD_LENGTH_OFFSET, len);
        m.putInt(at + RECORD_CHECKSUM_OFFSET, payloadCrc ^ FileFormat.recordSalt(tailOffset, len));
        at += RECORD_HEADER_SIZE;
        int room = (int) (ARENA_HEADER_SIZE + dataBytes - at);
        int n = Math.min(room, len);
        put(m, at, array, off, buf, n);
        off += n;
        int remaining = len - n;
        long p = position + RECORD_HEADER_SIZE + n;
        if (remaining > 0) {
            // A thread holds at most one pin: give the lease up before pinning the next arenas.
            dropLease();
        }
        while (remaining > 0) {
            Arena a = arenas.acquire(arenaOf(p));
            if (a == null) {
                throw new IllegalStateException("arena " + arenaOf(p) + " of " + dir + " vanished while being written");
            }
            try {
                n = (int) Math.min(remaining, dataBytes);
                put(a.buffer(), ARENA_HEADER_SIZE, array, off, buf, n);
            } finally {
                arenas.release(a);
            }
            off += n;
            remaining -= n;
            p += n;
        }
    }

    private static void put(MappedByteBuffer m, int at, byte[] array, int off, ByteBuffer buf, int n) {
        if (array != null) {
            m.put(at, array, off, n);
        } else {
            m.put(at, buf, buf.position(), n);
            buf.position(buf.position() + n);
        }
    }

    /**
     * The writer's lease: the arena at the tail stays pinned across appends (pinning per record
     * costs two atomic operations), until the writer moves on, the ArenaManager asks for the
     * mapping back ({@link #revokeLease()}), or the queue closes. Under {@link #writeLock}.
     */
    private Arena leaseFor(long arenaId) {
        Arena a = writeArena;
        if (a != null && a.id == arenaId) {
            return a;
        }
        dropLease();
        a = arenas.acquire(arenaId);
        if (a == null) {
            throw new IllegalStateException("arena " + arenaId + " of " + dir + " vanished while being written");
        }
        if (leaseBackoff > 0) {
            // Recently asked to give the mapping back: pin for this append only.
            leaseBackoff--;
            writeArenaPinnedOnce = a;
        } else {
            writeArena = a;
        }
        return a;
    }

    /** Releases the lease and any single-append pin; under {@link #writeLock}. */
    private void dropLease() {
        Arena a = writeArena;
        if (a != null) {
            writeArena = null;
            arenas.release(a);
        }
        Arena once = writeArenaPinnedOnce;
        if (once != null) {
            writeArenaPinnedOnce = null;
            arenas.release(once);
        }
    }

    /** After each append, under {@link #writeLock}: keep the lease only on the tail's arena. */
    private void afterWrite() {
        Arena once = writeArenaPinnedOnce;
        if (once != null) {
            writeArenaPinnedOnce = null;
            arenas.release(once);
        }
        Arena a = writeArena;
        if (a != null && (leaseRevokeRequested || a.id != arenaOf(tailPosition))) {
            if (leaseRevokeRequested) {
                leaseRevokeRequested = false;
                leaseBackoff = LEASE_BACKOFF_APPENDS;
            }
            dropLease();
        }
    }

    /**
     * Asks the writer for its leased mapping back (the ArenaManager needs a mapping slot, and
     * every mapped arena is pinned). Takes it at once if the writer is idle; otherwise the writer
     * gives it up at the end of its current append and pins per append for a while.
     */
    void revokeLease() {
        leaseRevokeRequested = true;
        if (writeLock.tryLock()) {
            try {
                leaseRevokeRequested = false;
                leaseBackoff = LEASE_BACKOFF_APPENDS;
                dropLease();
            } finally {
                writeLock.unlock();
            }
        }
    }

    /** Gives up the lease before the arenas are unmapped at close. */
    void releaseLeaseForClose() {
        writeLock.lock();
        try {
            dropLease();
        } finally {
            writeLock.unlock();
        }
    }

    /** The pretoucher asks to be woken once the tail passes {@code position}. */
    void setPretouchWakeAt(long position, Pretoucher who) {
        pretoucher = who;
        pretouchWakeAt = position;
    }

    /** Runs {@code action} under the writer lock (used by recovery and maintenance). */
    <T> T underWriteLock(java.util.function.Supplier<T> action) {
        writeLock.lock();
        try {
            return action.get();
        } finally {
            writeLock.unlock();
        }
    }

    // ---------------------------------------------------------------- reading

    /**
     * Reads the record at {@code cursor}. Returns null if the cursor is at the tail. Moves the
     * cursor past the record only if {@code advance}.
     *
     * @throws QueueCorruptedException if the record fails its checksum.
     */
    public byte[] read(Cursor cursor, boolean advance) {
        if (cursor.revokeRequested) {
            applyLeaseRevoke(cursor);
        }
        long position = cursor.position;
        // One volatile read of the tail per read: every byte before it was written before it was published.
        long tail = publishedTailPosition;
        if (position >= tail) {
            checkOpen();
            return null;
        }
        if (position < earliestPosition()) {
            return null; // the owner must move the cursor forward first
        }
        long arenaId = arenaOf(cursor, position);
        Arena a = pinForRead(cursor, arenaId);
        if (a == null) {
            refreshEarliest();
            if (position < earliestPosition()) {
                return null;
            }
            throw new QueueCorruptedException(FileFormat.arenaFile(dir, arenaId), 0,
                    "arena file is missing while records at or after offset " + cursor.offset + " need it");
        }
        byte[] out;
        int len;
        int stored;
        try {
            MappedByteBuffer m = a.buffer();
            int at = (int) (ARENA_HEADER_SIZE + position - cursor.spanStart);
            len = m.getInt(at + RECORD_LENGTH_OFFSET);
            stored = m.getInt(at + RECORD_CHECKSUM_OFFSET);
            if (len < 0 || recordBytes(len) > tail - position) {
                throw corrupted(cursor, at, "record length " + len + " at offset " + cursor.offset
                        + " runs past the tail");
            }
            out = new byte[len];
            at += RECORD_HEADER_SIZE;
            int n = Math.min((int) (ARENA_HEADER_SIZE + dataBytes - at), len);
            m.get(at, out, 0, n);
            int done = n;
            long p = position + RECORD_HEADER_SIZE + n;
            while (done < len) {
                // A thread holds at most one pin: give up the lease before the next arena.
                releaseRead(cursor, a, true);
                a = null;
                a = pinForRead(cursor, arenaOf(p));
                if (a == null) {
                    throw new QueueCorruptedException(FileFormat.arenaFile(dir, arenaOf(p)), 0,
                            "arena file is missing in the middle of the record at offset " + cursor.offset);
                }
                n = (int) Math.min(len - done, dataBytes);
                a.buffer().get(ARENA_HEADER_SIZE, out, done, n);
                done += n;
                p += n;
            }
        } finally {
            if (a != null) {
                releaseRead(cursor, a, false);
            }
        }
        CRC32C crc = cursor.crc;
        crc.reset();
        crc.update(out, 0, len);
        if (((int) crc.getValue() ^ FileFormat.recordSalt(cursor.offset, len)) != stored) {
            throw corrupted(cursor, indexInArena(position), "record checksum mismatch for offset " + cursor.offset);
        }
        if (advance) {
            long next = position + recordBytes(len);
            cursor.offset++;
            cursor.position = next;
            Arena leased = cursor.leased;
            if (leased != null && leased.id != arenaOf(cursor, next)) {
                // Moved on: an arena left behind must not stay pinned (the collector waits for it).
                dropReadLease(cursor);
            }
        }
        return out;
    }

    /** Moves {@code cursor} past its record without copying the payload; false at the tail. */
    boolean skip(Cursor cursor) {
        long position = cursor.position;
        if (position >= publishedTailPosition) {
            return false;
        }
        Arena a = pinForRead(cursor, arenaOf(position));
        if (a == null) {
            throw new QueueCorruptedException(FileFormat.arenaFile(dir, arenaOf(position)), 0,
                    "arena file is missing while seeking past offset " + cursor.offset);
        }
        try {
            int at = indexInArena(position);
            int len = a.buffer().getInt(at + RECORD_LENGTH_OFFSET);
            if (len < 0 || recordBytes(len) > publishedTailPosition - position) {
                throw corrupted(cursor, at, "record length " + len + " at offset " + cursor.offset
                        + " runs past the tail");
            }
            cursor.offset++;
            cursor.position = position + recordBytes(len);
            return true;
        } finally {
            arenas.release(a);
        }
    }

    /**
     * The stream position of the record with {@code offset}, found through the arena index and a
     * scan of record headers within one arena.
     *
     * @throws IllegalArgumentException if {@code offset} is outside [earliestOffset, tailOffset].
     */
    public long positionOf(long offset) {
        for (;;) {
            long earliestBefore = earliestOffset();
            try {
                return positionOfOnce(offset);
            } catch (QueueCorruptedException e) {
                // A missing arena is damage only if the collector did not just delete it; if it
                // did, look again (and throw IllegalArgumentException if offset went with it).
                refreshEarliest();
                if (earliestOffset() == earliestBefore) {
                    throw e;
                }
            }
        }
    }

    private long positionOfOnce(long offset) {
        long tail = publishedTailOffset;
        long[] first = earliest;
        long earliestOffset = first[0];
        if (offset < earliestOffset || offset > tail) {
            throw new IllegalArgumentException("offset " + offset + " is outside the queue: earliest retained is "
                    + earliestOffset + ", tail is " + tail + "; seek to an offset in [" + earliestOffset + ", "
                    + tail + "]");
        }
        if (offset == tail) {
            // The tail's offset and position must belong together: read them under the writer lock.
            long[] exact = underWriteLock(() -> new long[] {tailOffset, tailPosition});
            if (exact[0] == offset) {
                return exact[1];
            }
        }
        long[] floor = arenas.floorRecord(offset);
        Cursor c = new Cursor();
        if (floor == null || floor[0] < earliestOffset) {
            c.moveTo(first[0], first[1]);
        } else {
            c.moveTo(floor[0], floor[1]);
        }
        while (c.offset < offset && skip(c)) {
            // next header
        }
        return c.position;
    }

    /**
     * Pins {@code arenaId} for a read. A leasing cursor (a consumer's) keeps its pin across reads,
     * like the writer's lease, until it moves to another arena or the ArenaManager asks for the
     * mapping back ({@link #dropReadLease}).
     */
    private Arena pinForRead(Cursor cursor, long arenaId) {
        Arena leased = cursor.leased;
        if (leased != null) {
            if (leased.id == arenaId) {
                return leased;
            }
            dropReadLease(cursor);
        }
        Arena a = cursor.arena;
        if (a == null || a.id != arenaId || !a.tryPin()) {
            a = arenas.acquire(arenaId);
            cursor.arena = a;
        }
        if (a != null && cursor.leasing) {
            if (cursor.leaseBackoff > 0) {
                cursor.leaseBackoff--;
            } else {
                cursor.leased = a;
            }
        }
        return a;
    }

    /** Ends a read's use of {@code a}: a leased arena stays pinned unless {@code dropLease}. */
    private void releaseRead(Cursor cursor, Arena a, boolean dropLease) {
        if (a == cursor.leased) {
            if (!dropLease) {
                return;
            }
            cursor.leased = null;
        }
        arenas.release(a);
    }

    /** Drops the lease the ArenaManager asked for and reads without one for a while. */
    void applyLeaseRevoke(Cursor cursor) {
        if (cursor.revokeRequested) {
            cursor.revokeRequested = false;
            cursor.leaseBackoff = 1024;
            dropReadLease(cursor);
        }
    }

    /** Releases a cursor's leased pin; the cursor's owner holds its lock. */
    public void dropReadLease(Cursor cursor) {
        Arena leased = cursor.leased;
        if (leased != null) {
            cursor.leased = null;
            arenas.release(leased);
        }
    }

    private QueueCorruptedException corrupted(Cursor cursor, int indexInArena, String what) {
        return new QueueCorruptedException(FileFormat.arenaFile(dir, arenaOf(cursor.position)), indexInArena, what);
    }

    // ---------------------------------------------------------------- waiting

    /**
     * Waits until a record exists at {@code position} (the tail moved past it).
     *
     * @param timeoutNs at most this long; negative means no limit.
     * @return false if the time ran out.
     */
    public boolean awaitRecord(long position, long timeoutNs) throws InterruptedException {
        if (publishedTailPosition > position) {
            return true;
        }
        long start = System.nanoTime();
        long deadline = start + timeoutNs;
        // Spin briefly first: a producer that is active hands over in well under a microsecond,
        // while parking costs the consumer a wake-up and the producer a futex call per message.
        long spinUntil = start + (timeoutNs < 0 ? SPIN_NS : Math.min(SPIN_NS, timeoutNs));
        while (System.nanoTime() < spinUntil) {
            if (publishedTailPosition > position) {
                return true;
            }
            if (closed) {
                checkOpen();
            }
            Thread.onSpinWait();
        }
        waitLock.lockInterruptibly();
        try {
            waitingReaders++;
            try {
                while (publishedTailPosition <= position) {
                    checkOpen();
                    if (timeoutNs < 0) {
                        appended.await();
                    } else {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            return false;
                        }
                        appended.awaitNanos(left);
                    }
                }
                return true;
            } finally {
                waitingReaders--;
            }
        } finally {
            waitLock.unlock();
        }
    }

    private void wakeReaders() {
        if (waitingReaders > 0) {
            waitLock.lock();
            try {
                appended.signalAll();
            } finally {
                waitLock.unlock();
            }
        }
    }

    /** Marks the log closed and wakes every waiting reader, which then throws. */
    void markClosed() {
        closed = true;
        waitLock.lock();
        try {
            appended.signalAll();
        } finally {
            waitLock.unlock();
        }
    }

    public boolean isClosed() {
        return closed;
    }

    public void checkOpen() {
        if (closed) {
            throw new QueueClosedException("queue " + dir.toAbsolutePath() + " is closed; open it again with"
                    + " BigQueue.open(..)");
        }
    }

    /** Sleeps while a producer waits for space (the BLOCK policy). */
    void pause(long ns) {
        try {
            TimeUnit.NANOSECONDS.sleep(ns);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for disk space in " + dir, e);
        }
    }
}
