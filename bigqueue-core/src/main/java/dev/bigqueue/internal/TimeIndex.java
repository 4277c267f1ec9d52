package dev.bigqueue.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The sparse time index in each arena's header (drawn in {@link FileFormat}): entry k of an arena
 * describes the first record that starts in its k-th 64 KiB of data, with the largest timestamp
 * of every record up to and including it. The appender writes an entry before the record it
 * describes; readers trust an entry only if its check passes, it lies in its own 64 KiB of its
 * arena, and before the published tail and at or after the earliest record; and the record it
 * points at must then pass its own checksum (which mixes in its offset) when it is read. Anything
 * else is ignored: the index is derived data, and a missing entry only makes a scan longer.
 *
 * <p>Lookups read arena headers with positional reads (no mapping, no pin): a binary search over
 * the arenas by their first entry, one over the entries of the arena found, then a scan of the
 * records from that entry, which ends at the next entry (at most 64 KiB and one record later).
 */
public final class TimeIndex {
    /** One entry: largest timestamp so far, and the record it describes. */
    public record Entry(long maxTimestamp, long offset, long position) {
    }

    private final RecordLog log;
    private final RecordReader reader;
    private final long dataBytes;
    private final int entries;

    TimeIndex(RecordLog log, RecordReader reader) {
        this.log = log;
        this.reader = reader;
        this.dataBytes = log.dataBytesPerArena();
        this.entries = FileFormat.timeEntries(log.arenaSize());
    }

    /** Writes entry {@code k} of a mapped arena; the caller holds a pin (the writer). */
    static void writeEntry(ByteBuffer arena, int k, long maxTimestamp, long offset, long position) {
        int at = FileFormat.TIME_INDEX_OFFSET + k * FileFormat.TIME_ENTRY_SIZE;
        arena.putLong(at + FileFormat.TIME_ENTRY_MAX_TIMESTAMP, maxTimestamp);
        arena.putLong(at + FileFormat.TIME_ENTRY_OFFSET, offset);
        arena.putLong(at + FileFormat.TIME_ENTRY_POSITION, position);
        arena.putLong(at + FileFormat.TIME_ENTRY_CHECK, FileFormat.timeEntryCheck(maxTimestamp, offset, position));
    }

    /**
     * Zeroes the entries of a mapped arena that describe records at or after {@code position}:
     * recovery or repair cut the log there. The caller holds a pin.
     */
    static void clearFrom(ByteBuffer arena, long arenaSize, long position) {
        int n = FileFormat.timeEntries(arenaSize);
        for (int k = 0; k < n; k++) {
            int at = FileFormat.TIME_INDEX_OFFSET + k * FileFormat.TIME_ENTRY_SIZE;
            long check = arena.getLong(at + FileFormat.TIME_ENTRY_CHECK);
            if (check == 0 && arena.getLong(at + FileFormat.TIME_ENTRY_POSITION) == 0) {
                continue;
            }
            if (arena.getLong(at + FileFormat.TIME_ENTRY_POSITION) >= position || check != FileFormat.timeEntryCheck(
                    arena.getLong(at), arena.getLong(at + FileFormat.TIME_ENTRY_OFFSET),
                    arena.getLong(at + FileFormat.TIME_ENTRY_POSITION))) {
                arena.put(at, new byte[FileFormat.TIME_ENTRY_SIZE]);
            }
        }
    }

    /** Entry {@code k} of arena {@code id} from its bytes, or null if it is empty, torn, foreign or not yet usable. */
    private Entry entry(ByteBuffer b, int base, long id, int k, StreamPoint earliest, long tailOffset,
            long tailPosition) {
        int at = base + k * FileFormat.TIME_ENTRY_SIZE;
        long max = b.getLong(at + FileFormat.TIME_ENTRY_MAX_TIMESTAMP);
        long offset = b.getLong(at + FileFormat.TIME_ENTRY_OFFSET);
        long position = b.getLong(at + FileFormat.TIME_ENTRY_POSITION);
        long check = b.getLong(at + FileFormat.TIME_ENTRY_CHECK);
        if (check == 0 || check != FileFormat.timeEntryCheck(max, offset, position)) {
            return null;
        }
        long from = id * dataBytes + (long) k * FileFormat.TIME_INDEX_INTERVAL;
        if (position < from || position >= Math.min(from + FileFormat.TIME_INDEX_INTERVAL, (id + 1) * dataBytes)) {
            return null; // written for another arena (a reused file) or another place
        }
        if (position < earliest.position() || offset < earliest.offset() || position >= tailPosition
                || offset >= tailOffset) {
            return null;
        }
        return new Entry(max, offset, position);
    }

    /** Reads the whole time index of arena {@code id}; null if the file is gone. */
    private ByteBuffer readIndex(long id, int count) throws IOException {
        Path file = FileFormat.arenaFile(log.directory(), id);
        ByteBuffer b = ByteBuffer.allocate(count * FileFormat.TIME_ENTRY_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        // Uninterruptible: an interrupted caller must not close the channel under the read.
        boolean found = Uninterruptible.call(() -> {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                while (b.hasRemaining()) {
                    if (ch.read(b, FileFormat.TIME_INDEX_OFFSET + b.position()) < 0) {
                        break;
                    }
                }
                return true;
            } catch (NoSuchFileException e) {
                return false;
            }
        });
        if (!found) {
            return null;
        }
        b.clear();
        return b;
    }

    /**
     * The valid entries of arena {@code id} as of now, in order, for inspection (the CLI's
     * {@code inspect}); empty if it has none or its file is gone.
     */
    public List<Entry> entries(long id) throws IOException {
        StreamPoint earliest = log.earliest();
        long tailOffset = log.tailOffset();
        long tailPosition = log.tailPosition();
        ByteBuffer all = readIndex(id, entries);
        List<Entry> valid = new ArrayList<>();
        for (int k = 0; all != null && k < entries; k++) {
            Entry e = entry(all, 0, id, k, earliest, tailOffset, tailPosition);
            if (e != null) {
                valid.add(e);
            }
        }
        return valid;
    }

    /** The first valid entry of arena {@code id} (reading entry 0 alone first), or null. */
    Entry firstEntry(long id, StreamPoint earliest, long tailOffset, long tailPosition) throws IOException {
        ByteBuffer one = readIndex(id, 1);
        if (one == null) {
            return null;
        }
        Entry e = entry(one, 0, id, 0, earliest, tailOffset, tailPosition);
        if (e != null) {
            return e;
        }
        ByteBuffer all = readIndex(id, entries);
        if (all == null) {
            return null;
        }
        for (int k = 1; k < entries; k++) {
            e = entry(all, 0, id, k, earliest, tailOffset, tailPosition);
            if (e != null) {
                return e;
            }
        }
        return null;
    }

    /**
     * The last valid entry at or before the place {@code before} says: in the arenas from
     * {@code earliest}'s to the tail's, by binary search. {@code before} is monotone along the
     * log (true up to some entry, false after).
     */
    private Entry lastEntryWhere(java.util.function.Predicate<Entry> before, StreamPoint earliest, long tailOffset,
            long tailPosition) throws IOException {
        long lo = log.arenaOf(earliest.position());
        long hi = tailPosition == 0 ? -1 : log.arenaOf(tailPosition - 1);
        // Binary search over the arenas by their first valid entry: the last arena whose first entry is "before".
        Entry found = null;
        long foundArena = -1;
        long l = lo;
        long h = hi;
        while (l <= h) {
            long mid = (l + h) >>> 1;
            Entry e = null;
            long probe = mid;
            // An arena without an entry (one record spans it) defers to the nearest one below.
            while (probe >= l && (e = firstEntry(probe, earliest, tailOffset, tailPosition)) == null) {
                probe--;
            }
            if (e == null) {
                l = mid + 1;
                continue;
            }
            if (before.test(e)) {
                found = e;
                foundArena = probe;
                l = mid + 1;
            } else {
                h = probe - 1;
            }
        }
        if (found == null) {
            return null;
        }
        // Then over the entries of that arena.
        ByteBuffer all = readIndex(foundArena, entries);
        if (all == null) {
            return found;
        }
        int kl = 0;
        int kh = entries - 1;
        while (kl <= kh) {
            int mid = (kl + kh) >>> 1;
            Entry e = null;
            int probe = mid;
            while (probe >= kl && (e = entry(all, 0, foundArena, probe, earliest, tailOffset, tailPosition)) == null) {
                probe--;
            }
            if (e == null) {
                kl = mid + 1;
                continue;
            }
            if (before.test(e)) {
                if (e.offset() > found.offset()) {
                    found = e;
                }
                kl = mid + 1;
            } else {
                kh = probe - 1;
            }
        }
        return found;
    }

    /**
     * The first offset whose timestamp is at least {@code millis}, judged by the largest
     * timestamp seen so far (Kafka's rule); {@code tail.offset()} if there is none.
     */
    long offsetForTime(long millis, StreamPoint tail) throws IOException {
        for (;;) {
            StreamPoint earliest = log.earliest();
            if (earliest.offset() >= tail.offset()) {
                return tail.offset();
            }
            Entry start = lastEntryWhere(e -> e.maxTimestamp() < millis, earliest, tail.offset(), tail.position());
            Cursor c = new Cursor();
            long max = Long.MIN_VALUE;
            if (start == null) {
                c.moveTo(earliest);
            } else {
                c.moveTo(start.offset(), start.position());
                max = start.maxTimestamp();
            }
            for (;;) {
                long offset = c.offset();
                byte[] m = reader.read(c, tail.position(), true, false);
                if (m == null) {
                    if (c.damage != null) {
                        if (start != null) {
                            // The entry did not hold: scan from the earliest record instead.
                            start = null;
                            c.moveTo(log.earliest());
                            max = Long.MIN_VALUE;
                            continue;
                        }
                        throw new dev.bigqueue.QueueCorruptedException(log.directory(), c.position(), c.damage);
                    }
                    if (c.position() >= tail.position()) {
                        return tail.offset();
                    }
                    break; // collected meanwhile: look again
                }
                max = Math.max(max, MessageCodec.millisOf(c.stamp));
                if (max >= millis) {
                    return offset;
                }
            }
        }
    }

    /** The last indexed record at or before {@code offset}, or null: where a seek starts its scan. */
    StreamPoint floorByOffset(long offset, StreamPoint earliest, long tailOffset, long tailPosition) {
        try {
            Entry e = lastEntryWhere(x -> x.offset() <= offset, earliest, tailOffset, tailPosition);
            return e == null ? null : new StreamPoint(e.offset(), e.position());
        } catch (IOException ex) {
            return null; // the index is an optimisation: the caller scans from the arena's first record
        }
    }

    /**
     * Whether every record from {@code earliest} up to {@code end} (excluded) has a timestamp
     * below {@code millis}: from the last entry before {@code end} and the records after it. False
     * when a record cannot be read (damage keeps data, it never makes it expire).
     */
    boolean allBefore(long millis, StreamPoint earliest, StreamPoint end) throws IOException {
        if (end.position() <= earliest.position()) {
            return true;
        }
        Entry e = lastEntryWhere(x -> true, earliest, end.offset(), end.position());
        Cursor c = new Cursor();
        if (e == null) {
            c.moveTo(earliest);
        } else if (e.maxTimestamp() >= millis) {
            return false;
        } else {
            c.moveTo(e.offset(), e.position());
        }
        while (reader.read(c, end.position(), true, false) != null) {
            if (MessageCodec.millisOf(c.stamp) >= millis) {
                return false;
            }
        }
        return c.damage == null && c.position() >= end.position();
    }

    /**
     * The largest timestamp of the records before {@code tail}: from the last entry before it and
     * the records after that entry (open, once). Long.MIN_VALUE if there are none.
     */
    long maxTimestamp(StreamPoint earliest, StreamPoint tail) throws IOException {
        if (tail.position() <= earliest.position()) {
            return Long.MIN_VALUE;
        }
        Entry e = lastEntryWhere(x -> true, earliest, tail.offset(), tail.position());
        Cursor c = new Cursor();
        long max = Long.MIN_VALUE;
        if (e == null) {
            c.moveTo(earliest);
        } else {
            c.moveTo(e.offset(), e.position());
            max = e.maxTimestamp();
        }
        while (reader.read(c, tail.position(), true, false) != null) {
            max = Math.max(max, MessageCodec.millisOf(c.stamp));
        }
        return max;
    }

}
