package dev.bigqueue.kafka;

import dev.bigqueue.testing.Poll;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waits on a condition ({@link Poll}); the limit is a hang detector only. */
final class Await {
    static final Duration HANG = Duration.ofMinutes(3);

    private Await() {
    }

    static void until(BooleanSupplier condition, Supplier<String> state) throws InterruptedException {
        Poll.until(condition, null, HANG, state);
    }
}
