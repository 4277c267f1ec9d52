package dev.bigqueue.internal;

import dev.bigqueue.Message;
import java.nio.charset.StandardCharsets;

/**
 * The payload of a record whose flags are not 0 (drawn in {@link FileFormat}): varint key length
 * and key if {@link #FLAG_KEY}; varint header count and, per header, varint name length, UTF-8
 * name, varint value length, value if {@link #FLAG_HEADERS}; then the value (the rest), absent if
 * {@link #FLAG_TOMBSTONE}. A record with flags 0 is the value alone: the plain {@code byte[]} path
 * never encodes or decodes anything. Varints are unsigned LEB128 (7 bits a byte, low first).
 */
public final class MessageCodec {
    public static final int FLAG_KEY = 1;
    public static final int FLAG_HEADERS = 2;
    public static final int FLAG_TOMBSTONE = 4;
    static final int KNOWN_FLAGS = FLAG_KEY | FLAG_HEADERS | FLAG_TOMBSTONE;

    /** Turns a record's parts into a Message; installed by {@link Message} as it loads. */
    public interface Factory {
        Message make(long offset, long millis, byte[] key, String[] names, byte[][] values, byte[] value);
    }

    /** Turns a record read at {@code offset} into what a read call returns. */
    public interface Decoder<T> {
        T decode(long offset, long stamp, byte[] payload);
    }

    private static volatile Factory factory;

    /** The byte[] API: the value; the payload itself when the flags are 0 (no copy, no parse). */
    public static final Decoder<byte[]> VALUES = (offset, stamp, payload) ->
            (stamp & 0xFF) == 0 ? payload : valueOf((int) (stamp & 0xFF), payload);

    /** The Message API. */
    public static final Decoder<Message> MESSAGES = MessageCodec::decode;

    private MessageCodec() {
    }

    public static void install(Factory f) {
        factory = f;
    }

    private static Factory factory() {
        Factory f = factory;
        if (f == null) {
            try {
                Class.forName(Message.class.getName(), true, Message.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
            f = factory;
        }
        return f;
    }

    /** The smallest whole millisecond at or after {@code time} (stored timestamps are whole ms). */
    public static long millisAtOrAfter(java.time.Instant time) {
        long millis;
        try {
            millis = time.toEpochMilli();
        } catch (ArithmeticException e) {
            return time.isBefore(java.time.Instant.EPOCH) ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        if (time.getNano() % 1_000_000 != 0 && millis < Long.MAX_VALUE) {
            millis++;
        }
        return millis;
    }

    public static int flags(boolean key, boolean headers, boolean tombstone) {
        return (key ? FLAG_KEY : 0) | (headers ? FLAG_HEADERS : 0) | (tombstone ? FLAG_TOMBSTONE : 0);
    }

    /** The stamp word of a record: timestamp in the high 56 bits, flags in the low 8. */
    public static long stamp(long millis, int flags) {
        return (millis << 8) | (flags & 0xFF);
    }

    public static long millisOf(long stamp) {
        return stamp >> 8;
    }

    public static int flagsOf(long stamp) {
        return (int) (stamp & 0xFF);
    }

    public static long encodedSize(byte[] key, String[] names, byte[][] values, byte[] value) {
        long n = 0;
        if (key != null) {
            n += varintSize(key.length) + key.length;
        }
        if (names.length > 0) {
            n += varintSize(names.length);
            for (int i = 0; i < names.length; i++) {
                int nb = names[i].getBytes(StandardCharsets.UTF_8).length;
                n += varintSize(nb) + nb + varintSize(values[i].length) + values[i].length;
            }
        }
        return n + (value == null ? 0 : value.length);
    }

    public static byte[] encode(byte[] key, String[] names, byte[][] values, byte[] value) {
        byte[][] nameBytes = new byte[names.length][];
        long n = 0;
        if (key != null) {
            n += varintSize(key.length) + key.length;
        }
        if (names.length > 0) {
            n += varintSize(names.length);
            for (int i = 0; i < names.length; i++) {
                nameBytes[i] = names[i].getBytes(StandardCharsets.UTF_8);
                n += varintSize(nameBytes[i].length) + nameBytes[i].length + varintSize(values[i].length)
                        + values[i].length;
            }
        }
        n += value == null ? 0 : value.length;
        if (n > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("message too big: " + n + " bytes encoded");
        }
        byte[] out = new byte[(int) n];
        int at = 0;
        if (key != null) {
            at = putVarint(out, at, key.length);
            System.arraycopy(key, 0, out, at, key.length);
            at += key.length;
        }
        if (names.length > 0) {
            at = putVarint(out, at, names.length);
            for (int i = 0; i < names.length; i++) {
                at = putVarint(out, at, nameBytes[i].length);
                System.arraycopy(nameBytes[i], 0, out, at, nameBytes[i].length);
                at += nameBytes[i].length;
                at = putVarint(out, at, values[i].length);
                System.arraycopy(values[i], 0, out, at, values[i].length);
                at += values[i].length;
            }
        }
        if (value != null) {
            System.arraycopy(value, 0, out, at, value.length);
        }
        return out;
    }

    /** The value in a payload with {@code flags}; an empty array for a tombstone. */
    public static byte[] valueOf(int flags, byte[] payload) {
        int at = skipToValue(flags, payload);
        if ((flags & FLAG_TOMBSTONE) != 0) {
            return new byte[0];
        }
        return java.util.Arrays.copyOfRange(payload, at, payload.length);
    }

    /** The key of a record with {@code flags}, or null. */
    public static byte[] keyOf(int flags, byte[] payload) {
        if ((flags & FLAG_KEY) == 0) {
            return null;
        }
        int[] at = {0};
        int len = varint(payload, at);
        checkRange(payload, at[0], len);
        return java.util.Arrays.copyOfRange(payload, at[0], at[0] + len);
    }

    private static int skipToValue(int flags, byte[] payload) {
        return valueStart(flags, payload, payload.length);
    }

    /**
     * Where the value starts in the record payload held in {@code payload[0, length)} (the array may
     * be longer: a reused read buffer); {@code length} for a tombstone.
     */
    public static int valueStart(int flags, byte[] payload, int length) {
        checkFlags(flags);
        int[] at = {0};
        if ((flags & FLAG_KEY) != 0) {
            int len = varint(payload, at);
            checkRange(at[0], len, length);
            at[0] += len;
        }
        if ((flags & FLAG_HEADERS) != 0) {
            int count = varint(payload, at);
            if (count < 0 || count > length) {
                throw new IllegalStateException("record payload says " + count + " headers in " + length + " bytes");
            }
            for (int i = 0; i < count; i++) {
                int nl = varint(payload, at);
                checkRange(at[0], nl, length);
                at[0] += nl;
                int vl = varint(payload, at);
                checkRange(at[0], vl, length);
                at[0] += vl;
            }
        }
        if ((flags & FLAG_TOMBSTONE) != 0 && at[0] != length) {
            throw new IllegalStateException("tombstone record has " + (length - at[0]) + " value bytes");
        }
        return at[0];
    }

    private static void checkFlags(int flags) {
        if ((flags & ~KNOWN_FLAGS) != 0) {
            throw new IllegalStateException("record has unknown flags 0x" + Integer.toHexString(flags)
                    + ": written by a newer bigqueue?");
        }
    }

    public static Message decode(long offset, long stamp, byte[] payload) {
        int flags = flagsOf(stamp);
        long millis = millisOf(stamp);
        if (flags == 0) {
            return factory().make(offset, millis, null, null, null, payload);
        }
        checkFlags(flags);
        int[] at = {0};
        byte[] key = null;
        if ((flags & FLAG_KEY) != 0) {
            int len = varint(payload, at);
            checkRange(payload, at[0], len);
            key = java.util.Arrays.copyOfRange(payload, at[0], at[0] + len);
            at[0] += len;
        }
        String[] names = null;
        byte[][] values = null;
        if ((flags & FLAG_HEADERS) != 0) {
            int count = varint(payload, at);
            if (count < 0 || count > payload.length) {
                throw new IllegalStateException("record at offset " + offset + " says " + count + " headers");
            }
            names = new String[count];
            values = new byte[count][];
            for (int i = 0; i < count; i++) {
                int nl = varint(payload, at);
                checkRange(payload, at[0], nl);
                names[i] = new String(payload, at[0], nl, StandardCharsets.UTF_8);
                at[0] += nl;
                int vl = varint(payload, at);
                checkRange(payload, at[0], vl);
                values[i] = java.util.Arrays.copyOfRange(payload, at[0], at[0] + vl);
                at[0] += vl;
            }
        }
        byte[] value;
        if ((flags & FLAG_TOMBSTONE) != 0) {
            if (at[0] != payload.length) {
                throw new IllegalStateException("tombstone record at offset " + offset + " has value bytes");
            }
            value = null;
        } else {
            value = java.util.Arrays.copyOfRange(payload, at[0], payload.length);
        }
        return factory().make(offset, millis, key, names, values, value);
    }

    private static void checkRange(byte[] p, int at, int len) {
        checkRange(at, len, p.length);
    }

    private static void checkRange(int at, int len, int end) {
        if (len < 0 || at + (long) len > end) {
            throw new IllegalStateException("record payload field of " + len + " bytes runs past its end ("
                    + end + " bytes)");
        }
    }

    static int varintSize(int v) {
        int n = 1;
        while ((v & ~0x7F) != 0) {
            v >>>= 7;
            n++;
        }
        return n;
    }

    static int putVarint(byte[] out, int at, int v) {
        while ((v & ~0x7F) != 0) {
            out[at++] = (byte) ((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        out[at++] = (byte) v;
        return at;
    }

    static int varint(byte[] in, int[] at) {
        int v = 0;
        for (int shift = 0; shift < 35; shift += 7) {
            if (at[0] >= in.length) {
                throw new IllegalStateException("record payload ends inside a length");
            }
            byte b = in[at[0]++];
            if (shift == 28 && (b & 0xF8) != 0) {
                // Lengths are ints below 2^31: more bits would wrap round to a small or negative one.
                throw new IllegalStateException("record payload has a length of 2^31 or more");
            }
            v |= (b & 0x7F) << shift;
            if (b >= 0) {
                return v;
            }
        }
        throw new IllegalStateException("record payload has a malformed length");
    }
}
