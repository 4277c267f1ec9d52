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
                assertFalse(followerAlive(), "round " + round + ": the follower outlived the queue's close()");
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

    /**
     * A checkpoint() another thread is writing when close() is called is finished before close
     * returns, with or without the close's own checkpoint: nothing of the store is written after it.
     * It used to return at once, with the snapshot still being written (and renamed, and older ones
     * deleted) behind it.
     */
    @Test
    void close_returnsOnlyOnceACheckpointAnotherThreadIsWritingHasEnded() throws Exception {
        for (boolean checkpointOnClose : new boolean[] {false, true}) {
            Path dir = work.resolve("q-" + checkpointOnClose);
            try (BigQueue q = BigQueue.open(dir, LatestValuesTest.config().toBuilder().arenaSize(16 << 20).build())) {
                LatestValues lv = LatestValues.open(q, "p", LatestValuesOptions.builder()
                        .checkpointOnClose(checkpointOnClose).checkpointEveryBytes(0).checkpointInterval(Duration.ZERO)
                        .build());
                byte[] value = new byte[200];
                for (int i = 0; i < 100_000; i++) {
                    lv.put("key-" + i, value); // a snapshot of ~22 MB: writing it takes a while
                }
                List<Throwable> failed = Collections.synchronizedList(new ArrayList<>());
                Thread checkpointing = new Thread(() -> {
                    try {
                        lv.checkpoint();
                    } catch (Throwable t) {
                        failed.add(t);
                    }
                });
                checkpointing.start();
                while (checkpointing.isAlive() && !Lifetime.isInside(checkpointing, ".Snapshots", "write")) {
                    Thread.onSpinWait();
                }
                lv.close();
                Map<String, Long> atClose = snapshotFiles(dir);
                checkpointing.join();
                assertEquals(List.of(), failed, "the checkpoint had its turn before close: it completes");
                assertEquals(atClose, snapshotFiles(dir), "checkpointOnClose " + checkpointOnClose
                        + ": snapshot files changed after close() returned");
                assertTrue(atClose.keySet().stream().anyMatch(f -> f.endsWith("0100000.snap")),
                        "the checkpoint's snapshot, at offset 100,000: " + atClose);
            }
        }
    }

    /**
     * A second close() while the first is still in progress (here waiting for a checkpoint another
     * thread is writing) returns only once the first has ended: the follower is gone and nothing of
     * the store is written after it. It returned at once, with the follower alive and the snapshot
     * still being written.
     */
    @Test
    void aSecondClose_returnsOnlyOnceTheFirstHasEnded() throws Exception {
        Path dir = work.resolve("q");
        try (BigQueue q = BigQueue.open(dir, LatestValuesTest.config().toBuilder().arenaSize(16 << 20).build())) {
            LatestValues lv = LatestValues.open(q, "p", LatestValuesOptions.builder().checkpointOnClose(false)
                    .checkpointEveryBytes(0).checkpointInterval(Duration.ZERO).build());
            byte[] value = new byte[200];
            for (int i = 0; i < 100_000; i++) {
                lv.put("key-" + i, value); // a snapshot of ~22 MB: writing it takes a while
            }
            Thread checkpointing = new Thread(lv::checkpoint);
            checkpointing.start();
            while (checkpointing.isAlive() && !Lifetime.isInside(checkpointing, ".Snapshots", "write")) {
                Thread.onSpinWait();
            }
            Thread firstClose = new Thread(lv::close);
            firstClose.start();
            while (firstClose.isAlive() && !Lifetime.isInside(firstClose, ".Checkpointer", "takeTurn")) {
                Thread.onSpinWait();
            }
            lv.close();
            boolean followerAlive = followerAlive();
            Map<String, Long> atClose = snapshotFiles(dir);
            firstClose.join();
            checkpointing.join();
            assertFalse(followerAlive, "the second close() returned with the follower alive");
            assertEquals(atClose, snapshotFiles(dir), "snapshot files changed after the second close() returned");
        }
    }

    /**
     * The queue's close, with a checkpoint in progress in another thread: it returns only once that
     * checkpoint has ended and the follower is gone, so nothing writes into the queue's directory
     * after the queue released it (another process may own it by then). It returned at once, and the
     * snapshot went on being written (or cleaned up) behind it.
     */
    @Test
    void theQueuesClose_returnsOnlyOnceTheStoresCheckpointAndFollowerHaveEnded() throws Exception {
        Path dir = work.resolve("q");
        BigQueue q = BigQueue.open(dir, LatestValuesTest.config().toBuilder().arenaSize(16 << 20).build());
        LatestValues lv = LatestValues.open(q, "p", LatestValuesOptions.builder().checkpointEveryBytes(0)
                .checkpointInterval(Duration.ZERO).build());
        byte[] value = new byte[200];
        for (int i = 0; i < 100_000; i++) {
            lv.put("key-" + i, value); // a snapshot of ~22 MB: writing it takes a while
        }
        Thread checkpointing = new Thread(() -> {
            try {
                lv.checkpoint();
            } catch (RuntimeException e) {
                // the queue closed under it: it may fail, but must end before the queue's close returns
            }
        });
        checkpointing.start();
        while (checkpointing.isAlive() && !Lifetime.isInside(checkpointing, ".Snapshots", "write")) {
            Thread.onSpinWait();
        }
        q.close();
        boolean followerAlive = followerAlive();
        Map<String, Long> atClose = snapshotFiles(dir);
        checkpointing.join();
        assertFalse(followerAlive, "the queue's close() returned with the store's follower alive");
        assertEquals(atClose, snapshotFiles(dir), "snapshot files changed after the queue's close() returned");
        lv.close(); // closed with the queue: nothing left to do
    }

    /** The files in the store's snapshot directory, with their sizes. */
    private static Map<String, Long> snapshotFiles(Path queueDir) throws java.io.IOException {
        Map<String, Long> files = new java.util.TreeMap<>();
        try (java.util.stream.Stream<Path> s = java.nio.file.Files.list(queueDir.resolve("latest"))) {
            for (Path p : (Iterable<Path>) s::iterator) {
                files.put(p.getFileName().toString(), java.nio.file.Files.size(p));
            }
        }
        return files;
    }

    private static boolean followerAlive() {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().startsWith("bigqueue-latest-") && t.isAlive());
    }
}
