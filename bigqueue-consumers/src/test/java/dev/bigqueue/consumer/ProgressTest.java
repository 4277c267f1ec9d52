package dev.bigqueue.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.Soak;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantee 11 (no call waits on another that waits on it): mixes of calls that have deadlocked or
 * livelocked before must always make progress. {@code maxInMemoryArenas} 1 and 2 with small arenas
 * and two threads sharing a consumer (requeue, seeks near the tail, drainTo) beside producers and
 * the queue's own consumer; DROP_OLDEST at {@code maxDiskBytes} with lagging consumers; BLOCK with
 * a consumer that frees the space.
 *
 * <p>Each mix runs in a child JVM ({@link ProgressChild}): a bounded number of calls per thread, not
 * a duration, so a slow machine only makes it slower. A stall is detected by the child's watchdog:
 * no call completed for {@code bigqueue.progress.stallSeconds} (default 30) means stuck, and the
 * test fails with a full thread dump including lock owners. Runs, calls and seed:
 * {@code -Dbigqueue.progress.runs} (3; 16 with {@code -Psoak}), {@code .calls}, {@code .seed}.
 */
class ProgressTest {
    private static final int RUNS = Soak.rounds("bigqueue.progress.runs", 3, 16);
    private static final int CALLS = Children.intProperty("bigqueue.progress.calls", 3000);
    private static final Duration HANG = Duration.ofMinutes(Children.intProperty("bigqueue.progress.hangMinutes", 5));

    @TempDir
    Path work;

    @Test
    void sharedConsumerUnderATightArenaCap_alwaysProgresses() throws Exception {
        runMix("shared");
    }

    @Test
    void dropOldestWithLaggingConsumers_alwaysProgresses() throws Exception {
        runMix("dropOldest");
    }

    @Test
    void blockWithAConsumerFreeingSpace_alwaysProgresses() throws Exception {
        runMix("block");
    }

    private void runMix(String mix) throws Exception {
        long seed = Long.getLong("bigqueue.progress.seed", System.nanoTime());
        Path queues = Files.createDirectories(work.resolve("queues"));
        Path errors = Files.createDirectories(work.resolve("errors"));
        String context = "mix '" + mix + "', " + RUNS + " runs of " + CALLS + " calls per thread, seed " + seed
                + " (replay: -Dbigqueue.progress.seed=" + seed + ")";
        List<String> options = Children.options(errors, "bigqueue.progress.stallSeconds="
                + Integer.getInteger("bigqueue.progress.stallSeconds", 30));
        try (ChildJvm child = ChildJvm.start(ProgressChild.class, options, mix, queues.toString(),
                Integer.toString(RUNS), Integer.toString(CALLS), Long.toString(seed))) {
            List<String> lines = Children.runToEnd(child, HANG, errors, context);
            long ok = lines.stream().filter(l -> l.startsWith("RUN ") && l.contains(" ok ")).count();
            assertEquals(RUNS, ok, context + ": runs reported ok; output:" + Children.report(lines));
        }
    }
}
