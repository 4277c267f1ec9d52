package dev.bigqueue.consumer;

import dev.bigqueue.Message;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * What a snapshot remembers of the record just below its offset, to tell at load time whether it
 * was written for this queue: the record's timestamp and a CRC32C of its key. The core offers no
 * queue identity through its public API, and a snapshot of another queue (a copied or restored
 * {@code latest/}) whose offset falls inside this queue would otherwise load that queue's values.
 * Cheap enough to take for every record the follower passes: the value is not read.
 *
 * @param offset the record's offset.
 * @param timestamp its timestamp in milliseconds.
 * @param keyCrc CRC32C of its key's bytes; 0 without a key.
 */
record RecordMark(long offset, long timestamp, int keyCrc) {

    static RecordMark of(Message m) {
        return of(m.offset(), m.timestamp().toEpochMilli(), m.key());
    }

    static RecordMark of(long offset, long timestamp, byte[] key) {
        return new RecordMark(offset, timestamp, key == null ? 0 : crc(key));
    }

    static RecordMark of(long offset, long timestamp, String key) {
        return new RecordMark(offset, timestamp, crc(key.getBytes(StandardCharsets.UTF_8)));
    }

    private static int crc(byte[] key) {
        CRC32C c = new CRC32C();
        c.update(key);
        return (int) c.getValue();
    }

    /** Whether {@code record} is the same record as this one: same offset, timestamp and key. */
    boolean matches(RecordMark record) {
        return record.offset == offset && record.timestamp == timestamp && record.keyCrc == keyCrc;
    }

    @Override
    public String toString() {
        return "record " + offset + " stamped " + timestamp + " with key CRC " + Integer.toHexString(keyCrc);
    }
}
