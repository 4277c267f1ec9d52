package dev.bigqueue.bench.peer;

/**
 * How to size and sync a queue under test. Each peer maps what it can and ignores the rest; the
 * mapping is written on each adapter.
 *
 * @param arenaSizeBytes     bigqueue's arena size (0 = bigqueue's default).
 * @param maxInMemoryArenas  bigqueue's cap on mapped arenas (-1 = bigqueue's default, 0 = no cap).
 * @param syncOnWrite        every enqueue is on disk when it returns (bigqueue; Tape always is).
 * @param flushIntervalMs    bigqueue's background msync interval (-1 = default, 0 = off).
 * @param rawCapacityBytes   size of {@link PeerType#RAW_MAPPED}'s one mapped buffer.
 */
public record PeerOptions(long arenaSizeBytes, int maxInMemoryArenas, boolean syncOnWrite,
                          long flushIntervalMs, long rawCapacityBytes) {

    /** One GiB: the largest region the raw peer maps by default. */
    public static final long DEFAULT_RAW_CAPACITY_BYTES = 1L << 30;

    public PeerOptions {
        if (rawCapacityBytes < 4096 || rawCapacityBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("rawCapacityBytes must be 4096.." + Integer.MAX_VALUE
                    + ", got " + rawCapacityBytes);
        }
    }

    /** Every queue's own defaults. */
    public static PeerOptions defaults() {
        return new PeerOptions(0, -1, false, -1, DEFAULT_RAW_CAPACITY_BYTES);
    }

    public PeerOptions withArenaSize(long bytes) {
        return new PeerOptions(bytes, maxInMemoryArenas, syncOnWrite, flushIntervalMs, rawCapacityBytes);
    }

    public PeerOptions withMaxInMemoryArenas(int n) {
        return new PeerOptions(arenaSizeBytes, n, syncOnWrite, flushIntervalMs, rawCapacityBytes);
    }

    public PeerOptions withSyncOnWrite(boolean sync) {
        return new PeerOptions(arenaSizeBytes, maxInMemoryArenas, sync, flushIntervalMs, rawCapacityBytes);
    }

    public PeerOptions withFlushIntervalMs(long ms) {
        return new PeerOptions(arenaSizeBytes, maxInMemoryArenas, syncOnWrite, ms, rawCapacityBytes);
    }

    public PeerOptions withRawCapacity(long bytes) {
        return new PeerOptions(arenaSizeBytes, maxInMemoryArenas, syncOnWrite, flushIntervalMs, bytes);
    }
}
