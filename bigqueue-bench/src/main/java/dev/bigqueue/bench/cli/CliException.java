package dev.bigqueue.bench.cli;

import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A failure the command line reports as one line on stderr, with its own exit code, and no stack
 * trace: the user can fix it from the message alone.
 */
final class CliException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Exit code of an error in the work itself (I/O, a damaged queue). */
    static final int FAILED = 1;
    /** Exit code of bad options or arguments (picocli uses it too). */
    static final int USAGE = 2;
    /** Exit code of a missing directory or one that holds something other than a queue. */
    static final int NOT_A_QUEUE = 3;
    /** Exit code of a queue that is open elsewhere. */
    static final int LOCKED = 4;
    /** Exit code of a directory or file this user may not read or write. */
    static final int PERMISSION = 5;

    private final int exitCode;

    CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    CliException(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    int exitCode() {
        return exitCode;
    }

    /**
     * A {@link #PERMISSION} error if {@code e} or one of its causes says that access was denied, else
     * null. Every command asks this first, before any other reading of a failure: a denied file must
     * never pass for a queue in use (which {@code --wait} would wait out for nothing) or for a
     * directory that holds no queue.
     *
     * @param queueDir the queue directory, named in the advice; null if unknown.
     */
    static CliException permissionDenied(Path queueDir, Throwable e) {
        // The refusal itself first: the library's messages around it may say "permission denied" too,
        // but only the AccessDeniedException names the very file.
        Throwable denied = null;
        for (Throwable t = e; t != null && denied == null; t = t.getCause()) {
            if (t instanceof AccessDeniedException) {
                denied = t;
            }
        }
        for (Throwable t = denied != null ? denied : e; t != null; t = t.getCause()) {
            String reason = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (t instanceof AccessDeniedException || reason.contains("permission denied")) {
                String file = t instanceof FileSystemException fse && fse.getFile() != null ? fse.getFile()
                        : queueDir != null ? queueDir.toString() : t.getMessage();
                return new CliException(PERMISSION, "permission denied: " + file + " (user "
                        + System.getProperty("user.name") + ")" + (besideQueue(queueDir, file)
                        ? besideAdvice(queueDir) : advice(queueDir)), e);
            }
        }
        return null;
    }

    /**
     * The report of a failure that came after the queue opened, or null if it is none of those the
     * command line knows: permission denied; a named consumer open in another process (a second
     * {@code consume -c NAME} beside a {@code consume -c NAME --follow}), which is the queue "in use"
     * for that consumer; a damaged file.
     */
    static CliException afterOpen(Throwable e) {
        CliException denied = permissionDenied(null, e);
        if (denied != null) {
            return denied;
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            String message = reason(t);
            if (t instanceof IllegalStateException && message.startsWith("consumer '")
                    && message.contains(" is open in another process")) {
                return new CliException(LOCKED, message.replace("; each consumer", ", so it is in use; each"
                        + " consumer"), e);
            }
            if (t instanceof QueueCorruptedException) {
                // Its message names the file and the byte, and says to restore it or run 'bigqueue repair DIR'.
                return new CliException(FAILED, "the queue is damaged: " + message, e);
            }
        }
        return null;
    }

    /**
     * What went wrong, in the failure's own words: an {@link UncheckedIOException}'s message is its
     * cause's class name and message, and a class name means nothing to the user.
     */
    static String reason(Throwable e) {
        Throwable t = e instanceof UncheckedIOException && e.getCause() != null ? e.getCause() : e;
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    /**
     * Whether {@code file} is outside the queue directory: {@code upgrade} and {@code repair} write
     * beside it (DIR.upgrading, DIR.v1-TIME, DIR.repair-TIME), in its parent, which the advice to own
     * the queue directory would not fix.
     */
    private static boolean besideQueue(Path queueDir, String file) {
        if (queueDir == null) {
            return false;
        }
        try {
            return !Path.of(file).toAbsolutePath().normalize().startsWith(queueDir.toAbsolutePath().normalize());
        } catch (java.nio.file.InvalidPathException e) {
            return false;
        }
    }

    private static String besideAdvice(Path queueDir) {
        Path parent = queueDir.toAbsolutePath().normalize().getParent();
        return "; this command writes beside the queue, in " + parent + " (the directory that holds " + queueDir
                .getFileName() + "): give this user write access to " + parent + ", or run it as a user who may write"
                + " there";
    }

    private static String advice(Path queueDir) {
        if (queueDir == null) {
            return "; run as a user who may read and write it, or change its permissions";
        }
        String owner;
        try {
            owner = " (" + Files.getOwner(queueDir).getName() + ")";
        } catch (IOException | UnsupportedOperationException e) {
            owner = "";
        }
        return "; a queue needs read and write access to its directory and every file in it: run as the user that"
                + " owns " + queueDir + owner + ", or give this user access (chown -R or chmod -R on the directory)";
    }
}
