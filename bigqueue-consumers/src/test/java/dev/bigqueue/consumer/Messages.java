package dev.bigqueue.consumer;

import java.nio.charset.StandardCharsets;

/**
 * Self-checking messages of the lifetime tests: {@code P<producer>:<seq>:<filler>}, the filler's
 * length and letters a function of producer and seq, so that any reader can tell a whole message
 * from a damaged one, and which acknowledged enqueue it came from. A requeued message is the
 * original with {@code Q} in front (once per requeue).
 */
final class Messages {
    /** One message in this many is large enough to span two or three 64 KiB arenas. */
    private static final int LARGE_EVERY = 97;

    private Messages() {
    }

    /** The message producer {@code producer} enqueues as its {@code seq}-th. */
    static byte[] of(int producer, long seq, int maxSize) {
        String head = "P" + producer + ":" + seq + ":";
        int fill = fillLength(producer, seq, maxSize);
        byte[] b = new byte[head.length() + fill];
        for (int i = 0; i < head.length(); i++) {
            b[i] = (byte) head.charAt(i);
        }
        for (int i = 0; i < fill; i++) {
            b[head.length() + i] = (byte) ('a' + (int) ((producer * 31L + seq * 7 + i) % 26));
        }
        return b;
    }

    private static int fillLength(int producer, long seq, int maxSize) {
        long h = (producer * 0x9E3779B97F4A7C15L + seq) * 0xBF58476D1CE4E5B9L;
        h ^= h >>> 29;
        int r = (int) ((h & Long.MAX_VALUE) % 1_000_003);
        int size = r % LARGE_EVERY == 0 ? 20_000 + r % 60_000 : r % 2000;
        return Math.min(size, maxSize);
    }

    /** A parsed message: who enqueued it, as which, and how many times it was requeued. */
    static final class Id {
        final int producer;
        final long seq;
        final int requeues;

        Id(int producer, long seq, int requeues) {
            this.producer = producer;
            this.seq = seq;
            this.requeues = requeues;
        }

        @Override
        public String toString() {
            return "Q".repeat(requeues) + "P" + producer + ":" + seq;
        }
    }

    /**
     * Parses and checks {@code m} against what its producer enqueued.
     *
     * @throws AssertionError naming what is wrong if it is not a whole message of this format.
     */
    static Id check(byte[] m, int maxSize) {
        if (m == null) {
            throw new AssertionError("null message");
        }
        int q = 0;
        while (q < m.length && m[q] == 'Q') {
            q++;
        }
        String s = new String(m, q, Math.min(m.length - q, 40), StandardCharsets.ISO_8859_1);
        int c1 = s.indexOf(':');
        int c2 = c1 < 0 ? -1 : s.indexOf(':', c1 + 1);
        if (!s.startsWith("P") || c1 < 0 || c2 < 0) {
            throw new AssertionError("not a test message (" + m.length + " bytes): " + abbreviate(m));
        }
        int producer;
        long seq;
        try {
            producer = Integer.parseInt(s.substring(1, c1));
            seq = Long.parseLong(s.substring(c1 + 1, c2));
        } catch (NumberFormatException e) {
            throw new AssertionError("damaged test message header: " + abbreviate(m));
        }
        byte[] expected = of(producer, seq, maxSize);
        if (expected.length != m.length - q
                || !java.util.Arrays.equals(expected, 0, expected.length, m, q, m.length)) {
            throw new AssertionError("damaged message P" + producer + ":" + seq + ": " + (m.length - q) + " bytes, "
                    + "expected " + expected.length + "; " + abbreviate(m));
        }
        return new Id(producer, seq, q);
    }

    /** {@code m} with one more {@code Q} in front: what the tests' requeue steps append. */
    static byte[] requeued(byte[] m) {
        byte[] b = new byte[m.length + 1];
        b[0] = 'Q';
        System.arraycopy(m, 0, b, 1, m.length);
        return b;
    }

    static String abbreviate(byte[] m) {
        String s = new String(m, 0, Math.min(m.length, 60), StandardCharsets.ISO_8859_1);
        return s.replaceAll("[^ -~]", "?") + (m.length > 60 ? "...(" + m.length + " bytes)" : "");
    }
}
