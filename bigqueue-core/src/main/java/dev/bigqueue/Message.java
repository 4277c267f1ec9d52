package dev.bigqueue;

import dev.bigqueue.internal.MessageCodec;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * A message with an optional key, optional headers, a timestamp and a value: what
 * {@link BigQueue#enqueue(Message)} writes and {@link BigQueue#dequeueMessage()} (and the named
 * consumers' {@code dequeueMessage}) read back. Immutable; byte arrays are copied in and out.
 *
 * <pre>{@code
 * Message m = Message.of(bytes);                                   // no key, no headers
 * Message m = Message.builder().key("user-42").header("trace", id)
 *                 .timestamp(Instant.now()).value(json).build();
 * }</pre>
 *
 * <p><b>Timestamp.</b> A message built without one gets the enqueue time
 * ({@code System.currentTimeMillis()}), as a plain {@code byte[]} enqueue does; {@link #timestamp()}
 * is null until then. Timestamps are stored in milliseconds (a finer {@code Instant} is cut to the
 * millisecond), and must lie within ±2<sup>55</sup> ms of the epoch (about ±1.1 million years).
 * An explicit timestamp may be older than the one before it: {@link BigQueue#offsetForTime}
 * judges by the largest timestamp seen so far, as Kafka does.
 *
 * <p><b>Tombstones.</b> A message whose value is null ({@code builder().key(k).value((byte[]) null)})
 * is a tombstone: "key k was deleted", for a latest-value-per-key reader. It must have a key.
 * Through the plain {@code byte[]} API a tombstone reads as an empty array.
 *
 * <p><b>Limits</b> (checked by {@link Builder#build()} with an {@link IllegalArgumentException}):
 * at most {@value #MAX_HEADERS} headers, header names of 1 to {@value #MAX_HEADER_NAME_BYTES}
 * UTF-8 bytes, and key, headers and value together at most {@value #MAX_ENCODED_BYTES} bytes.
 *
 * <p>A message read from a queue has its {@link #offset()}; equality compares offset, timestamp,
 * key, headers and value.
 */
public final class Message {
    /** Most headers one message may have. */
    public static final int MAX_HEADERS = 1024;
    /** Longest header name, in UTF-8 bytes. */
    public static final int MAX_HEADER_NAME_BYTES = 1024;
    /** Most bytes key, headers and value take together, as stored (a record's length is an int). */
    public static final int MAX_ENCODED_BYTES = Integer.MAX_VALUE - 64;
    /** Timestamps must lie within ±this many milliseconds of the epoch (56 bits). */
    public static final long MAX_TIMESTAMP_MILLIS = (1L << 55) - 1;

    private static final long NO_TIMESTAMP = Long.MIN_VALUE;

    static {
        MessageCodec.install(Message::fromRecord);
    }

    private final long offset;
    private final long millis;
    private final byte[] key;
    private final List<Header> headers;
    private final byte[] value;

    private Message(long offset, long millis, byte[] key, List<Header> headers, byte[] value) {
        this.offset = offset;
        this.millis = millis;
        this.key = key;
        this.headers = headers;
        this.value = value;
    }

    /** A message with {@code value} (copied), no key, no headers, timestamped at enqueue. */
    public static Message of(byte[] value) {
        Objects.requireNonNull(value, "value must not be null; an empty array is a valid value"
                + " (a tombstone, null value, is made with builder().key(k).value((byte[]) null))");
        return new Message(-1, NO_TIMESTAMP, null, List.of(), value.clone());
    }

    /** A message with {@code value} in UTF-8. */
    public static Message of(String value) {
        Objects.requireNonNull(value, "value must not be null");
        return new Message(-1, NO_TIMESTAMP, null, List.of(), utf8(value, "value"));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The offset this message was read from; -1 if it was not read from a queue. */
    public long offset() {
        return offset;
    }

    /** The timestamp; null on a message not yet enqueued that was built without one. */
    public Instant timestamp() {
        return millis == NO_TIMESTAMP ? null : Instant.ofEpochMilli(millis);
    }

    /** A copy of the key; null if there is none. */
    public byte[] key() {
        return key == null ? null : key.clone();
    }

    /** The key decoded as UTF-8; null if there is none. */
    public String keyString() {
        return key == null ? null : new String(key, StandardCharsets.UTF_8);
    }

    /** The headers in the order they were added (names may repeat); unmodifiable, empty if none. */
    public List<Header> headers() {
        return headers;
    }

    /** The value of the last header named {@code name}, copied; null if there is none. */
    public byte[] header(String name) {
        for (int i = headers.size() - 1; i >= 0; i--) {
            if (headers.get(i).name().equals(name)) {
                return headers.get(i).value();
            }
        }
        return null;
    }

    /** A copy of the value; null for a tombstone. */
    public byte[] value() {
        return value == null ? null : value.clone();
    }

    /** The value decoded as UTF-8; null for a tombstone. */
    public String valueString() {
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    /** Whether this is a tombstone (a keyed message with a null value). */
    public boolean isTombstone() {
        return value == null;
    }

    /** A builder holding this message's key, headers, timestamp and value (not its offset). */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.key = key;
        b.headers.addAll(headers);
        b.millis = millis;
        b.value = value;
        b.valueSet = true;
        return b;
    }

    // ------------------------------------------------------------ for BigQueue (same package)

    byte[] keyNoCopy() {
        return key;
    }

    byte[] valueNoCopy() {
        return value;
    }

    /** The timestamp in ms, or {@code now} if none was set. */
    long millisOr(long now) {
        return millis == NO_TIMESTAMP ? now : millis;
    }

    boolean isPlain() {
        return key == null && headers.isEmpty() && value != null;
    }

    /** Encodes key, headers and value as the payload of a record with flags; see FileFormat. */
    byte[] encode() {
        int n = headers.size();
        String[] names = new String[n];
        byte[][] values = new byte[n][];
        for (int i = 0; i < n; i++) {
            names[i] = headers.get(i).name();
            values[i] = headers.get(i).valueNoCopy();
        }
        return MessageCodec.encode(key, names, values, value);
    }

    int flags() {
        return MessageCodec.flags(key != null, !headers.isEmpty(), value == null);
    }

    private static Message fromRecord(long offset, long millis, byte[] key, String[] names, byte[][] values,
            byte[] value) {
        List<Header> hs;
        if (names == null || names.length == 0) {
            hs = List.of();
        } else {
            Header[] a = new Header[names.length];
            for (int i = 0; i < a.length; i++) {
                a[i] = new Header(names[i], values[i], false);
            }
            hs = Collections.unmodifiableList(Arrays.asList(a));
        }
        return new Message(offset, millis, key, hs, value);
    }

    /**
     * {@code s} in UTF-8, refusing text that has no UTF-8 form (an unpaired surrogate), which
     * {@link String#getBytes} would store as '?': a key or name that came back different would be
     * another key, and a value silently changed is damage.
     *
     * @param what names the argument in the error.
     */
    static byte[] utf8(String s, String what) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException(what + " is not well-formed text: an unpaired surrogate \\u"
                        + String.format("%04X", (int) c) + " at index " + i + " has no UTF-8 form (it would be"
                        + " stored as '?'); fix the string, or pass bytes (the byte[] form)");
            }
        }
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static void checkHeaderName(String name) {
        if (name.isEmpty()) {
            throw new IllegalArgumentException("header name must not be empty");
        }
        if (name.length() > MAX_HEADER_NAME_BYTES
                || utf8(name, "header name").length > MAX_HEADER_NAME_BYTES) {
            throw new IllegalArgumentException("header name is longer than " + MAX_HEADER_NAME_BYTES
                    + " UTF-8 bytes: " + preview(name.getBytes(StandardCharsets.UTF_8)));
        }
    }

    /** At most 32 bytes of {@code b}, as text if it is printable, else hex, with the length. */
    static String preview(byte[] b) {
        if (b == null) {
            return "null";
        }
        int n = Math.min(b.length, 32);
        boolean text = true;
        for (int i = 0; i < n; i++) {
            if (b[i] < 0x20 || b[i] > 0x7e) {
                text = false;
                break;
            }
        }
        StringBuilder s = new StringBuilder();
        if (text) {
            s.append('"').append(new String(b, 0, n, StandardCharsets.US_ASCII)).append(b.length > n ? "...\"" : "\"");
        } else {
            s.append("0x");
            for (int i = 0; i < n; i++) {
                s.append(Character.forDigit((b[i] >> 4) & 0xF, 16)).append(Character.forDigit(b[i] & 0xF, 16));
            }
            if (b.length > n) {
                s.append("...");
            }
        }
        if (b.length > n) {
            s.append(" (").append(b.length).append(" bytes)");
        }
        return s.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Message m && offset == m.offset && millis == m.millis && Arrays.equals(key, m.key)
                && headers.equals(m.headers) && Arrays.equals(value, m.value);
    }

    @Override
    public int hashCode() {
        return Objects.hash(offset, millis, Arrays.hashCode(key), headers, Arrays.hashCode(value));
    }

    /** Shows at most 32 bytes of the key, each header and the value. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("Message{");
        if (offset >= 0) {
            s.append("offset=").append(offset).append(", ");
        }
        s.append("timestamp=").append(timestamp());
        if (key != null) {
            s.append(", key=").append(preview(key));
        }
        if (!headers.isEmpty()) {
            s.append(", headers=").append(headers);
        }
        s.append(", value=").append(value == null ? "null (tombstone)" : preview(value)).append('}');
        return s.toString();
    }

    /** Builds a {@link Message}; {@link #value} must be called. Not thread-safe. */
    public static final class Builder {
        private byte[] key;
        private final List<Header> headers = new ArrayList<>();
        private long millis = NO_TIMESTAMP;
        private byte[] value;
        private boolean valueSet;

        private Builder() {
        }

        /** The key (copied); must not be null (leave it out for none). */
        public Builder key(byte[] key) {
            Objects.requireNonNull(key, "key must not be null; leave key(..) out for a message without a key");
            this.key = key.clone();
            return this;
        }

        /** The key in UTF-8. */
        public Builder key(String key) {
            Objects.requireNonNull(key, "key must not be null; leave key(..) out for a message without a key");
            this.key = utf8(key, "key");
            return this;
        }

        /** Adds a header (value copied); names may repeat, order is kept. */
        public Builder header(String name, byte[] value) {
            Objects.requireNonNull(name, "header name must not be null");
            Objects.requireNonNull(value, "value of header '" + name + "' must not be null; use an empty array");
            checkHeaderName(name);
            if (headers.size() >= MAX_HEADERS) {
                throw new IllegalArgumentException("a message has at most " + MAX_HEADERS + " headers; '" + name
                        + "' would be number " + (headers.size() + 1));
            }
            headers.add(new Header(name, value, true));
            return this;
        }

        /** Adds a header whose value is {@code value} in UTF-8. */
        public Builder header(String name, String value) {
            Objects.requireNonNull(value, "value of header '" + name + "' must not be null");
            return header(name, utf8(value, "value of header '" + name + "'"));
        }

        /** The timestamp (cut to the millisecond); without it the enqueue time is used. */
        public Builder timestamp(Instant t) {
            Objects.requireNonNull(t, "timestamp must not be null; leave timestamp(..) out to stamp at enqueue");
            long ms;
            try {
                ms = t.toEpochMilli();
            } catch (ArithmeticException e) {
                ms = Long.MAX_VALUE;
            }
            if (ms > MAX_TIMESTAMP_MILLIS || ms < -MAX_TIMESTAMP_MILLIS) {
                throw new IllegalArgumentException("timestamp " + t + " is out of range: a message's timestamp must"
                        + " lie within ±" + MAX_TIMESTAMP_MILLIS + " ms of the epoch");
            }
            this.millis = ms;
            return this;
        }

        /** The value (copied); null makes a tombstone, which needs a key. */
        public Builder value(byte[] value) {
            this.value = value == null ? null : value.clone();
            this.valueSet = true;
            return this;
        }

        /** The value in UTF-8; null makes a tombstone. */
        public Builder value(String value) {
            this.value = value == null ? null : utf8(value, "value");
            this.valueSet = true;
            return this;
        }

        /**
         * @throws IllegalStateException if no value was given.
         * @throws IllegalArgumentException if a tombstone has no key, or the message is too big.
         */
        public Message build() {
            if (!valueSet) {
                throw new IllegalStateException("no value: call value(..) (value(null) with a key makes a tombstone)");
            }
            if (value == null && key == null) {
                throw new IllegalArgumentException("a tombstone (null value) must have a key: it says that key was"
                        + " deleted");
            }
            long size = (value == null ? 0 : value.length) + (key == null ? 0 : 5L + key.length) + 5;
            for (Header h : headers) {
                size += 10L + h.name().length() * 3L + h.valueNoCopy().length;
            }
            if (size > MAX_ENCODED_BYTES && MessageCodec.encodedSize(key, headers.stream().map(Header::name)
                    .toArray(String[]::new), headers.stream().map(Header::valueNoCopy).toArray(byte[][]::new),
                    value) > MAX_ENCODED_BYTES) {
                throw new IllegalArgumentException("message too big: key, headers and value take more than "
                        + MAX_ENCODED_BYTES + " bytes together");
            }
            return new Message(-1, millis, key, headers.isEmpty() ? List.of()
                    : Collections.unmodifiableList(new ArrayList<>(headers)), value);
        }
    }
}
