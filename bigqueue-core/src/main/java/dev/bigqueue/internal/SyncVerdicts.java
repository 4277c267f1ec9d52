package dev.bigqueue.internal;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Decides when a sync of record bytes may count as durable, and remembers a failed one for good.
 *
 * <p>Why it is needed: when the disk fails to take a file's dirty pages, Linux reports the error
 * once per open file, to whichever sync asks first, and marks the pages clean. The next msync of
 * the same range then "succeeds" without writing anything (measured on ext4 over a loop device
 * whose backing store filled up: the retry returned, and after a remount the bytes read as zeros;
 * even writing the same bytes again and syncing left them unwritten, because ext4 had given up
 * converting the extent). So:
 * <ul>
 *   <li>After the first failure no sync counts again for the rest of this open: {@link #begin}
 *       throws the failure, which names the durable offset it left behind.</li>
 *   <li>A sync that succeeded while another was running may owe its success to the other having
 *       been told of the error instead. Its target counts only once no sync that overlapped it is
 *       running and none has failed: it waits in {@link State#pending}, and the sync that brings
 *       the count of running syncs to zero, with no failure recorded, hands it out for publication.</li>
 * </ul>
 * A failing sync records its failure in the same step that ends it, so a sync that ends after it
 * sees the failure, and one that ends before it saw it still running.
 *
 * <p><b>Shared state:</b> one immutable {@link State} in an {@link AtomicReference}, replaced by
 * compare-and-set, so the count, the pending target and the failure always move together. Any
 * thread that syncs record bytes may call it; nothing here blocks.
 */
final class SyncVerdicts {
    /** Nothing to publish (the stream position of a verdict that hands out nothing). */
    static final long NONE = -1;

    private record State(int running, long pending, IOException failure) {
    }

    private final AtomicReference<State> state = new AtomicReference<>(new State(0, NONE, null));

    /** A sync starts. Throws the recorded failure (as a new exception, for the caller's stack) if there is one. */
    void begin() throws IOException {
        while (true) {
            State s = state.get();
            throwIfFailed(s);
            if (state.compareAndSet(s, new State(s.running + 1, s.pending, null))) {
                return;
            }
        }
    }

    /**
     * A sync begun with {@link #begin} wrote everything up to {@code target} without an error.
     *
     * @return the stream position every record before which is now proven on disk and may be
     *         published (this target or a higher pending one), or {@link #NONE} if another sync is
     *         still running or one failed.
     */
    long succeeded(long target) {
        while (true) {
            State s = state.get();
            long pending = Math.max(s.pending, target);
            State next = s.running == 1 && s.failure == null
                    ? new State(0, NONE, null) : new State(s.running - 1, pending, s.failure);
            if (state.compareAndSet(s, next)) {
                return next.running == 0 && s.failure == null ? pending : NONE;
            }
        }
    }

    /**
     * A sync begun with {@link #begin} ended without a verdict on the disk (the queue closed under
     * it, say): it proves nothing, and may still be the last one out.
     *
     * @return as {@link #succeeded}: what the others proved, if this was the last running sync.
     */
    long abandoned() {
        return succeeded(NONE);
    }

    /**
     * A sync begun with {@link #begin} failed with {@code error}, already worded for the user.
     * The first failure is kept for good; nothing pending is ever published.
     *
     * @return the failure kept (the first one).
     */
    IOException failed(IOException error) {
        while (true) {
            State s = state.get();
            IOException kept = s.failure != null ? s.failure : error;
            if (state.compareAndSet(s, new State(s.running - 1, NONE, kept))) {
                return kept;
            }
        }
    }

    /** The first failure, or null. */
    IOException failure() {
        return state.get().failure;
    }

    private static void throwIfFailed(State s) throws IOException {
        if (s.failure != null) {
            throw new IOException(s.failure.getMessage(), s.failure);
        }
    }
}
