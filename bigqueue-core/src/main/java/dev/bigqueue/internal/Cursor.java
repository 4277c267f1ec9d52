package dev.bigqueue.internal;

import java.util.zip.CRC32C;

/**
 * A reader's place in the record stream: the offset of the next record and its byte position.
 * Not thread-safe; its owner (a consumer, under its lock; recovery; a seek) guards it.
 */
public final class Cursor {
    long offset;
    long position;
    /** The arena last read, as a hint for the next read: never pinned between reads. */
    Arena arena;
    final CRC32C crc = new CRC32C();
    /** Scratch for the stamp's bytes in the checksum. */
    final byte[] stampBytes = new byte[8];
    /** The stamp (timestamp and flags) of the record the last successful read returned. */
    long stamp;
    /**
     * The arena of the last read ({@link #spanArena}) and the stream position of its first data
     * byte ({@link #spanStart}): positions inside it map to an arena and an index without a 64-bit
     * division (about 20 cycles each, twice per read). MAX_VALUE: none yet.
     */
    long spanArena = -1;
    long spanStart = Long.MAX_VALUE;
    /** The payload length of the record the last successful read returned. */
    int length;
    /** What the last read found wrong, when it was asked not to throw (recovery); else null. */
    String damage;

    public long offset() {
        return offset;
    }

    /** The stamp of the record the last read returned: timestamp in bits 63..8, flags in 7..0. */
    public long stamp() {
        return stamp;
    }

    /** The payload length of the record the last successful read returned (its array may be longer). */
    public int length() {
        return length;
    }

    public long position() {
        return position;
    }

    public void moveTo(long newOffset, long newPosition) {
        offset = newOffset;
        position = newPosition;
    }

    public void moveTo(StreamPoint point) {
        moveTo(point.offset(), point.position());
    }

    public StreamPoint point() {
        return new StreamPoint(offset, position);
    }
}
