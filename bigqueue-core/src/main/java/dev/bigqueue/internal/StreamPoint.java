package dev.bigqueue.internal;

/**
 * A place in the record stream: a record's offset (message number) and its byte position, which
 * belong together. Immutable, so a reference to one can be published through a volatile field or
 * a concurrent map and read whole, never half of one pair and half of another.
 */
public final class StreamPoint {
    public static final StreamPoint ZERO = new StreamPoint(0, 0);

    private final long offset;
    private final long position;

    public StreamPoint(long offset, long position) {
        this.offset = offset;
        this.position = position;
    }

    public long offset() {
        return offset;
    }

    public long position() {
        return position;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StreamPoint && ((StreamPoint) o).offset == offset && ((StreamPoint) o).position == position;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(offset) * 31 + Long.hashCode(position);
    }

    @Override
    public String toString() {
        return "offset " + offset + " (stream position " + position + ")";
    }
}
