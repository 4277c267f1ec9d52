package dev.bigqueue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * A file of the queue holds bytes that fail their checksum or contradict the format somewhere
 * other than the torn tail that crash recovery is allowed to cut. The damaged bytes are never
 * returned as a message; this exception names the file and the byte offset within it.
 */
public final class QueueCorruptedException extends UncheckedIOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final long fileOffset;
    private final String detail;

    public QueueCorruptedException(Path file, long fileOffset, String detail) {
        this(file, fileOffset, detail, "the queue will not return damaged data. Restore the file from a backup, or"
                + " repair the queue (BigQueue.repair(dir), or the command 'bigqueue repair DIR'), which gives up only"
                + " the messages it must and reports exactly which");
    }

    /**
     * With {@code advice} in place of the usual one (restore or repair), where running a repair is
     * not the way out: a file of a version-1 queue (repair refuses those), an unreadable
     * {@code queue.meta} found by the repair itself, a repair that was cut short.
     */
    public QueueCorruptedException(Path file, long fileOffset, String detail, String advice) {
        this(detail + " in " + file.toAbsolutePath() + " at byte " + fileOffset + "; " + advice, file, fileOffset,
                detail);
    }

    // The message given as the message, not taken from the cause, which would prefix it with
    // "java.io.IOException: " wherever it is shown.
    private QueueCorruptedException(String message, Path file, long fileOffset, String detail) {
        super(message, new IOException(message));
        this.file = file;
        this.fileOffset = fileOffset;
        this.detail = detail;
    }

    /** What is wrong, in a few words, without the file, the offset and the advice. */
    public String detail() {
        return detail;
    }

    /** The damaged file. */
    public Path file() {
        return file;
    }

    /** Byte offset of the damage within {@link #file()}. */
    public long fileOffset() {
        return fileOffset;
    }
}
