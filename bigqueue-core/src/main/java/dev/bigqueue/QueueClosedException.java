package dev.bigqueue;

/** Thrown by any operation on a queue (or one of its consumers) after {@link BigQueue#close()}. */
public final class QueueClosedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public QueueClosedException(String message) {
        super(message);
    }
}
