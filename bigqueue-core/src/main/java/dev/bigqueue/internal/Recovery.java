package dev.bigqueue.internal;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the tail of a queue that was not closed cleanly. It trusts nothing past the last durable
 * point: every record after it is read and checked, from the durable point (or the start, if
 * nothing since the start was ever flushed) forward, and the first record that fails its checks
 * ends the log. What follows it was never made durable (a flush covers everything before its
 * durable point), so a crash or a power loss can have left it in any state; it is cut: the rest of
 * its arena is zeroed, later arenas deleted, and a WARN states what was found there and which
 * offsets went. A process crash leaves at most the record being written torn, so it loses
 * nothing acknowledged; a power loss loses what was not yet flushed, as documented.
 *
 * <p>Recovery also writes the first-record slot of every arena in which it finds the first
 * record, where the crash lost it, so that the sparse index is whole again.
 *
 * <p>Damage before the durable point is not looked for here (that would be a full scan on every
 * open); a read that meets it throws {@code QueueCorruptedException} naming the file and offset.
 */
final class Recovery {
    private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);

    private Recovery() {
    }

    /**
     * Scans from the durable point, cuts the log after the last whole record, and returns the tail.
     *
     * @param durable the durable point of the last flush, or null if none was recorded.
     * @param rebooted whether the kernel has booted since the queue was opened (for the log line).
     */
    static StreamPoint recover(RecordLog log, RecordReader reader, StreamPoint start, StreamPoint durable,
            boolean rebooted) throws IOException {
        ArenaManager arenas = log.arenas();
        StreamPoint from = durable != null && durable.position() >= start.position() ? durable : start;
        String fromWhat = from == durable ? "the last flush (" + durable + ")" : "the earliest message kept (" + start
                + "; nothing after it was ever flushed)";
        long limit = arenas.highestId() < 0 ? from.position() : log.arenaStart(arenas.highestId() + 1);
        Scan scan = scan(log, reader, from, limit);
        StreamPoint tail = scan.end;
        long records = scan.records;
        String found = scan.damage;
        String follows = validAfter(log, reader, tail);
        long zeroed = cut(log, tail);
        String state = rebooted ? "the kernel has rebooted since it was opened" : "the kernel has not rebooted since";
        if (found == null && zeroed == 0 && follows == null) {
            LOG.info("queue {} was not closed cleanly ({}): {} record(s) after {} are whole; the tail is {}",
                    log.directory(), state, records, fromWhat, tail);
        } else {
            LOG.warn("queue {} was not closed cleanly ({}): {} record(s) after {} are whole; at {} the log ends: {};"
                    + " {} non-zero byte(s) after it were zeroed{}. Everything after the last flush may be lost in an"
                    + " OS crash or power loss; what was cut had not been flushed", log.directory(), state, records,
                    fromWhat, tail,
                    found == null ? "zeros follow (nothing was written there, or it never reached the disk)" : found,
                    zeroed,
                    follows == null ? "" : "; " + follows);
        }
        return tail;
    }

    /** Where a scan of whole records stopped, how many it read, and what it found there (null: zeros). */
    static final class Scan {
        final StreamPoint end;
        final long records;
        final String damage;
        final List<Long> firstRecordsWritten;

        Scan(StreamPoint end, long records, String damage, List<Long> firstRecordsWritten) {
            this.end = end;
            this.records = records;
            this.damage = damage;
            this.firstRecordsWritten = firstRecordsWritten;
        }
    }

    /**
     * Reads and checks every record from {@code from} up to {@code limit}, stopping at the first
     * that fails; writes the first-record slot of every arena in which it finds the first record
     * and the slot lost it (recovery and repair both scan this way).
     */
    static Scan scan(RecordLog log, RecordReader reader, StreamPoint from, long limit) {
        ArenaManager arenas = log.arenas();
        Cursor cursor = new Cursor();
        cursor.moveTo(from);
        long records = 0;
        long noted = -1;
        List<Long> written = new ArrayList<>();
        for (;;) {
            StreamPoint at = cursor.point();
            if (reader.read(cursor, limit, true, false) == null) {
                break;
            }
            records++;
            long arena = log.arenaOf(at.position());
            if (arena != noted) {
                noted = arena;
                StreamPoint first = arenas.firstRecord(arena);
                if (first == null || first.position() > at.position()) {
                    Arena a = arenas.acquire(arena);
                    try {
                        ArenaHeader.writeFirstRecord(a.buffer(), at);
                        arenas.setFirstRecord(arena, at);
                    } finally {
                        arenas.release(a);
                    }
                    written.add(arena);
                }
            }
        }
        return new Scan(cursor.point(), records, cursor.damage, written);
    }

    /**
     * What whole records follow the end, found through the first-record slots of later arenas (a
     * damaged length hides where the next record would start); null if none does.
     */
    private static String validAfter(RecordLog log, RecordReader reader, StreamPoint end) {
        ArenaManager arenas = log.arenas();
        for (long id : arenas.ids()) {
            StreamPoint first = arenas.firstRecord(id);
            if (id <= log.arenaOf(end.position()) || first == null || first.offset() <= end.offset()) {
                continue;
            }
            Cursor probe = new Cursor();
            probe.moveTo(first);
            long limit = log.arenaStart(arenas.highestId() + 1);
            if (reader.read(probe, limit, false, false) != null) {
                return "whole records follow it from " + first + " in " + FileFormat.arenaFileName(id)
                        + " (written after the last flush, and cut with the rest)";
            }
        }
        return null;
    }

    /**
     * Cuts the log at {@code end}: zeroes what follows in its arena, deletes later arenas.
     *
     * @return how many non-zero bytes were zeroed in the tail's arena.
     */
    static long cut(RecordLog log, StreamPoint end) throws IOException {
        ArenaManager arenas = log.arenas();
        long position = end.position();
        long arenaId = log.arenaOf(position);
        long dropped = 0;
        int deletedArenas = 0;
        List<Long> ids = arenas.ids();
        for (int i = ids.size() - 1; i >= 0 && ids.get(i) > arenaId; i--) {
            // Made ahead by the pretoucher, or holding the rest of a torn record, or records after
            // the damaged one: never pooled (see ArenaManager.discard). Highest first, so that a
            // crash right here leaves the arena ids without a hole.
            arenas.discard(ids.get(i));
            deletedArenas++;
        }
        if (arenas.exists(arenaId)) {
            Arena a = arenas.acquire(arenaId);
            try {
                MappedByteBuffer m = a.buffer();
                StreamPoint first = arenas.firstRecord(arenaId);
                if (first != null && first.position() >= position) {
                    arenas.forgetFirstRecord(arenaId);
                    ArenaHeader.clearFirstRecord(m);
                }
                TimeIndex.clearFrom(m, log.arenaSize(), position);
                // Zeros, so that a later recovery never takes bytes of a cut record for a new one.
                for (int at = log.indexInArena(position); at < log.arenaEnd(); at += 8) {
                    if (m.getLong(at) != 0) {
                        m.putLong(at, 0);
                        dropped += 8;
                    }
                }
                a.mapping().force();
            } finally {
                arenas.release(a);
            }
        }
        if (deletedArenas > 0) {
            NativeIO.syncDirectory(log.directory());
            LOG.debug("queue {}: deleted {} arena file(s) after the recovered tail", log.directory(), deletedArenas);
        }
        return dropped;
    }
}
