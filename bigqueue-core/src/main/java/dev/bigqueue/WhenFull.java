package dev.bigqueue;

/**
 * What {@link BigQueue#enqueue(byte[])} does when a new arena would take the arena files past
 * {@link QueueConfig.Builder#maxDiskBytes(long)}.
 */
public enum WhenFull {
    /** Wait until the consumers have read far enough for the garbage collector to free an arena. */
    BLOCK,
    /** Throw {@link QueueFullException} at once; nothing is written. */
    FAIL,
    /**
     * Delete the oldest arenas, unread or not; consumers behind them move forward to
     * {@link BigQueue#earliestOffset()} and a WARN says how many messages they missed.
     */
    DROP_OLDEST
}
