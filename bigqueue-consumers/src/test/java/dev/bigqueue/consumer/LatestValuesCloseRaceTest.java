package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.LatestValuesTest.b;
import static dev.bigqueue.consumer.LatestValuesTest.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * close() of the store, or of its queue, racing every call of LatestValues: each call either works or
 * ends with an IllegalStateException; close returns with the follower gone; the store reopens with a
 * map that equals a fold of the queue.
 */
class LatestValuesCloseRaceTest {
    private static final int ROUNDS = 12;

    @TempDir
    Path work;

    @Test
    void closeOfTheStoreOrTheQueue_racingEveryCall() throws Exception {
        Path dir = work.resolve("q");
        Random random = new Random();
        for (int round = 0; round < ROUNDS; round++) {
            boolean closeQueue = round % 3 == 2;
            BigQueue q = BigQueue.open(dir, config());
            LatestValues lv = LatestValues.open(q, "p", LatestValuesOptions.builder().checkpointEveryBytes(8192)
                    .build());
            AtomicLong calls = new AtomicLong();
            List<Throwable> unexpected = Collections.synchronizedList(new ArrayList<>());
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                int id = t;
                Thread th = new Thread(() -> {
                    Random r = new Random(id);
                    for (;;) {
                        try {
                            String k = "k" + r.nextInt(40);
                            switch ((id + r.nextInt(8)) % 8) {
                                case 0, 1 -> lv.put(k, b("v" + calls.get()));
                                case 2 -> lv.delete(k);
                                case 3 -> lv.get(k);
                                case 4 -> lv.size();
                                case 5 -> lv.keys();
                                case 6 -> lv.checkpoint();
                                default -> lv.awaitFollowed(q.tailOffset(), Duration.ofSeconds(1));
                            }
                            calls.incrementAndGet();
                        } catch (IllegalStateException e) {
                            return; // closed: the expected end
                        } catch (Throwable e) {
                            unexpected.add(e);
                            return;
                        }
                    }
                }, "caller-" + t);
                th.start();
                threads.add(th);
            }
            long target = 50 + random.nextInt(300);
            while (calls.get() < target && threads.stream().anyMatch(Thread::isAlive)) {
                Thread.onSpinWait();
            }
            if (closeQueue) {
                q.close();
                lv.close();
            } else {
                lv.close();
            }
            assertFalse(followerAlive(), "round " + round + ": the follower outlived close()");
            for (Thread th : threads) {
                th.join();
            }
            assertEquals(List.of(), unexpected, "round " + round);
            q.close();
            try (BigQueue again = BigQueue.open(dir, config()); LatestValues lv2 = LatestValues.open(again, "p")) {
                Map<String, String> expected = LatestValuesTest.fold(again, 0);
                assertEquals(expected, LatestValuesTest.contents(lv2), "round " + round);
            }
            assertTrue(calls.get() >= target, "round " + round + ": calls " + calls.get());
        }
    }

    private static boolean followerAlive() {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().startsWith("bigqueue-latest-") && t.isAlive());
    }
}
