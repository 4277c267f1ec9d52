package dev.bigqueue.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads and writes the 64-byte header of an arena file (drawn in {@link FileFormat}): its identity
 * and its first-record slot, the sparse offset index.
 */
final class ArenaHeader {
    private ArenaHeader() {
    }

    /** A new arena's header: identity set, first-record slot empty (zeros). */
    static ByteBuffer create(long id, long arenaSize) {
        ByteBuffer header = ByteBuffer.allocate(FileFormat.ARENA_HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        header.putLong(0, FileFormat.ARENA_MAGIC);
        header.putInt(FileFormat.ARENA_VERSION_OFFSET, FileFormat.VERSION);
        header.putLong(FileFormat.ARENA_ID_OFFSET, id);
        header.putLong(FileFormat.ARENA_SIZE_OFFSET, arenaSize);
        return header;
    }

    /**
     * The bytes a reused (pooled) file gets before it becomes arena {@code id}, from byte 0: this
     * header with {@code reuses}, the first-record slot and the time index zeros, and the length
     * and checksum of the first record zeros, so that nothing of the old arena is at its start.
     */
    static ByteBuffer reuse(long id, long arenaSize, int reuses) {
        int dataStart = FileFormat.arenaDataStart(arenaSize);
        ByteBuffer b = ByteBuffer.allocate(dataStart + 8).order(ByteOrder.LITTLE_ENDIAN);
        b.put(create(id, arenaSize));
        b.putInt(FileFormat.ARENA_REUSES_OFFSET, reuses);
        b.clear();
        return b;
    }

    /** How many times the file was an arena before this one (0 for a fresh file). */
    static int reuses(ByteBuffer header) {
        return header.getInt(FileFormat.ARENA_REUSES_OFFSET);
    }

    /** What is wrong with {@code header} as the header of arena {@code id}, or null if nothing is. */
    static String problem(ByteBuffer header, long id, long arenaSize) {
        if (header.getLong(0) != FileFormat.ARENA_MAGIC) {
            return "not an arena file (bad magic)";
        }
        int version = header.getInt(FileFormat.ARENA_VERSION_OFFSET);
        if (version != FileFormat.VERSION) {
            return "incompatible arena file version " + version + ", this bigqueue reads version " + FileFormat.VERSION;
        }
        long headerId = header.getLong(FileFormat.ARENA_ID_OFFSET);
        if (headerId != id) {
            return "arena header says id " + headerId + ", the file name says " + id
                    + " (a file renamed, copied or swapped from elsewhere)";
        }
        long size = header.getLong(FileFormat.ARENA_SIZE_OFFSET);
        if (size != arenaSize) {
            return "arena header says size " + size + ", the queue's arenaSize is " + arenaSize;
        }
        return null;
    }

    /**
     * The first record that starts in the arena, or null if none is recorded: the slot is all
     * zeros (none started there yet), or was torn by a crash while it was being written (its check
     * fails; recovery writes it again when it finds the record).
     */
    static StreamPoint firstRecord(ByteBuffer header) {
        int at = FileFormat.ARENA_FIRST_RECORD_SLOT;
        if (PositionSlots.validSequence(header, at) == 0) {
            return null;
        }
        return new StreamPoint(header.getLong(at + FileFormat.SLOT_OFFSET),
                header.getLong(at + FileFormat.SLOT_POSITION));
    }

    /** Writes the first-record slot of a mapped arena; the caller holds a pin. */
    static void writeFirstRecord(ByteBuffer arena, StreamPoint first) {
        PositionSlots.writeSlot(arena, FileFormat.ARENA_FIRST_RECORD_SLOT, first.offset(), first.position(), 1);
    }

    /** Clears the first-record slot of a mapped arena (recovery cut the log before it); the caller holds a pin. */
    static void clearFirstRecord(ByteBuffer arena) {
        arena.put(FileFormat.ARENA_FIRST_RECORD_SLOT, new byte[FileFormat.SLOT_SIZE]);
    }
}
