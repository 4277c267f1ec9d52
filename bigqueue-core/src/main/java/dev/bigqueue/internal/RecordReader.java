package dev.bigqueue.internal;

import static dev.bigqueue.internal.FileFormat.recordBytes;

import dev.bigqueue.QueueCorruptedException;
import java.nio.MappedByteBuffer;

/**
 * The read path: the record at a {@link Cursor}, checked against its checksum before it is
 * returned, and the position of an offset through the sparse index. Readers take no lock here:
 * a reader sees a record only once the writer has published the tail past it, and pins each
 * arena only for the copy (never while waiting; a record that spans arenas is read one arena at
 * a time, so a reader holds at most one pin and a cap of one mapped arena still makes progress).
 */
public final class RecordReader {
    private final RecordLog log;
    private final ArenaManager arenas;
    private final Appender appender;
    private final long dataBytes;
    private final int dataStart;
    private final TimeIndex timeIndex;

    /** The tail of a read-only queue, which has no appender; else null. */
    private final TailFollower follower;

    RecordReader(RecordLog log, Appender appender) {
        this.log = log;
        this.arenas = log.arenas();
        this.appender = appender;
        this.follower = log.follower();
        this.dataBytes = log.dataBytesPerArena();
        this.dataStart = log.dataStart();
        this.timeIndex = new TimeIndex(log, this);
    }

    public TimeIndex timeIndex() {
        return timeIndex;
    }

    /**
     * Reads the record at {@code cursor}, moving the cursor past it if {@code advance}.
     *
     * @return the payload; null if the cursor is at the tail, or before the earliest record (the
     *     caller then checks {@code cursor.position() < log.earliestPosition()} and moves it).
     * @throws QueueCorruptedException if the record fails its checks.
     */
    public byte[] read(Cursor cursor, boolean advance) {
        return read(cursor, null, advance);
    }

    /**
     * {@link #read(Cursor, boolean)} into {@code into} when the payload fits (a buffer the caller
     * reuses: no allocation per record), else into a new array; the payload's length is then
     * {@link Cursor#length()}.
     */
    public byte[] read(Cursor cursor, byte[] into, boolean advance) {
        byte[] out = read(cursor, log.tailPosition(), advance, true, into);
        if (out == null && cursor.position >= log.tailPosition()) {
            log.checkOpen();
            if (follower != null) {
                // A read-only queue: look for what the writer appended since, then try once more.
                follower.advance();
                out = read(cursor, log.tailPosition(), advance, true, into);
            }
        }
        return out;
    }

    /**
     * Reads the record at {@code cursor} if it lies wholly before {@code limit}.
     *
     * @param throwOnDamage false for recovery: a record that fails its checks returns null with
     *     {@link Cursor#damage} saying what was found, instead of throwing.
     */
    byte[] read(Cursor cursor, long limit, boolean advance, boolean throwOnDamage) {
        return read(cursor, limit, advance, throwOnDamage, null);
    }

    private byte[] read(Cursor cursor, long limit, boolean advance, boolean throwOnDamage, byte[] into) {
        cursor.damage = null;
        long position = cursor.position;
        if (position >= limit || position < log.earliestPosition()) {
            return null;
        }
        long arenaId = arenaOf(cursor, position);
        Arena a = pin(cursor, arenaId);
        if (a == null && follower != null) {
            follower.refreshStart(); // another process deleted it: take its new start
        }
        if (a == null) {
            if (position < log.earliestPosition()) {
                return null; // collected or dropped since the check above
            }
            return damaged(cursor, throwOnDamage, FileFormat.arenaFile(log.directory(), arenaId), 0,
                    "arena file is missing while records at or after offset " + cursor.offset + " need it");
        }
        byte[] out;
        int len;
        int stored;
        long stamp;
        try {
            MappedByteBuffer m = a.buffer();
            int at = (int) (dataStart + position - cursor.spanStart);
            len = RecordFormat.length(m, at);
            stored = RecordFormat.storedChecksum(m, at);
            if (len == 0 && stored == 0 && !throwOnDamage) {
                return null; // zeros: nothing was written here (a real record's checksum is never 0)
            }
            if (len < 0 || recordBytes(len) > limit - position) {
                return damaged(cursor, throwOnDamage, a.file, at, len < 0
                        ? "record at offset " + cursor.offset + " has a negative length (" + len + ")"
                        : "record length " + len + " at offset " + cursor.offset + " runs past the end of the log");
            }
            if (len > InPlaceCheck.threshold()) {
                // Checked before anything is allocated for it: the length itself may be the damage.
                arenas.release(a);
                a = null;
                if (!InPlaceCheck.matches(log, cursor.crc, position, len, cursor.offset, stored)) {
                    if (position < log.earliestPosition()) {
                        return null;
                    }
                    return damaged(cursor, throwOnDamage, FileFormat.arenaFile(log.directory(), arenaId),
                            log.indexInArena(position), "record checksum mismatch for offset " + cursor.offset
                            + " (its length field says " + len + " bytes)");
                }
                a = arenas.acquire(arenaId);
                if (a == null) {
                    return position < log.earliestPosition() ? null : damaged(cursor, throwOnDamage,
                            FileFormat.arenaFile(log.directory(), arenaId), 0, "arena file is missing while the record"
                            + " at offset " + cursor.offset + " needs it");
                }
                m = a.buffer();
            }
            int end = log.arenaEnd();
            at += FileFormat.RECORD_STAMP_OFFSET;
            long p = position + FileFormat.RECORD_STAMP_OFFSET;
            if (at == end) {
                // The stamp starts the next arena. At most one pin at a time.
                arenas.release(a);
                a = null;
                long next = log.arenaOf(p);
                a = arenas.acquire(next);
                if (a == null) {
                    if (position < log.earliestPosition()) {
                        return null;
                    }
                    return damaged(cursor, throwOnDamage, FileFormat.arenaFile(log.directory(), next), 0,
                            "arena file is missing in the middle of the record at offset " + cursor.offset);
                }
                m = a.buffer();
                at = dataStart;
            }
            stamp = m.getLong(at);
            at += 8;
            p += 8;
            out = into != null && into.length >= len ? into : new byte[len];
            int n = Math.min(end - at, len);
            m.get(at, out, 0, n);
            int done = n;
            p += n;
            while (done < len) {
                // At most one pin at a time: let go of this arena before the next.
                arenas.release(a);
                a = null; // released: the finally below must not release it again if the next acquire throws
                long next = log.arenaOf(p);
                a = arenas.acquire(next);
                if (a == null) {
                    if (position < log.earliestPosition()) {
                        return null; // dropped while the record was being read
                    }
                    return damaged(cursor, throwOnDamage, FileFormat.arenaFile(log.directory(), next), 0,
                            "arena file is missing in the middle of the record at offset " + cursor.offset);
                }
                n = (int) Math.min(len - done, dataBytes);
                a.buffer().get(dataStart, out, done, n);
                done += n;
                p += n;
            }
        } finally {
            if (a != null) {
                arenas.release(a);
            }
        }
        if (!RecordFormat.matches(cursor.crc, cursor.stampBytes, stamp, out, len, cursor.offset, stored)) {
            return damaged(cursor, throwOnDamage, FileFormat.arenaFile(log.directory(), arenaId),
                    log.indexInArena(position), "record checksum mismatch for offset " + cursor.offset);
        }
        cursor.stamp = stamp;
        cursor.length = len;
        if (advance) {
            cursor.offset++;
            cursor.position = position + recordBytes(len);
        }
        return out;
    }

    private static byte[] damaged(Cursor cursor, boolean throwOnDamage, java.nio.file.Path file, long at,
            String what) {
        if (throwOnDamage) {
            throw new QueueCorruptedException(file, at, what);
        }
        cursor.damage = what + " (" + file.getFileName() + " at byte " + at + ")";
        return null;
    }

    /** The arena of {@code position}, remembered in {@code cursor}: no division while it stays in one arena. */
    private long arenaOf(Cursor cursor, long position) {
        long inArena = position - cursor.spanStart;
        if (inArena >= 0 && inArena < dataBytes) {
            return cursor.spanArena;
        }
        long id = log.arenaOf(position);
        cursor.spanArena = id;
        cursor.spanStart = log.arenaStart(id);
        return id;
    }

    /** Pins {@code arenaId} for one read, through the cursor's last arena when it is still mapped. */
    private Arena pin(Cursor cursor, long arenaId) {
        Arena a = cursor.arena;
        if (a != null && a.id == arenaId && a.tryPin()) {
            if (follower == null || !ArenaManager.isReused(a)) {
                return a;
            }
            // A read-only queue whose writer dropped this arena and reused its file as another: the
            // remembered mapping shows that one's records now. The acquire below finds out and
            // forgets the arena, so the read moves to the earliest record as after any drop.
            arenas.release(a);
        }
        a = arenas.acquire(arenaId);
        cursor.arena = a;
        return a;
    }

    /** Moves {@code cursor} past its record without copying the payload; false at the tail. */
    boolean skip(Cursor cursor) {
        long position = cursor.position;
        long tail = log.tailPosition();
        if (position >= tail) {
            return false;
        }
        long arenaId = log.arenaOf(position);
        Arena a = pin(cursor, arenaId);
        if (a == null) {
            throw new QueueCorruptedException(FileFormat.arenaFile(log.directory(), arenaId), 0,
                    "arena file is missing while seeking past offset " + cursor.offset);
        }
        try {
            int at = log.indexInArena(position);
            int len = RecordFormat.length(a.buffer(), at);
            if (len < 0 || recordBytes(len) > tail - position) {
                throw new QueueCorruptedException(a.file, at, "record length " + len + " at offset " + cursor.offset
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
        return positionOf(offset, null);
    }

    /**
     * {@link #positionOf(long)}, starting the scan from {@code hint} (a known record at or before
     * {@code offset}, such as a consumer's committed point) when that is nearer than the index.
     */
    public long positionOf(long offset, StreamPoint hint) {
        for (;;) {
            StreamPoint earliestBefore = log.earliest();
            try {
                return positionOfOnce(offset, hint);
            } catch (QueueCorruptedException e) {
                // A missing arena is damage only if the collector did not just delete it; if it
                // did, look again (and throw IllegalArgumentException if offset went with it).
                if (log.earliest().equals(earliestBefore)) {
                    throw e;
                }
            }
        }
    }

    private long positionOfOnce(long offset, StreamPoint hint) {
        long tail = log.tailOffset();
        StreamPoint first = log.earliest();
        if (offset < first.offset() || offset > tail) {
            throw new IllegalArgumentException("offset " + offset + " is outside the queue: earliest retained is "
                    + first.offset() + ", tail is " + tail + "; seek to an offset in [" + first.offset() + ", "
                    + tail + "]");
        }
        if (offset == tail) {
            StreamPoint exact = appender != null ? appender.tail() : follower.tail();
            if (exact.offset() == offset) {
                return exact.position();
            }
        }
        StreamPoint floor = arenas.floorRecord(offset);
        if (floor == null || floor.offset() < first.offset()) {
            floor = first;
        }
        // The time index has an entry every 64 KiB: start the scan at the last one at or before offset.
        StreamPoint indexed = timeIndex.floorByOffset(offset, first, log.tailOffset(), log.tailPosition());
        if (indexed != null && indexed.offset() > floor.offset() && indexed.offset() <= offset) {
            floor = indexed;
        }
        Cursor c = new Cursor();
        c.moveTo(floor.offset(), floor.position());
        boolean hintNearer = hint != null && hint.offset() <= offset && hint.offset() > c.offset;
        if (hintNearer && hint.position() >= first.position()) {
            c.moveTo(hint.offset(), hint.position());
        }
        while (c.offset < offset && skip(c)) {
            // next header
        }
        return c.position;
    }
}
