package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.internal.MessageCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Messages with key, headers, timestamp: every field round-trips, across arenas and reopen. */
class MessageTest {
    private static final QueueConfig SMALL = QueueConfig.builder().arenaSize(4096).pretouch(false).build();

    @TempDir
    Path dir;

    /** The messages the round trip writes; message i is at offset i. */
    static List<Message> samples() {
        List<Message> m = new ArrayList<>();
        // A record of 3992 bytes in the stream fills the first arena (4000 data bytes) up to its last 8:
        // the next record's length and checksum end the arena, and its stamp starts the next one.
        m.add(Message.builder().timestamp(Instant.ofEpochMilli(1_000)).value(new byte[3992 - 16]).build());
        m.add(Message.builder().key("straddle").header("h", "v").timestamp(Instant.ofEpochMilli(2_000))
                .value("the stamp of this record starts arena 1").build());
        m.add(Message.builder().key(new byte[0]).value(new byte[0]).timestamp(Instant.ofEpochMilli(-5)).build());
        m.add(Message.builder().header("dup", "1").header("dup", new byte[0]).header("ñame-ü", "x")
                .timestamp(Instant.ofEpochMilli(Message.MAX_TIMESTAMP_MILLIS)).value("headers only").build());
        byte[] big = new byte[9_000];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 7);
        }
        m.add(Message.builder().key("big").header("k", big).timestamp(Instant.ofEpochMilli(3_000)).value(big)
                .build());
        m.add(Message.builder().key("gone").value((byte[]) null).timestamp(Instant.ofEpochMilli(4_000)).build());
        m.add(Message.builder().timestamp(Instant.ofEpochMilli(-Message.MAX_TIMESTAMP_MILLIS)).value("plain, old")
                .build());
        return m;
    }

    static void assertSame(Message expected, long offset, Message actual) {
        assertEquals(offset, actual.offset());
        assertEquals(expected.timestamp(), actual.timestamp(), "timestamp of " + offset);
        assertArrayEquals(expected.key(), actual.key(), "key of " + offset);
        assertEquals(expected.headers(), actual.headers(), "headers of " + offset);
        assertArrayEquals(expected.value(), actual.value(), "value of " + offset);
        assertEquals(expected.isTombstone(), actual.isTombstone());
    }

    @Test
    void everyField_roundTrips_acrossArenasAndReopen_andTheByteApiSeesTheValue() {
        List<Message> samples = samples();
        long before = System.currentTimeMillis();
        try (BigQueue q = BigQueue.open(dir, SMALL)) {
            for (int i = 0; i < samples.size(); i++) {
                assertEquals(i, q.enqueue(samples.get(i)));
            }
            assertEquals(samples.size(), q.enqueue("plain bytes".getBytes(StandardCharsets.UTF_8)));
            assertEquals(samples.size() + 1, q.enqueue(Message.of("message of")));
            Message first = q.peekMessage();
            assertSame(samples.get(0), 0, first);
        }
        long after = System.currentTimeMillis();
        try (BigQueue q = BigQueue.open(dir, SMALL)) {
            for (int i = 0; i < samples.size(); i++) {
                assertSame(samples.get(i), i, q.dequeueMessage());
            }
            Message plain = q.dequeueMessage();
            assertNull(plain.key());
            assertTrue(plain.headers().isEmpty());
            assertEquals("plain bytes", plain.valueString());
            long ts = plain.timestamp().toEpochMilli();
            assertTrue(ts >= before && ts <= after, "a byte[] enqueue is stamped with the enqueue time");
            assertEquals("message of", q.dequeueMessage().valueString());
            assertNull(q.dequeueMessage());
        }
        // The byte[] API on the same records: the value; a tombstone reads as an empty array.
        Path other = dir.resolveSibling(dir.getFileName() + "-bytes");
        try (BigQueue q = BigQueue.open(other, SMALL)) {
            for (Message m : samples) {
                q.enqueue(m);
            }
            for (Message m : samples) {
                byte[] v = q.dequeue();
                assertArrayEquals(m.isTombstone() ? new byte[0] : m.value(), v);
            }
        }
    }

    @Test
    void aPlainMessage_costsExactlyEightBytesMoreThanInVersion1() {
        for (int n = 0; n < 300; n++) {
            long v1 = (8 + n + 7) & ~7L;
            assertEquals(v1 + 8, FileFormat.recordBytes(n), "payload " + n);
        }
    }

    @Test
    void takeAndTimedDequeue_returnMessages() throws InterruptedException {
        try (BigQueue q = BigQueue.open(dir, SMALL)) {
            assertNull(q.dequeueMessage(java.time.Duration.ZERO));
            q.enqueue(Message.builder().key("k").value("v").build());
            q.enqueue("w".getBytes(StandardCharsets.UTF_8));
            assertEquals("k", q.dequeueMessage(java.time.Duration.ofSeconds(5)).keyString());
            assertEquals("w", q.takeMessage().valueString());
        }
    }

    @Test
    void builder_validates_withClearErrors() {
        assertTrue(assertThrows(NullPointerException.class, () -> Message.builder().key((String) null))
                .getMessage().contains("key"));
        assertTrue(assertThrows(NullPointerException.class, () -> Message.builder().key((byte[]) null))
                .getMessage().contains("key"));
        assertTrue(assertThrows(NullPointerException.class, () -> Message.builder().header(null, new byte[0]))
                .getMessage().contains("header name"));
        assertTrue(assertThrows(NullPointerException.class, () -> Message.builder().header("h", (byte[]) null))
                .getMessage().contains("'h'"));
        assertThrows(IllegalArgumentException.class, () -> Message.builder().header("", new byte[0]));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Message.builder().header("x".repeat(Message.MAX_HEADER_NAME_BYTES + 1), new byte[0]))
                .getMessage().contains(String.valueOf(Message.MAX_HEADER_NAME_BYTES)));
        // Counted in UTF-8 bytes: 600 two-byte characters are 1200 bytes.
        assertThrows(IllegalArgumentException.class, () -> Message.builder().header("é".repeat(600), new byte[0]));
        Message.Builder many = Message.builder();
        for (int i = 0; i < Message.MAX_HEADERS; i++) {
            many.header("h" + i, new byte[0]);
        }
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
                () -> many.header("one-more", new byte[0]));
        assertTrue(tooMany.getMessage().contains("at most " + Message.MAX_HEADERS), tooMany.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Message.builder().timestamp(Instant.ofEpochMilli(Message.MAX_TIMESTAMP_MILLIS + 1)))
                .getMessage().contains("out of range"));
        assertThrows(IllegalArgumentException.class, () -> Message.builder().timestamp(Instant.MAX));
        assertTrue(assertThrows(IllegalStateException.class, () -> Message.builder().key("k").build())
                .getMessage().contains("value"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Message.builder().value((byte[]) null).build())
                .getMessage().contains("tombstone"));
        assertThrows(NullPointerException.class, () -> Message.of((byte[]) null));
    }

    @Test
    void hugeValues_areFine_andToStringStaysShort() {
        byte[] huge = new byte[64 << 20];
        Message m = Message.builder().key("k".repeat(10_000)).header("h", huge).value(huge).build();
        assertTrue(m.toString().length() < 400, m.toString());
        assertTrue(m.toString().contains("67108864 bytes"), m.toString());
        assertEquals(m, m.toBuilder().build());
        assertEquals(m.hashCode(), m.toBuilder().build().hashCode());
        assertNotEquals(m, Message.of(huge));
        assertEquals(-1, m.offset());
        assertNull(m.timestamp());
        assertTrue(Message.of("x").toString().contains("\"x\""));
    }

    @Test
    void headersAreUnmodifiable_andValuesAreCopied() {
        byte[] v = {1, 2, 3};
        Message m = Message.builder().header("a", v).value(v).build();
        v[0] = 9;
        assertEquals(1, m.value()[0]);
        assertEquals(1, m.headers().get(0).value()[0]);
        m.value()[1] = 9;
        assertEquals(2, m.value()[1]);
        assertThrows(UnsupportedOperationException.class, () -> m.headers().add(Header.of("b", "c")));
    }
    @Test
    void textWithoutAUtf8Form_isRefusedWhereverItIsGiven_neverStoredAsQuestionMarks() {
        String lone = "a\uD800b";
        String[] errors = {
            assertThrows(IllegalArgumentException.class, () -> Message.builder().key(lone)).getMessage(),
            assertThrows(IllegalArgumentException.class, () -> Message.builder().header(lone, "v")).getMessage(),
            assertThrows(IllegalArgumentException.class, () -> Message.builder().header("h", lone)).getMessage(),
            assertThrows(IllegalArgumentException.class, () -> Message.builder().value(lone)).getMessage(),
            assertThrows(IllegalArgumentException.class, () -> Message.of(lone)).getMessage(),
            assertThrows(IllegalArgumentException.class, () -> Header.of(lone, "v")).getMessage(),
            assertThrows(IllegalArgumentException.class, () -> Header.of("h", lone)).getMessage(),
        };
        for (String e : errors) {
            assertTrue(e.contains("unpaired surrogate \\uD800 at index 1"), e);
        }
        try (BigQueue q = BigQueue.open(dir)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> q.enqueueString(lone));
            assertTrue(e.getMessage().startsWith("message is not well-formed text"), e.getMessage());
            assertEquals(0, q.size(), "nothing stored");
            // A surrogate pair is one code point: fine.
            String pair = "k\uD83D\uDE00";
            q.enqueue(Message.builder().key(pair).header(pair, pair).value(pair).build());
            Message back = q.dequeueMessage();
            assertEquals(pair, back.keyString());
            assertEquals(pair, back.headers().get(0).name());
            assertEquals(pair, back.valueString());
        }
    }

    @Test
    void craftedPayloads_aLengthPast2To31_orANegativeHeaderCount_areRefusedByEveryDecoder() {
        // Records that pass their checksum never hold these; MessageCodec is public, so it is checked.
        byte[] keyLength2To32 = {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x10, 'v'};
        long keyed = MessageCodec.stamp(0, MessageCodec.FLAG_KEY);
        assertThrows(IllegalStateException.class, () -> MessageCodec.decode(0, keyed, keyLength2To32),
                "a 2^32 key length wrapped round to 0");
        assertThrows(IllegalStateException.class, () -> MessageCodec.valueOf(MessageCodec.FLAG_KEY, keyLength2To32));
        byte[] headerCountMinus1 = {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F, 'v'};
        long withHeaders = MessageCodec.stamp(0, MessageCodec.FLAG_HEADERS);
        assertThrows(IllegalStateException.class, () -> MessageCodec.decode(0, withHeaders, headerCountMinus1));
        assertThrows(IllegalStateException.class,
                () -> MessageCodec.valueOf(MessageCodec.FLAG_HEADERS, headerCountMinus1),
                "the byte[] path returned a value for a record that says -1 headers");
    }
}
