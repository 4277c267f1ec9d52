package dev.bigqueue.internal;

/** Where a consumer's committed position lives: the index's head slots, or a consumer file. */
public interface PositionStore {
    long committedOffset();

    long committedPosition();

    /** Stores a new committed position; survives a process crash at once. */
    void commit(long offset, long position);

    /** Makes the committed position survive a power loss. */
    void sync();

    /** Syncs and releases the store when its consumer closes; nothing to do by default. */
    default void close() {
    }
}
