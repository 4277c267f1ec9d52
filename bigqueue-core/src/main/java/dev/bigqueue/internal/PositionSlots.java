package dev.bigqueue.internal;

import static dev.bigqueue.internal.FileFormat.SLOT_CHECK;
import static dev.bigqueue.internal.FileFormat.SLOT_OFFSET;
import static dev.bigqueue.internal.FileFormat.SLOT_POSITION;
import static dev.bigqueue.internal.FileFormat.SLOT_SEQUENCE;
import static dev.bigqueue.internal.FileFormat.SLOT_SIZE;

import java.nio.ByteBuffer;

/**
 * A pair of {@link FileFormat slots} holding one (offset, position) that a crash cannot tear:
 * each write goes to the slot not holding the newest value, so a write cut short leaves the other
 * slot, one step older, intact. Reading takes the valid slot with the larger sequence. An older
 * value is always a safe answer: it is at or before where the owner was.
 *
 * <p>Not thread-safe: the owner serialises writes. The buffer may be a mapping: the caller holds
 * its pin around every read and write ({@link Mapping}).
 */
public final class PositionSlots {
    private final ByteBuffer buffer;
    private final int base;
    private long sequence;
    private long offset;
    private long position;

    /**
     * Reads the two slots (64 bytes) at {@code base}. If neither is valid (a new file) the value
     * reads as offset 0 at position 0 and {@link #valid()} is false.
     */
    public PositionSlots(ByteBuffer buffer, int base) {
        this.buffer = buffer;
        this.base = base;
        long seqA = validSequence(buffer, base);
        long seqB = validSequence(buffer, base + SLOT_SIZE);
        int newest = seqA >= seqB ? base : base + SLOT_SIZE;
        this.sequence = Math.max(seqA, seqB);
        if (sequence > 0) {
            this.offset = buffer.getLong(newest + SLOT_OFFSET);
            this.position = buffer.getLong(newest + SLOT_POSITION);
        }
    }

    /** Whether either slot held a valid value when read. */
    public boolean valid() {
        return sequence > 0;
    }

    /** The value as a point, or null if neither slot held a valid one. */
    public StreamPoint point() {
        return sequence > 0 ? new StreamPoint(offset, position) : null;
    }

    /**
     * The newest valid slot of the pair at {@code base} as it is in {@code buffer} now, or null:
     * for a reader of slots another process writes (a slot it catches mid-write fails its check,
     * and the other one, older, is taken).
     */
    static StreamPoint readNow(ByteBuffer buffer, int base) {
        return new PositionSlots(buffer, base).point();
    }

    /**
     * Whether the two slots at {@code base} are all zeros: never written. A pair that is neither
     * valid nor blank was damaged.
     */
    static boolean blank(ByteBuffer buffer, int base) {
        for (int i = 0; i < 2 * SLOT_SIZE; i += 8) {
            if (buffer.getLong(base + i) != 0) {
                return false;
            }
        }
        return true;
    }

    public long offset() {
        return offset;
    }

    public long position() {
        return position;
    }

    /** Stores (offset, position) in the older slot. */
    public void write(long newOffset, long newPosition) {
        long seq = sequence + 1;
        writeSlot(buffer, base + (int) (seq & 1) * SLOT_SIZE, newOffset, newPosition, seq);
        sequence = seq;
        offset = newOffset;
        position = newPosition;
    }

    /** Writes one slot in place; used for the arena's write-once first-record slot. */
    static void writeSlot(ByteBuffer buffer, int at, long offset, long position, long sequence) {
        buffer.putLong(at + SLOT_OFFSET, offset);
        buffer.putLong(at + SLOT_POSITION, position);
        buffer.putLong(at + SLOT_SEQUENCE, sequence);
        buffer.putLong(at + SLOT_CHECK, FileFormat.slotCheck(offset, position, sequence));
    }

    /** The slot's sequence if its check holds, else 0. */
    static long validSequence(ByteBuffer buffer, int at) {
        long seq = buffer.getLong(at + SLOT_SEQUENCE);
        if (seq <= 0) {
            return 0;
        }
        long check = FileFormat.slotCheck(buffer.getLong(at + SLOT_OFFSET), buffer.getLong(at + SLOT_POSITION), seq);
        return check == buffer.getLong(at + SLOT_CHECK) ? seq : 0;
    }
}
