package dev.bigqueue.internal;

import static dev.bigqueue.internal.FileFormat.recordBytes;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.util.function.Supplier;
import java.util.zip.CRC32C;

/**
 * The append path: one writer at a time (the writer lock), which makes room for a record, writes
 * it into the arenas at the tail, and publishes the tail past it.
 *
 * <p><b>The writer's lease.</b> Pinning the tail arena per record costs two atomic operations, so
 * the writer keeps that one pin across appends: the only pin held between calls. It is used only
 * under the writer lock, and given back whenever someone needs the mapping slot
 * ({@link #revokeLease()}, called by the {@link ArenaManager} when every mapped arena is pinned):
 * at once if the writer lock is free, otherwise by the holder as it releases the lock, without
 * anybody waiting and without losing a request ({@link WriterLock}). The writer gives the lease up before
 * anything that may wait (making room, mapping the next arena), so nothing that waits for a
 * mapping ever waits for a writer that waits.
 *
 * <p>Space for the arenas a record needs is made before any byte of it is written, so a full disk
 * or a full queue ({@code maxDiskBytes}) fails an enqueue with nothing written.
 */
final class Appender {
    /** Appends that pin per record after the lease was asked back, before leasing again. */
    private static final int LEASE_BACKOFF_APPENDS = 1024;
    private static final VarHandle LONG_LE =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    /** The timestamp argument that means "now, read under the writer lock". */
    static final long NOW = Long.MIN_VALUE;

    private final RecordLog log;
    private final ArenaManager arenas;
    private final DiskSpace diskSpace;
    private final long dataBytes;
    private final WriterLock writeLock = new WriterLock(this::giveUpLease);
    /** Writer-owned, under {@link #writeLock}. */
    private final CRC32C crc = new CRC32C();
    /** The stamp's 8 bytes, for the checksum; writer-owned. */
    private final byte[] stampBytes = new byte[8];
    private final int dataStart;
    private final int timeEntries;
    /** Largest timestamp of every record so far (the time index's "max so far"); under the lock. */
    private long maxMillis = Long.MIN_VALUE;
    /** arenaId * timeEntries + entry of the last time-index entry written; under the lock. */
    private long lastEntryKey = -1;
    private long tailOffset;
    private long tailPosition;
    /** The leased tail arena (pinned once, kept across appends); under the lock. */
    private Arena lease;
    /** A pin held for one append only, while the lease backs off; under the lock. */
    private Arena pinnedOnce;
    private int leaseBackoff;
    /** Highest arena id known to exist ahead of the tail; arenas are never deleted at or after the tail's. */
    private long readyArena = -1;
    /** Highest arena id whose first-record slot is known to be set. */
    private long firstRecordArena = -1;
    /**
     * The arena id of the stream range [{@link #memoStart}, {@link #memoEnd}), the last one asked
     * for: a record's arena without a 64-bit division (the hot path needed four). Arithmetic
     * only, so never stale; under the lock.
     */
    private long memoArena;
    private long memoStart;
    private long memoEnd;

    /**
     * A recent tail, offset and position together, published every {@value #CHECKPOINT_BYTES}
     * bytes: what the periodic flush records as its durable point without taking the writer lock
     * (its thread may lose its core for seconds; a lock it held would stall every producer).
     */
    private volatile StreamPoint checkpoint = StreamPoint.ZERO;
    private long checkpointPosition;
    private static final long CHECKPOINT_BYTES = 64 * 1024;

    /** Throws if the calling thread must not wait for room (see QueueEngine); set once before use. */
    private volatile Runnable roomCheck = () -> { };

    /** The writer wakes the pretoucher when the tail passes this. */
    private volatile long pretouchWakeAt = Long.MAX_VALUE;
    private volatile Pretoucher pretoucher;

    Appender(RecordLog log, DiskSpace diskSpace) {
        this.log = log;
        this.arenas = log.arenas();
        this.diskSpace = diskSpace;
        this.dataBytes = log.dataBytesPerArena();
        this.dataStart = log.dataStart();
        this.timeEntries = FileFormat.timeEntries(log.arenaSize());
        arenas.setLeaseRevoker(this::revokeLease);
    }

    /** Sets the tail after recovery; before any append. */
    void initTail(StreamPoint tail, long maxTimestamp) {
        maxMillis = maxTimestamp;
        lastEntryKey = -1;
        tailOffset = tail.offset();
        tailPosition = tail.position();
        readyArena = -1;
        firstRecordArena = -1;
        log.publishTail(tailOffset, tailPosition);
        checkpoint = tail;
        checkpointPosition = tail.position();
    }

    /** A recent tail (at most {@value #CHECKPOINT_BYTES} bytes behind), read without the lock. */
    StreamPoint checkpoint() {
        return checkpoint;
    }

    /** The exact tail, offset and position together. */
    StreamPoint tail() {
        writeLock.lock();
        try {
            return new StreamPoint(tailOffset, tailPosition);
        } finally {
            writeLock.unlock();
        }
    }

    /** Runs {@code action} under the writer lock: no append runs meanwhile. */
    <T> T underWriteLock(Supplier<T> action) {
        writeLock.lock();
        try {
            return action.get();
        } finally {
            writeLock.unlock();
        }
    }

    /** The exact tail; the caller holds the writer lock (DiskSpace). */
    StreamPoint tailLocked() {
        return new StreamPoint(tailOffset, tailPosition);
    }

    /**
     * Appends one record.
     *
     * @return its offset.
     */
    long append(byte[] src, int off, int len) {
        return append(src, off, len, 0, NOW);
    }

    /**
     * Appends one record with {@code flags} (see {@link MessageCodec}) and the timestamp
     * {@code millis}, or the time now ({@link #NOW}), read under the writer lock.
     *
     * @return its offset.
     */
    long append(byte[] src, int off, int len, int flags, long millis) {
        diskSpace.checkFits(len);
        long recordBytes = recordBytes(len);
        long position = lockAndReserve(recordBytes);
        try {
            long stamp = MessageCodec.stamp(millis == NOW ? System.currentTimeMillis() : millis, flags);
            crc.reset();
            LONG_LE.set(stampBytes, 0, stamp);
            crc.update(stampBytes, 0, 8);
            crc.update(src, off, len);
            writeRecord(position, len, (int) crc.getValue(), stamp, src, off, null);
            return publish(recordBytes);
        } finally {
            afterWrite();
            writeLock.unlock();
            log.wakeReaders();
        }
    }

    /** Appends the remaining bytes of {@code src}, leaving its position unchanged. */
    long append(ByteBuffer src) {
        int len = src.remaining();
        diskSpace.checkFits(len);
        long recordBytes = recordBytes(len);
        long position = lockAndReserve(recordBytes);
        try {
            int start = src.position();
            long stamp = MessageCodec.stamp(System.currentTimeMillis(), 0);
            crc.reset();
            LONG_LE.set(stampBytes, 0, stamp);
            crc.update(stampBytes, 0, 8);
            crc.update(src);
            src.position(start);
            writeRecord(position, len, (int) crc.getValue(), stamp, null, 0, src);
            src.position(start);
            return publish(recordBytes);
        } finally {
            afterWrite();
            writeLock.unlock();
            log.wakeReaders();
        }
    }

    /**
     * Takes the writer lock with the arenas for a record of {@code recordBytes} at the tail in
     * place, and returns the tail position; the caller unlocks. When the queue is full with
     * {@code BLOCK}, or the collection pass that would make room was skipped for a read-only open
     * (see {@link DiskSpace}), waits without holding the lock, so that flushes, seeks and consumers
     * that free the space are never stuck behind a blocked producer.
     */
    private long lockAndReserve(long recordBytes) {
        for (;;) {
            writeLock.lock();
            boolean reserved = false;
            DiskSpace.Room room;
            try {
                log.checkOpen();
                long position = tailPosition;
                long last = arenaAt(position + recordBytes - 1);
                if (last <= readyArena) {
                    reserved = true;
                    return position;
                }
                // Making room may wait for readers' pins to drain (DROP_OLDEST), and arena creation
                // for the disk: give the lease back first.
                dropLease();
                room = diskSpace.ensureArenas(this, log, position, recordBytes);
                if (room == DiskSpace.Room.READY) {
                    readyArena = Math.max(readyArena, last);
                    reserved = true;
                    return position;
                }
            } finally {
                if (!reserved) {
                    writeLock.unlock();
                }
            }
            if (room == DiskSpace.Room.WAIT_FOR_CONSUMERS) {
                // Waiting for consumers to move on; a wait for a read-only open's short step is not.
                roomCheck.run();
            }
            diskSpace.awaitRoom(log);
        }
    }

    void setRoomCheck(Runnable check) {
        this.roomCheck = check;
    }

    private long publish(long recordBytes) {
        long offset = tailOffset;
        tailOffset = offset + 1;
        tailPosition += recordBytes;
        log.publishTail(tailOffset, tailPosition);
        if (tailPosition - checkpointPosition >= CHECKPOINT_BYTES) {
            checkpointPosition = tailPosition;
            checkpoint = new StreamPoint(tailOffset, tailPosition);
        }
        if (tailPosition > pretouchWakeAt) {
            pretouchWakeAt = Long.MAX_VALUE;
            Pretoucher p = pretoucher;
            if (p != null) {
                p.wake();
            }
        }
        return offset;
    }

    private void writeRecord(long position, int len, int bodyCrc, long stamp, byte[] array, int off,
            ByteBuffer buf) {
        long arenaId = arenaAt(position);
        int at = dataStart + (int) (position - memoStart);
        // The first piece goes through the writer's lease: no pin per record.
        MappedByteBuffer m = leaseFor(arenaId).buffer();
        long millis = MessageCodec.millisOf(stamp);
        if (millis > maxMillis) {
            maxMillis = millis;
        }
        if (arenaId > firstRecordArena) {
            if (arenas.firstRecord(arenaId) == null) {
                StreamPoint first = new StreamPoint(tailOffset, position);
                ArenaHeader.writeFirstRecord(m, first);
                arenas.noteFirstRecord(arenaId, first);
            }
            firstRecordArena = arenaId;
        }
        int entry = (at - dataStart) / FileFormat.TIME_INDEX_INTERVAL;
        long entryKey = arenaId * timeEntries + entry;
        if (entryKey > lastEntryKey) {
            // The first record of this 64 KiB of the arena: a time-index entry, before the record.
            TimeIndex.writeEntry(m, entry, maxMillis, tailOffset, position);
            lastEntryKey = entryKey;
        }
        long after = position + FileFormat.recordBytes(len);
        zeroAhead(m, arenaId, after);
        RecordFormat.writeHeader(m, at, len, RecordFormat.storedChecksum(bodyCrc, tailOffset, len));
        at += FileFormat.RECORD_STAMP_OFFSET;
        int end = log.arenaEnd();
        long p = position + FileFormat.RECORD_STAMP_OFFSET;
        Arena next = null;
        int remaining;
        try {
            if (at == end) {
                // The first 8 bytes filled this arena: the stamp starts the next one.
                dropLease();
                next = arenas.acquire(log.arenaOf(p));
                if (next == null) {
                    throw new IllegalStateException("arena " + log.arenaOf(p) + " of " + log.directory()
                            + " vanished while being written");
                }
                m = next.buffer();
                at = dataStart;
                zeroAhead(m, next.id, after);
            }
            m.putLong(at, stamp);
            at += 8;
            p += 8;
            int n = Math.min(end - at, len);
            put(m, at, array, off, buf, n);
            off += n;
            remaining = len - n;
            p += n;
        } finally {
            if (next != null) {
                arenas.release(next);
            }
        }
        if (remaining > 0) {
            // Mapping the next arenas may wait for a slot: give the lease back first.
            dropLease();
        }
        while (remaining > 0) {
            Arena a = arenas.acquire(log.arenaOf(p));
            if (a == null) {
                throw new IllegalStateException("arena " + log.arenaOf(p) + " of " + log.directory()
                        + " vanished while being written");
            }
            try {
                int n = (int) Math.min(remaining, dataBytes);
                zeroAhead(a.buffer(), a.id, after);
                put(a.buffer(), dataStart, array, off, buf, n);
                off += n;
                remaining -= n;
                p += n;
            } finally {
                arenas.release(a);
            }
        }
    }

    /**
     * Zeroes the length and checksum at {@code after} (where the next record will start) if they
     * are in arena {@code arenaId}, before the record's bytes that go there are written. The tail
     * of a reused arena then reads as zeros, as a fresh file's does, so neither a reader in another
     * process nor recovery after a kill ever checks an old record there (see {@link ArenaPool}); a
     * record ending with its arena leaves the next arena's first 8 bytes, zeroed when it was made.
     * Costs one store next to the record's bytes. Under the lock.
     */
    private void zeroAhead(MappedByteBuffer m, long arenaId, long after) {
        // No division on the hot path: a multiply and a range check.
        long inArena = after - log.arenaStart(arenaId);
        if (inArena >= 0 && inArena < dataBytes) {
            m.putLong(dataStart + (int) inArena, 0);
            // Before the record's bytes: whoever sees the record whole sees the zeros after it.
            VarHandle.storeStoreFence();
        }
    }

    /** The arena holding stream position {@code position}; under the lock. */
    private long arenaAt(long position) {
        if (position < memoStart || position >= memoEnd) {
            memoArena = log.arenaOf(position);
            memoStart = log.arenaStart(memoArena);
            memoEnd = memoStart + dataBytes;
        }
        return memoArena;
    }

    /** Largest timestamp of every record so far; under the lock (or before the first append). */
    long maxTimestampLocked() {
        return maxMillis;
    }

    private static void put(MappedByteBuffer m, int at, byte[] array, int off, ByteBuffer buf, int n) {
        if (array != null) {
            m.put(at, array, off, n);
        } else {
            m.put(at, buf, buf.position(), n);
            buf.position(buf.position() + n);
        }
    }

    /** The tail arena, leased (or pinned for this append only while the lease backs off); under the lock. */
    private Arena leaseFor(long arenaId) {
        Arena a = lease;
        if (a != null && a.id == arenaId) {
            return a;
        }
        dropLease();
        a = arenas.acquire(arenaId);
        if (a == null) {
            throw new IllegalStateException("arena " + arenaId + " of " + log.directory()
                    + " vanished while being written");
        }
        if (leaseBackoff > 0) {
            leaseBackoff--;
            pinnedOnce = a;
        } else {
            lease = a;
        }
        return a;
    }

    /** Releases the lease and any single-append pin; under the lock. */
    private void dropLease() {
        Arena a = lease;
        if (a != null) {
            lease = null;
            arenas.release(a);
        }
        Arena once = pinnedOnce;
        if (once != null) {
            pinnedOnce = null;
            arenas.release(once);
        }
    }

    /** After each append, under the lock: keep the lease only on the tail's arena. */
    private void afterWrite() {
        Arena once = pinnedOnce;
        if (once != null) {
            pinnedOnce = null;
            arenas.release(once);
        }
        Arena a = lease;
        if (a != null && a.id != arenaAt(tailPosition)) {
            dropLease();
        }
    }

    /**
     * Asks for the lease back (the ArenaManager needs a mapping slot and every mapped arena is
     * pinned). Never blocks: takes it now if the writer lock is free, else the holder gives it up
     * as it unlocks.
     */
    void revokeLease() {
        writeLock.requestGiveUp();
    }

    /** Under the lock: the lease goes, and appends pin per record for a while. */
    private void giveUpLease() {
        leaseBackoff = LEASE_BACKOFF_APPENDS;
        dropLease();
    }

    /** Gives up the lease for good before the arenas are unmapped at close; appends are refused by then. */
    void closeLease() {
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
}
