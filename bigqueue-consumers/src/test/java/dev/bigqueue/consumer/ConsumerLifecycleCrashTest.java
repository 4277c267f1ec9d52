package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.Soak;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantees 2 and 6 for the consumers' lifecycle: a child JVM ({@link LifecycleChild}) opening,
 * reading, copying and deleting named consumers from several threads, with a producer and the
 * collector running, is killed with SIGKILL at random moments. After every kill the queue opens;
 * no half-made consumer is left; every consumer listed opens (no damaged file) and reads on from
 * its position to the tail with no message missing (the collector never deleted an arena a
 * consumer, a just-made one included, needed); a consumer whose delete returned, with no open
 * started after it, is gone; one whose open or copy returned, with no delete started after it, is
 * there. Rounds: {@code -Dbigqueue.lifecycleCrash.rounds} (8; 40 with {@code -Psoak}).
 */
class ConsumerLifecycleCrashTest {
    private static final int ROUNDS = Soak.rounds("bigqueue.lifecycleCrash.rounds", 8, 40);

    @TempDir
    Path work;

    @Test
    void killedWhileOpeningAndDeletingConsumers_everyConsumerIsWholeAndDeletesStick() throws Exception {
        Path dir = work.resolve("queue");
        long seed = Long.getLong("bigqueue.lifecycleCrash.seed", System.nanoTime());
        Random random = new Random(seed);
        Map<String, Integer> done = new HashMap<>();
        for (int round = 0; round < ROUNDS; round++) {
            String context = "seed " + seed + ", round " + round;
            List<String> lines;
            ChildJvm child = ChildJvm.start(LifecycleChild.class, Children.options(work),
                    dir.toString(), Long.toString(random.nextLong()));
            try {
                child.awaitLine("READY", Duration.ofMinutes(2));
                int from = child.lines().size();
                int progress = 100 + random.nextInt(400);
                // Some work done in every round (a condition), then the kill anywhere after it.
                dev.bigqueue.testing.Poll.until(() -> child.lines().size() - from >= progress || !child.isAlive(),
                        () -> child.lines().size(), Duration.ofMinutes(1), () -> context + ": " + child.lines());
                child.kill();
                lines = child.lines();
            } finally {
                child.close();
            }
            for (String line : lines) {
                assertFalse(line.startsWith("FAIL"), context + ": " + line + "\n" + child.stderr());
                if (!line.isEmpty()) {
                    done.merge(line.substring(0, 1), 1, Integer::sum);
                }
            }
            check(dir, lines, context);
        }
        for (String event : new String[] {"O", "D", "C"}) {
            assertTrue(done.getOrDefault(event, 0) >= ROUNDS, "seed " + seed + ": too few '" + event
                    + "' (operations that returned) for the test to mean much: " + done);
        }
    }

    private static void check(Path dir, List<String> lines, String context) throws Exception {
        Map<String, String> last = new HashMap<>();
        for (String line : lines) {
            String[] f = line.split(" ");
            if (f.length >= 2 && f[0].length() == 1 && !f[1].startsWith("s")) {
                last.put(f[1], f[0]);
            }
        }
        try (BigQueue q = BigQueue.open(dir, LifecycleChild.config().toBuilder().gcInterval(Duration.ZERO).build())) {
            Consumers consumers = Consumers.of(q);
            try (Stream<Path> files = Files.list(dir.resolve("consumers"))) {
                assertEquals(List.of(), files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp"))
                        .toList(), context + ": leftovers of unfinished creations");
            }
            Set<String> names = consumers.names();
            for (Map.Entry<String, String> e : last.entrySet()) {
                String event = e.getValue();
                if (event.equals("D")) {
                    assertFalse(names.contains(e.getKey()), context + ": " + e.getKey() + " was deleted: " + names);
                } else if (event.equals("O") || event.equals("C")) {
                    assertTrue(names.contains(e.getKey()), context + ": " + e.getKey() + " was made: " + names);
                }
            }
            long tail = q.tailOffset();
            for (String name : names) {
                // MANUAL and never committed: the check leaves every consumer where it was.
                try (Consumer c = consumers.open(name, CommitMode.MANUAL)) {
                    long at = c.position();
                    assertTrue(at >= q.earliestOffset() && at <= tail, context + ": " + name + " at " + at);
                    for (long o = at; o < tail; o++) {
                        byte[] m = c.dequeue();
                        assertTrue(m != null, context + ": " + name + " misses offset " + o);
                        assertEquals(o, offsetOf(m), context + ": " + name);
                    }
                }
            }
            q.gc();
        }
    }
}
