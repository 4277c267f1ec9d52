package dev.bigqueue;

import java.nio.file.Path;

/**
 * The queue directory was written by another on-disk format version than this bigqueue reads.
 * It is never read as this version; no file was changed. A version-1 queue is rewritten as
 * version 2 by {@link BigQueue#upgrade(Path)} (the command {@code bigqueue upgrade DIR}).
 */
public final class QueueFormatException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    private final transient Path directory;
    private final int foundVersion;
    private final int readVersion;

    public QueueFormatException(Path directory, int foundVersion, int readVersion, String message) {
        super(message);
        this.directory = directory;
        this.foundVersion = foundVersion;
        this.readVersion = readVersion;
    }

    public Path directory() {
        return directory;
    }

    /** The format version of the files found. */
    public int foundVersion() {
        return foundVersion;
    }

    /** The format version this bigqueue reads and writes. */
    public int readVersion() {
        return readVersion;
    }
}
