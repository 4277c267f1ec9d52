package dev.bigqueue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * One header of a {@link Message}: a name (UTF-8 on disk, at most {@value Message#MAX_HEADER_NAME_BYTES}
 * bytes) and a value of bytes. Immutable: the value is copied in and out.
 */
public final class Header {
    private final String name;
    private final byte[] value;

    Header(String name, byte[] value, boolean copy) {
        this.name = name;
        this.value = copy ? value.clone() : value;
    }

    /** A header; {@code value} is copied. */
    public static Header of(String name, byte[] value) {
        Objects.requireNonNull(name, "header name must not be null");
        Objects.requireNonNull(value, "header value must not be null; use an empty array for none");
        Message.checkHeaderName(name);
        return new Header(name, value, true);
    }

    /** A header whose value is {@code value} in UTF-8. */
    public static Header of(String name, String value) {
        Objects.requireNonNull(value, "header value must not be null");
        return of(name, Message.utf8(value, "value of header '" + name + "'"));
    }

    public String name() {
        return name;
    }

    /** A copy of the value. */
    public byte[] value() {
        return value.clone();
    }

    /** The value decoded as UTF-8. */
    public String valueString() {
        return new String(value, StandardCharsets.UTF_8);
    }

    byte[] valueNoCopy() {
        return value;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Header h && name.equals(h.name) && Arrays.equals(value, h.value);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(value);
    }

    @Override
    public String toString() {
        return name + "=" + Message.preview(value);
    }
}
