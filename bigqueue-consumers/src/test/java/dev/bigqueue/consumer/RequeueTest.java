package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.arenaFiles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.testing.ChildJvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Consumer#requeue}: items cycle through the queue again and again in bounded disk space,
 * and the set of items survives {@code kill -9} at any moment (duplicates allowed, losses not).
 */
class RequeueTest {
    private static final int ITEMS = 200;

    @TempDir
    Path dir;

    private static void seed(BigQueue q) {
        for (int i = 0; i < ITEMS; i++) {
            q.enqueueString("item-" + i + "#0");
        }
    }

    /** Item id -> highest cycle count among the copies a fresh copy of {@code source} can read. */
    private static Map<Integer, Long> itemsAhead(Consumers consumers, Consumer source) {
        Consumer check = consumers.copy("check", source);
        Map<Integer, Long> items = new TreeMap<>();
        try {
            for (byte[] m = check.dequeue(); m != null; m = check.dequeue()) {
                String s = new String(m, StandardCharsets.UTF_8);
                int hash = s.indexOf('#');
                items.merge(Integer.parseInt(s.substring(5, hash)), Long.parseLong(s.substring(hash + 1)), Math::max);
            }
        } finally {
            consumers.delete("check");
        }
        return items;
    }

    @Test
    void itemsCycleManyTimes_inBoundedDiskSpace() {
        try (BigQueue q = BigQueue.open(dir, Fixtures.small())) {
            seed(q);
            while (q.dequeue() != null) {
                // the own consumer must not hold arenas
            }
            Consumers consumers = Consumers.of(q);
            Consumer cycler = consumers.open("cycler");
            for (int i = 0; i < ITEMS * 50; i++) {
                assertTrue(cycler.requeue(CrashChild::nextCycle));
                if (i % 1000 == 0) {
                    q.dequeue(); // keep the own consumer at the tail as well
                    while (q.dequeue() != null) {
                        // drain
                    }
                    q.gc();
                    assertTrue(arenaFiles(dir) < 20, "arenas pile up: " + arenaFiles(dir));
                }
            }
            assertEquals(ITEMS * 51, q.tailOffset());
            assertEquals(ITEMS, cycler.lag(), "the queue ahead of the cycler holds exactly the items");
            Map<Integer, Long> items = itemsAhead(consumers, cycler);
            assertEquals(ITEMS, items.size());
            items.values().forEach(cycles -> assertEquals(50L, cycles));
        }
    }

    @Test
    void nullStepResult_consumesWithoutAppending_andEmptyQueueReturnsFalse() {
        try (BigQueue q = BigQueue.open(dir, Fixtures.small())) {
            Consumer c = Consumers.of(q).open("drop");
            assertFalse(c.requeue(m -> {
                throw new AssertionError("step must not run on an empty queue");
            }));
            q.enqueueString("once");
            assertTrue(c.requeue(m -> null));
            assertEquals(1, q.tailOffset());
            assertTrue(c.isEmpty());
            assertFalse(c.requeue(m -> m));
        }
    }

    @Test
    void manualRequeue_appendsButCommitsOnlyOnCommit() {
        try (BigQueue q = BigQueue.open(dir, Fixtures.small())) {
            q.enqueueString("item-0#0");
            Consumer c = Consumers.of(q).open("m", CommitMode.MANUAL);
            assertTrue(c.requeue(CrashChild::nextCycle));
            assertEquals(2, q.tailOffset());
            assertEquals(0, c.committedPosition());
            c.commit();
            assertEquals(1, c.committedPosition());
        }
    }

    @Test
    void failingStep_leavesTheMessageInPlace() {
        try (BigQueue q = BigQueue.open(dir, Fixtures.small())) {
            q.enqueueString("item-0#0");
            Consumer c = Consumers.of(q).open("f");
            try {
                c.requeue(m -> {
                    throw new IllegalStateException("step failed");
                });
            } catch (IllegalStateException expected) {
                // the application's failure
            }
            assertEquals(0, c.position());
            assertEquals(1, q.tailOffset());
            assertEquals("item-0#0", c.dequeueString());
        }
    }

    @Test
    void theSetOfItemsSurvivesKill9_atRandomMoments() throws Exception {
        try (BigQueue q = BigQueue.open(dir, CrashChild.config())) {
            seed(q);
        }
        long seed = System.nanoTime();
        Random random = new Random(seed);
        long highestCycle = 0;
        for (int round = 0; round < 7; round++) {
            ChildJvm child = ChildJvm.start(CrashChild.class, "requeue", dir.toString());
            try {
                child.awaitLine("READY", Duration.ofSeconds(60));
                Thread.sleep(50 + random.nextInt(400));
                child.kill();
                assertFalse(child.stderr().contains("Exception"), child.stderr());
            } finally {
                child.close();
            }
            try (BigQueue q = BigQueue.open(dir, CrashChild.config())) {
                Consumers consumers = Consumers.of(q);
                Map<Integer, Long> items = itemsAhead(consumers, consumers.open("cycler"));
                assertEquals(ITEMS, items.size(), "items lost after kill in round " + round + " (seed " + seed
                        + "): have " + items.keySet());
                for (long cycles : items.values()) {
                    highestCycle = Math.max(highestCycle, cycles);
                }
            }
        }
        assertTrue(highestCycle >= 5, "items hardly cycled: highest cycle count " + highestCycle);
    }
}
