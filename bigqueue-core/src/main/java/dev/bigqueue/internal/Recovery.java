package dev.bigqueue.internal;

import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the tail on open. After a clean close the index holds it exactly: no data is read. After
 * a crash, records are validated from the last point known to be whole: the tail hint if the
 * kernel has not rebooted since (a process crash loses nothing from the page cache), else the
 * durable point of the last flush. The scan stops at the first record that fails its checksum.
 * After a process crash, if a valid record follows it (by its length, or as the first record of a
 * later arena), that is damage, reported with file and offset, not a torn tail. After an OS crash
 * the writes since the last flush may have reached the disk in any order, so a hole followed by
 * whole records is expected there and ends the log. Otherwise the log is cut there: the torn
 * bytes are zeroed, arenas after it deleted, and a WARN says what was dropped.
 */
final class Recovery {
    private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);

    private Recovery() {
    }

    /** Returns the recovered tail as {offset, position}; the log's tail is set to it. */
    static long[] recover(RecordLog log, Index index) throws IOException {
        ArenaManager arenas = log.arenas();
        long[] hint = index.tailHint();
        if (index.closedCleanly() && hint != null) {
            log.initTail(hint[0], hint[1]);
            return hint;
        }
        PositionSlots durable = index.durable();
        long[] start;
        String from;
        if (hint != null && index.sameBoot()) {
            start = hint;
            from = "tail hint (process crash: page cache intact)";
        } else if (durable.valid()) {
            start = new long[] {durable.offset(), durable.position()};
            from = "last flush";
        } else {
            start = new long[] {0, 0};
            from = "start of the queue (never flushed)";
        }
        long[] earliest = arenas.earliestRecord();
        if (earliest != null && start[1] < earliest[1]) {
            start = earliest;
        }
        long limit = arenas.highestId() < 0 ? 0 : log.arenaStart(arenas.highestId() + 1);
        // Let reads run up to the end of the last arena while we look for the real tail.
        log.initTail(start[0], Math.max(limit, start[1]));
        Cursor cursor = new Cursor();
        cursor.moveTo(start[0], start[1]);
        QueueCorruptedException stop = null;
        long records = 0;
        while (cursor.position < limit) {
            try {
                if (log.read(cursor, true) == null) {
                    break;
                }
                records++;
            } catch (QueueCorruptedException e) {
                stop = e;
                break;
            }
        }
        if (stop != null && index.sameBoot()) {
            // A process crash keeps the page cache, where records land in order: only the last can
            // be torn. After an OS crash, writes after the last flush reach the disk in any order, so
            // a whole record after a torn one is expected there, and the log ends at the first hole.
            checkNothingValidFollows(log, cursor, stop);
        }
        long dropped = cut(log, cursor.position);
        log.initTail(cursor.offset, cursor.position);
        if (dropped > 0 || (hint != null && hint[0] > cursor.offset)) {
            LOG.warn("queue {} was not closed cleanly: recovered {} record(s) after the {}; cut a torn tail at"
                    + " offset {} (stream position {}), discarding {} byte(s){}", log.directory(), records, from,
                    cursor.offset, cursor.position, dropped,
                    hint != null && hint[0] > cursor.offset
                            ? "; offsets " + cursor.offset + ".." + (hint[0] - 1) + " had not reached the disk"
                            : "");
        } else {
            LOG.info("queue {} was not closed cleanly: recovered {} record(s) after the {}; tail is offset {}",
                    log.directory(), records, from, cursor.offset);
        }
        return new long[] {cursor.offset, cursor.position};
    }

    /**
     * A torn write can only be the last record. If the record after the bad one is valid, the bad
     * one is damage in the middle of the log: refuse to cut valid data away.
     */
    private static void checkNothingValidFollows(RecordLog log, Cursor bad, QueueCorruptedException stop) {
        Arena a = log.arenas().acquire(log.arenaOf(bad.position));
        int length;
        try {
            length = a == null ? -1
                    : a.buffer().getInt(log.indexInArena(bad.position) + FileFormat.RECORD_LENGTH_OFFSET);
        } finally {
            if (a != null) {
                log.arenas().release(a);
            }
        }
        Cursor next = new Cursor();
        boolean validFollows = false;
        if (length >= 0) {
            next.moveTo(bad.offset + 1, bad.position + FileFormat.recordBytes(length));
            validFollows = isValid(log, next);
        }
        // A damaged length hides where the next record starts; a later arena's first record does not.
        for (long id : log.arenas().ids()) {
            if (validFollows || id <= log.arenaOf(bad.position)) {
                continue;
            }
            long[] first = firstRecordSlot(log, id);
            if (first != null) {
                next.moveTo(first[0], first[1]);
                validFollows = first[0] > bad.offset && isValid(log, next);
                break;
            }
        }
        if (validFollows) {
            throw new QueueCorruptedException(stop.file(), stop.fileOffset(), "damaged record at offset "
                    + bad.offset + " is followed by a valid record at offset " + next.offset
                    + ", so it is not a torn tail (" + stop.getCause().getMessage() + ")");
        }
    }

    private static boolean isValid(RecordLog log, Cursor at) {
        try {
            return log.read(at, false) != null;
        } catch (QueueCorruptedException notValidEither) {
            return false;
        }
    }

    /** The first-record slot of arena {@code id} as {offset, position}, or null if it holds none. */
    private static long[] firstRecordSlot(RecordLog log, long id) {
        Arena a = log.arenas().acquire(id);
        if (a == null) {
            return null;
        }
        try {
            int at = FileFormat.ARENA_FIRST_RECORD_SLOT;
            if (PositionSlots.validSequence(a.buffer(), at) == 0) {
                return null;
            }
            return new long[] {a.buffer().getLong(at + FileFormat.SLOT_OFFSET),
                a.buffer().getLong(at + FileFormat.SLOT_POSITION)};
        } finally {
            log.arenas().release(a);
        }
    }

    /**
     * Cuts the log at {@code position}: zeroes what follows in its arena, deletes later arenas.
     *
     * @return how many non-zero bytes were zeroed in the tail's arena (0 when the log simply
     *     ended there).
     */
    private static long cut(RecordLog log, long position) throws IOException {
        ArenaManager arenas = log.arenas();
        long arenaId = log.arenaOf(position);
        long dropped = 0;
        int deletedArenas = 0;
        List<Long> ids = arenas.ids();
        for (int i = ids.size() - 1; i >= 0 && ids.get(i) > arenaId; i--) {
            // Made ahead by the pretoucher, or holding the rest of a torn record: nothing whole.
            // Highest first, so that a crash right here leaves the arena ids without a hole.
            arenas.delete(ids.get(i));
            deletedArenas++;
        }
        if (arenas.exists(arenaId)) {
            if (arenas.firstRecordPosition(arenaId) >= position) {
                arenas.forgetFirstRecord(arenaId);
                Arena a = arenas.acquire(arenaId);
                try {
                    a.buffer().put(FileFormat.ARENA_FIRST_RECORD_SLOT, new byte[FileFormat.SLOT_SIZE]);
                } finally {
                    arenas.release(a);
                }
            }
            Arena a = arenas.acquire(arenaId);
            try {
                MappedByteBuffer m = a.buffer();
                int end = (int) (FileFormat.ARENA_HEADER_SIZE + log.dataBytesPerArena());
                for (int at = log.indexInArena(position); at < end; at += 8) {
                    if (m.getLong(at) != 0) {
                        m.putLong(at, 0);
                        dropped += 8;
                    }
                }
                m.force();
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
