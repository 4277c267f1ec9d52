package dev.bigqueue.kafka;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waits on a condition, looking again every few milliseconds; the limit is a hang detector only. */
final class Await {
    static final Duration HANG = Duration.ofMinutes(3);

    private Await() {
    }

    static void until(BooleanSupplier condition, Supplier<String> state) throws InterruptedException {
        long deadline = System.nanoTime() + HANG.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("still waiting after " + HANG + " (a hang): " + state.get());
            }
            Thread.sleep(5);
        }
    }
}
