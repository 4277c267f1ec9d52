package dev.bigqueue.internal;

import static dev.bigqueue.internal.FileFormat.RECORD_CHECKSUM_OFFSET;
import static dev.bigqueue.internal.FileFormat.RECORD_LENGTH_OFFSET;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Writes and checks the header of one record (drawn in {@link FileFormat}). <b>The commit rule:</b>
 * a record exists only if its stored checksum equals CRC32C of its stamp and payload mixed with
 * {@link FileFormat#recordSalt} of its own offset and length; zeros, a torn write, or a stale record
 * of another offset never pass.
 */
final class RecordFormat {
    private RecordFormat() {
    }

    /** The checksum stored for a payload whose CRC32C is {@code payloadCrc}. */
    static int storedChecksum(int payloadCrc, long offset, int length) {
        return payloadCrc ^ FileFormat.recordSalt(offset, length);
    }

    /** Writes a record header at {@code at}; the payload goes after it. The caller holds a pin. */
    static void writeHeader(ByteBuffer arena, int at, int length, int storedChecksum) {
        arena.putInt(at + RECORD_LENGTH_OFFSET, length);
        arena.putInt(at + RECORD_CHECKSUM_OFFSET, storedChecksum);
    }

    static int length(ByteBuffer arena, int at) {
        return arena.getInt(at + RECORD_LENGTH_OFFSET);
    }

    static int storedChecksum(ByteBuffer arena, int at) {
        return arena.getInt(at + RECORD_CHECKSUM_OFFSET);
    }

    private static final java.lang.invoke.VarHandle LONG_LE = java.lang.invoke.MethodHandles.byteArrayViewVarHandle(
            long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    /**
     * {@link #matches} for a record copied whole: its 8-byte stamp (as stored, little-endian) then its
     * {@code length} payload bytes, from index 0 of {@code stampAndPayload}.
     */
    static boolean matchesStampAndPayload(CRC32C crc, byte[] stampAndPayload, int length, long offset, int stored) {
        crc.reset();
        crc.update(stampAndPayload, 0, 8 + length);
        return storedChecksum((int) crc.getValue(), offset, length) == stored;
    }

    /** Whether {@code stamp} and {@code payload} with the stored checksum are the record of {@code offset}. */
    static boolean matches(CRC32C crc, byte[] scratch, long stamp, byte[] payload, int length, long offset,
            int stored) {
        crc.reset();
        LONG_LE.set(scratch, 0, stamp);
        crc.update(scratch, 0, 8);
        crc.update(payload, 0, length);
        return storedChecksum((int) crc.getValue(), offset, length) == stored;
    }
}
