package dev.bigqueue;

/**
 * Thrown by an enqueue when the queue holds {@code maxDiskBytes} of arena files, nothing can be
 * collected and {@link WhenFull#FAIL} is configured. Nothing of the message was written.
 */
public final class QueueFullException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public QueueFullException(String message) {
        super(message);
    }
}
