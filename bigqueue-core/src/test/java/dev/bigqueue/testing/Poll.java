package dev.bigqueue.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Waits for a condition that another process or thread brings about and nothing signals (a child's
 * log file, a forwarder's commits): looks every few milliseconds. The limit detects a hang, not
 * slowness: it counts from the last time {@code progress} changed, so a machine that is merely busy
 * only makes the wait longer, and a test fails only when nothing moves for {@code silence}.
 */
public final class Poll {
    private static final long LOOK_EVERY_MS = 5;

    private Poll() {
    }

    /**
     * Returns once {@code done} holds.
     *
     * @param progress a value that changes while the awaited work advances (lines written, offsets
     *     committed); null: none, then {@code silence} bounds the whole wait.
     * @throws AssertionError naming {@code state} if {@code progress} stood still for {@code silence}.
     */
    public static void until(BooleanSupplier done, LongSupplier progress, Duration silence, Supplier<String> state)
            throws InterruptedException {
        long last = progress == null ? 0 : progress.getAsLong();
        long deadline = System.nanoTime() + silence.toNanos();
        while (!done.getAsBoolean()) {
            long now = progress == null ? last : progress.getAsLong();
            if (now != last) {
                last = now;
                deadline = System.nanoTime() + silence.toNanos();
            } else if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("nothing moved for " + silence + " (a hang): " + state.get());
            }
            Thread.sleep(LOOK_EVERY_MS);
        }
    }
}
