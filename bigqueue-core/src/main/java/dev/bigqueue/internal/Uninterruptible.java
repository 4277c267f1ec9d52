package dev.bigqueue.internal;

import java.io.IOException;

/**
 * Runs file-channel I/O with the calling thread's interrupt flag set aside, and sets it again
 * afterwards. A {@link java.nio.channels.FileChannel} is interruptible: an operation started with
 * the flag set closes the channel and fails with {@code ClosedByInterruptException}. An
 * application thread whose flag happens to be set (a pool being shut down, say) would then see an
 * enqueue fail with an I/O error when it maps the next arena. Mapping, reserving and syncing are
 * short and must finish, so the flag waits until they have; the caller still sees it.
 */
final class Uninterruptible {
    private Uninterruptible() {
    }

    /** A file operation that returns a value. */
    interface IoCall<T> {
        T call() throws IOException;
    }

    /** A file operation. */
    interface IoRun {
        void run() throws IOException;
    }

    static <T> T call(IoCall<T> io) throws IOException {
        boolean interrupted = Thread.interrupted();
        try {
            return io.call();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    static void run(IoRun io) throws IOException {
        call(() -> {
            io.run();
            return null;
        });
    }
}
