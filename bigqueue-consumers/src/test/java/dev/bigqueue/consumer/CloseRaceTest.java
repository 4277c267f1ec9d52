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
 * Guarantee 10 (lifetime): {@code close()} may run at any moment, from any thread, while any other
 * call is in flight; it never crashes the JVM, never deadlocks, loses nothing acknowledged, and
 * when it returns no {@code bigqueue-*} thread is alive, nothing of the directory is mapped and
 * the lock is free. Calls caught by the close end with an IllegalStateException saying so.
 *
 * <p>Each test runs {@link CloseRaceChild} in a child JVM, so that a crash (SIGSEGV on an unmapped
 * buffer) or a deadlock fails the test with the child's report instead of taking the build down:
 * the child checks each round itself and prints {@code ROUND n ok}; a stall inside it prints a
 * thread dump; a child silent for {@code bigqueue.closeRace.hangMinutes} (default 5: a hang
 * detector, not a time limit; every round prints a line) is dumped with {@code jcmd} and killed.
 * Seeds are printed in every failure; {@code -Dbigqueue.closeRace.seed=S} replays one,
 * {@code -Dbigqueue.closeRace.rounds=N} sets the rounds of the random mix (60; 400 with
 * {@code -Psoak}).
 */
class CloseRaceTest {
    private static final int ROUNDS = Soak.rounds("bigqueue.closeRace.rounds", 60, 400);
    /** Issue 10's finding 1 crashed within about a second: a few dozen rounds suffice. */
    private static final int PRODUCER_ROUNDS = Soak.rounds("bigqueue.closeRace.producerRounds", 15, 80);
    private static final Duration HANG = Duration.ofMinutes(Children.intProperty("bigqueue.closeRace.hangMinutes", 5));

    @TempDir
    Path work;

    @Test
    void closeAtARandomMomentOfEveryCall_neverCrashesHangsLeaksOrLoses() throws Exception {
        runRounds("every", ROUNDS);
    }

    @Test
    void closeWhileProducersFlushEveryOp_doesNotCrash() throws Exception {
        // Issue 10, finding 1: flushEveryOps(1), 4 producers, close from another thread.
        runRounds("producers", PRODUCER_ROUNDS);
    }

    @Test
    void closeWhileOtherThreadsFlush_doesNotCrash() throws Exception {
        runRounds("flush", PRODUCER_ROUNDS);
    }

    private void runRounds(String mode, int rounds) throws Exception {
        long seed = Long.getLong("bigqueue.closeRace.seed", System.nanoTime());
        Path queues = Files.createDirectories(work.resolve("queues"));
        Path errors = Files.createDirectories(work.resolve("errors"));
        String context = "close race '" + mode + "', " + rounds + " rounds, seed " + seed
                + " (replay: -Dbigqueue.closeRace.seed=" + seed + ")";
        List<String> options = Children.options(errors, "bigqueue.closeRace.stallSeconds="
                + Integer.getInteger("bigqueue.closeRace.stallSeconds", 60));
        try (ChildJvm child = ChildJvm.start(CloseRaceChild.class, options, mode, queues.toString(),
                Integer.toString(rounds), Long.toString(seed))) {
            List<String> lines = Children.runToEnd(child, HANG, errors, context);
            long ok = lines.stream().filter(l -> l.startsWith("ROUND ") && l.contains(" ok ")).count();
            assertEquals(rounds, ok, context + ": rounds reported ok; output:" + Children.report(lines));
            assertEquals("DONE", lines.get(lines.size() - 1), context);
        }
    }
}
