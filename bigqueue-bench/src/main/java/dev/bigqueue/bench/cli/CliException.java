package dev.bigqueue.bench.cli;

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
}
