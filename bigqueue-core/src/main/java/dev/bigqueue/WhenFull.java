package dev.bigqueue;

/**
 * What {@link BigQueue#enqueue(byte[])} does when a new arena would take the arena files past
 * {@link QueueConfig.Builder#maxDiskBytes(long)}.
 */
public enum WhenFull {
    /**
     * Wait until the consumers have read far enough for the garbage collector to free an arena.
     * A queue with no consumer at all (its own consumer off, no named one, no retention) waits for
     * one to be created and to read; it logs one WARN saying so each time it reaches the cap.
     */
    BLOCK,
    /**
     * Throw {@link QueueFullException} at once, once a collection pass found nothing to free;
     * nothing is written. (A pass is not skipped for that: while a read-only open in another process
     * creates or moves back a consumer, a short step, the enqueue waits for it to end.)
     */
    FAIL,
    /**
     * Delete the oldest arenas, unread or not; consumers behind them move forward to
     * {@link BigQueue#earliestOffset()} and a WARN says how many messages they missed.
     */
    DROP_OLDEST
}
