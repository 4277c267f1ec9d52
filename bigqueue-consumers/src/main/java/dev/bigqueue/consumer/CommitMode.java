package dev.bigqueue.consumer;

/**
 * When a named {@link Consumer}'s position becomes the one a restart resumes from.
 *
 * <p>Either way a restart never skips a message: it resumes at or before the last message handed
 * out. The modes differ in what may come again.
 */
public enum CommitMode {
    /**
     * Every dequeue commits (the default). The message a dequeue returns is committed as consumed
     * by the consumer's next dequeue, by {@link Consumer#commit()}, or by closing; so after a
     * {@code kill -9} the last message handed out, and only that one, may come again. A
     * {@link Consumer#drainTo drainTo} batch counts as one read: after a kill the last batch, and
     * only that one, may come again.
     */
    AUTO(0),

    /**
     * Only {@link Consumer#commit()} commits: dequeue moves the in-memory position alone, and
     * everything handed out since the last commit comes again after a restart or a crash. Commit
     * after processing to get at-least-once processing.
     */
    MANUAL(1);

    /** The code stored in the consumer file (see {@code FileFormat}). */
    final int fileCode;

    CommitMode(int fileCode) {
        this.fileCode = fileCode;
    }
}
