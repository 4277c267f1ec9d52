package dev.bigqueue.bench.cli;

import dev.bigqueue.Message;
import dev.bigqueue.bench.run.Units;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * The messages {@code produce} reads from standard input, as bytes, stored as given: lines, or
 * length-prefixed records. Both read a message into a buffer that grows as its bytes arrive, never
 * by what a length claims: text fed to {@code --length-prefixed} by mistake ("hell" is a length of
 * 1,751,477,356) then ends in "cut short", not in an attempt to allocate the claimed size.
 */
abstract class StandardInputRecords {
    /** Largest message the queue takes: key, headers and value together. */
    static final int MAX_MESSAGE_BYTES = Message.MAX_ENCODED_BYTES;
    private static final int CHUNK = 1 << 16;

    final InputStream in;
    private final byte[] chunk = new byte[CHUNK];
    private int chunkStart;
    private int chunkEnd;
    /** Messages returned so far. */
    long count;

    StandardInputRecords(InputStream in) {
        this.in = in;
    }

    /** The next message, or null at a clean end of the input. */
    abstract byte[] next() throws IOException;

    /** Lines ending in {@code \n}; a {@code \r} right before it belongs to the line end (CRLF). */
    static StandardInputRecords lines(InputStream in) {
        return new Lines(in);
    }

    /** Records of a 4-byte big-endian length and that many bytes. */
    static StandardInputRecords lengthPrefixed(InputStream in) {
        return new LengthPrefixed(in);
    }

    /** Whether buffered bytes remain, reading more if none do; false at the end of the input. */
    final boolean fill() throws IOException {
        if (chunkStart < chunkEnd) {
            return true;
        }
        int n = in.read(chunk, 0, CHUNK);
        while (n == 0) {
            n = in.read(chunk, 0, CHUNK);
        }
        chunkStart = 0;
        chunkEnd = Math.max(n, 0);
        return n > 0;
    }

    /** A growing message: bytes are appended as they arrive, and it never holds more than it was given. */
    final class Growing {
        private final String what;
        private final long limit;
        private byte[] bytes;
        private int size;

        /** A message called {@code what} in errors ("line 3"), of at most {@code limit} bytes. */
        Growing(String what, long limit) {
            this.what = what;
            this.limit = limit;
            this.bytes = new byte[(int) Math.min(256, limit)];
        }

        /**
         * Appends buffered bytes: up to {@code max} of them, or, with {@code stop} from 0 to 255, up
         * to and without the first {@code stop} byte, which is consumed. Returns how many it appended,
         * or -1 - n when it met {@code stop} after appending n.
         */
        long append(long max, int stop) {
            int end = (int) Math.min(chunkEnd, chunkStart + Math.min(max, Integer.MAX_VALUE));
            int at = chunkStart;
            if (stop >= 0) {
                while (at < end && chunk[at] != (byte) stop) {
                    at++;
                }
            } else {
                at = end;
            }
            int n = at - chunkStart;
            ensure(n);
            System.arraycopy(chunk, chunkStart, bytes, size, n);
            size += n;
            chunkStart = at;
            if (stop >= 0 && at < chunkEnd) {
                chunkStart++;
                return -1 - n;
            }
            return n;
        }

        private void ensure(int more) {
            if ((long) size + more > MAX_MESSAGE_BYTES) {
                throw new CliException(CliException.FAILED, what + " on standard input is longer than "
                        + Units.count(MAX_MESSAGE_BYTES) + " bytes, the most a message may hold; the "
                        + Units.count(count) + " before it were produced");
            }
            if ((long) size + more > bytes.length) {
                // Up to the length a record claims, never past it: a whole record then needs no copy.
                long grown = Math.min(limit, Math.max((long) size + more, 2L * bytes.length));
                try {
                    bytes = Arrays.copyOf(bytes, (int) grown);
                } catch (OutOfMemoryError e) {
                    throw new CliException(CliException.FAILED, what + " on standard input is longer than this"
                            + " JVM can hold (" + Units.count(size) + " bytes read so far, maximum heap "
                            + Units.bytes(Runtime.getRuntime().maxMemory()) + "); give it more with"
                            + " JAVA_OPTS=-Xmx..., or split the input; the " + Units.count(count)
                            + " before it were produced");
                }
            }
        }

        int size() {
            return size;
        }

        byte[] toArray() {
            return size == bytes.length ? bytes : Arrays.copyOf(bytes, size);
        }
    }

    private static final class Lines extends StandardInputRecords {
        Lines(InputStream in) {
            super(in);
        }

        @Override
        byte[] next() throws IOException {
            if (!fill()) {
                return null;
            }
            Growing line = new Growing("line " + (count + 1), MAX_MESSAGE_BYTES);
            boolean ended = false;
            while (!ended && fill()) {
                ended = line.append(Long.MAX_VALUE, '\n') < 0;
            }
            byte[] bytes = line.toArray();
            count++;
            // CRLF input (a file made on Windows): its \r is part of the line end, not of the message.
            if (ended && bytes.length > 0 && bytes[bytes.length - 1] == '\r') {
                return Arrays.copyOf(bytes, bytes.length - 1);
            }
            return bytes;
        }
    }

    private static final class LengthPrefixed extends StandardInputRecords {
        LengthPrefixed(InputStream in) {
            super(in);
        }

        @Override
        byte[] next() throws IOException {
            if (!fill()) {
                return null;
            }
            Growing header = new Growing("record " + count, 4);
            while (header.size() < 4 && fill()) {
                header.append(4 - header.size(), -1);
            }
            if (header.size() < 4) {
                throw new CliException(CliException.FAILED, "record " + count + " on standard input is cut short in"
                        + " its 4-byte length: the input ended after " + header.size() + " of its bytes; the "
                        + Units.count(count) + " records before it were produced");
            }
            byte[] h = header.toArray();
            long length = ((h[0] & 0xffL) << 24) | ((h[1] & 0xff) << 16) | ((h[2] & 0xff) << 8) | (h[3] & 0xff);
            if (length > MAX_MESSAGE_BYTES) {
                throw new CliException(CliException.FAILED, "record " + count + " on standard input has length "
                        + length + ", more than the " + Units.count(MAX_MESSAGE_BYTES) + " bytes a message may hold;"
                        + " a length is a 4-byte big-endian count (is the input really length-prefixed records?);"
                        + " the " + Units.count(count) + " records before it were produced");
            }
            Growing message = new Growing("record " + count, length);
            while (message.size() < length && fill()) {
                message.append(length - message.size(), -1);
            }
            if (message.size() < length) {
                throw new CliException(CliException.FAILED, "record " + count + " on standard input is cut short:"
                        + " its length says " + length + " bytes, the input ended after " + message.size() + "; the "
                        + Units.count(count) + " records before it were produced");
            }
            count++;
            return message.toArray();
        }
    }
}
