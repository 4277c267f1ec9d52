package dev.bigqueue.consumer;

import dev.bigqueue.internal.ConsumerFile;
import dev.bigqueue.internal.PositionStore;

/**
 * A named consumer's committed position, kept in its memory-mapped consumer file
 * ({@code consumers/NAME.consumer}, drawn in {@code dev.bigqueue.internal.FileFormat}). A commit is
 * a store into the mapping: it survives a process crash at once, and a power loss after the
 * queue's next flush, which calls {@link #sync()}.
 *
 * <p>Design note: this class exists to make "the file is unmapped" and "a commit writes into the
 * mapping" mutually exclusive. A commit or sync after {@link #close()} would touch unmapped memory
 * and crash the JVM, so every access holds this object's monitor and checks {@code closed}; a late
 * commit (a thread that raced a delete) is refused, a late sync (the periodic flush) is skipped.
 */
final class OffsetStore implements PositionStore {
    private final ConsumerFile file;
    private final String consumerName;
    private boolean closed;

    OffsetStore(ConsumerFile file, String consumerName) {
        this.file = file;
        this.consumerName = consumerName;
    }

    @Override
    public synchronized long committedOffset() {
        checkOpen();
        return file.committedOffset();
    }

    @Override
    public synchronized long committedPosition() {
        checkOpen();
        return file.committedPosition();
    }

    @Override
    public synchronized void commit(long offset, long position) {
        checkOpen();
        file.commit(offset, position);
    }

    @Override
    public synchronized void sync() {
        if (!closed) {
            file.force();
        }
    }

    synchronized void setMode(CommitMode mode) {
        checkOpen();
        if (file.mode() != mode.fileCode) {
            file.setMode(mode.fileCode);
        }
    }

    /** Forces the file to disk and unmaps it; idempotent. */
    synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            file.force();
        } finally {
            file.close();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("consumer '" + consumerName + "' was closed or deleted while in use;"
                    + " open it again with Consumers.open(\"" + consumerName + "\")");
        }
    }
}
