package dev.bigqueue.testing;

import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/**
 * Deterministic message contents: the payload of the message with a given offset is a function of
 * a seed and the offset alone, so a process that only learned the offset (a child JVM's
 * acknowledgement line, or a recovered queue) can check every byte of it.
 *
 * <p>Sizes cover the awkward cases on purpose: empty messages, tiny ones, sizes around the data
 * bytes of a 4 KiB arena (4032) and around a length header straddling an arena end, and messages
 * of up to {@code maxSize} bytes that span several small arenas.
 */
public final class Payloads {
    private Payloads() {
    }

    /** The size of message {@code offset}, 0..maxSize. */
    public static int size(long seed, long offset, int maxSize) {
        SplittableRandom r = new SplittableRandom(mix(seed, offset));
        int kind = r.nextInt(10);
        int size;
        if (kind == 0) {
            size = 0;
        } else if (kind <= 2) {
            size = 1 + r.nextInt(64);
        } else if (kind == 3) {
            size = 4000 + r.nextInt(64); // around a 4 KiB arena's 4032 data bytes
        } else {
            size = r.nextInt(maxSize + 1);
        }
        return Math.min(size, maxSize);
    }

    /** The payload of message {@code offset}. */
    public static byte[] payload(long seed, long offset, int maxSize) {
        byte[] b = new byte[size(seed, offset, maxSize)];
        new SplittableRandom(mix(seed, offset) ^ 0x2545F4914F6CDD1DL).nextBytes(b);
        return b;
    }

    /** CRC32C of {@code b}, as printed in acknowledgement lines. */
    public static long crc(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b, 0, b.length);
        return c.getValue();
    }

    private static long mix(long seed, long offset) {
        long z = seed * 0x9E3779B97F4A7C15L + offset;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
