package dev.bigqueue.internal;

import java.util.zip.CRC32C;

/**
 * A reader's place in the record stream: the offset of the next record and its byte position.
 * Not thread-safe; its owner (the queue's own consumer, a named consumer) guards it.
 */
public final class Cursor {
    long offset;
    long position;
    /** The arena last read, as a hint for the next read; not pinned between reads. */
    Arena arena;
    final CRC32C crc = new CRC32C();
    /** Whether reads keep the arena pinned between them (long-lived consumer cursors only). */
    boolean leasing;
    /** The arena pinned across reads, if leasing. */
    Arena leased;
    /** Reads left before leasing again after the ArenaManager asked for the mapping back. */
    int leaseBackoff;
    /** Set by the ArenaManager's request; the owner drops the lease at its next read. */
    volatile boolean revokeRequested;
    /**
     * The arena of the last read ({@link #spanArena}) and the stream position of its first data
     * byte ({@link #spanStart}): positions inside it map to an arena and an index without a 64-bit
     * division (about 20 cycles each, twice per read). MAX_VALUE: none yet.
     */
    long spanArena = -1;
    long spanStart = Long.MAX_VALUE;

    public long offset() {
        return offset;
    }

    public long position() {
        return position;
    }

    public void moveTo(long newOffset, long newPosition) {
        offset = newOffset;
        position = newPosition;
    }
}
