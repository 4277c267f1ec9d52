package dev.bigqueue.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import dev.bigqueue.QueueConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LatestValues: the map against a model, other writers, concurrency, start-up after many updates. */
class LatestValuesTest {
    @TempDir
    Path work;

    static QueueConfig config() {
        return QueueConfig.builder().arenaSize(64 * 1024).ownConsumer(false).gcInterval(Duration.ZERO).build();
    }

    static String s(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Every key of {@code store} with its value, as strings. */
    static Map<String, String> contents(LatestValues store) {
        Map<String, String> m = new TreeMap<>();
        for (String k : store.keys()) {
            m.put(k, s(store.get(k)));
        }
        assertEquals(m.size(), store.size(), "size() against keys()");
        return m;
    }

    @Test
    void putGetDelete_survivesReopen_withAndWithoutCheckpoint() {
        Path dir = work.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p",
                LatestValuesOptions.builder().checkpointOnClose(false).build())) {
            lv.put("a", b("1"));
            lv.put("b", b("2"));
            lv.put("a", b("3"));
            assertTrue(lv.delete("b"));
            assertFalse(lv.delete("zz"));
            assertEquals("3", s(lv.get("a")));
            assertNull(lv.get("b"));
            assertEquals(Map.of("a", "3"), contents(lv));
        }
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p")) {
            assertEquals(Map.of("a", "3"), contents(lv)); // full replay
            lv.put("c", b("4"));
            lv.checkpoint();
            lv.put("d", b("5"));
        }
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p")) {
            assertEquals(Map.of("a", "3", "c", "4", "d", "5"), contents(lv));
            assertTrue(lv.checkpointOffset() > 0);
        }
    }

    @Test
    void recordsOfOtherWriters_areApplied_newestByTimestampThenOffset() throws Exception {
        try (BigQueue q = BigQueue.open(work.resolve("q"), config()); LatestValues lv = LatestValues.open(q, "p")) {
            Instant t = Instant.parse("2030-01-01T00:00:00Z");
            q.enqueue(Message.builder().key("k").timestamp(t).value("new").build());
            q.enqueue(Message.builder().key("k").timestamp(t.minusSeconds(5)).value("older, later").build());
            q.enqueue(Message.of("no key: ignored"));
            q.enqueue(Message.builder().key("gone").value("x").build());
            q.enqueue(Message.builder().key("gone").value((byte[]) null).build());
            q.enqueue(Message.builder().key("tie").timestamp(t).value("first").build());
            q.enqueue(Message.builder().key("tie").timestamp(t).value("second").build());
            assertTrue(lv.awaitFollowed(q.tailOffset(), Duration.ofMinutes(1)));
            assertEquals(Map.of("k", "new", "tie", "second"), contents(lv));
            // The store's own clock never goes below the newest timestamp it holds: this put wins.
            lv.put("k", b("mine"));
            assertEquals("mine", s(lv.get("k")));
        }
    }

    @Test
    void concurrentPutsAndDeletes_matchTheModel_liveAndAfterReopen() throws Exception {
        Path dir = work.resolve("q");
        int threads = 8;
        int opsPerThread = 3000;
        Map<String, String> ownModel = new ConcurrentHashMap<>();
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p",
                LatestValuesOptions.builder().checkpointEveryBytes(32 * 1024).build())) {
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> ts = new ArrayList<>();
            List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < threads; t++) {
                int id = t;
                Thread th = new Thread(() -> {
                    Random r = new Random(id);
                    try {
                        start.await();
                        for (int i = 0; i < opsPerThread; i++) {
                            // Keys of this thread only: the model is its program order.
                            String own = "own-" + id + "-" + r.nextInt(50);
                            if (r.nextInt(5) == 0) {
                                lv.delete(own);
                                ownModel.remove(own);
                            } else {
                                // Some values span several 64 KiB arenas.
                                String v = id + ":" + i + (i % 97 == 0 ? "|" + "v".repeat(100_000) : "");
                                lv.put(own, b(v));
                                ownModel.put(own, v);
                                if (!v.equals(s(lv.get(own)))) {
                                    throw new AssertionError("read-your-writes: " + own + " = " + s(lv.get(own)));
                                }
                            }
                            // Keys every thread writes: checked against a fold of the queue below.
                            String shared = "shared-" + r.nextInt(20);
                            if (r.nextInt(4) == 0) {
                                lv.delete(shared);
                            } else {
                                lv.put(shared, b(id + ":" + i));
                            }
                            if (i % 500 == 0) {
                                lv.checkpoint();
                            }
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                });
                th.start();
                ts.add(th);
            }
            for (int t = 0; t < 2; t++) {
                // Other writers of the same queue, between the store's own puts (which the follower
                // passes without reading back): their records, some spanning arenas, must be applied.
                int id = threads + t;
                Thread th = new Thread(() -> {
                    Random r = new Random(id);
                    try {
                        start.await();
                        for (int i = 0; i < opsPerThread / 2; i++) {
                            String v = id + ":" + i + "|" + "o".repeat(r.nextInt(8) == 0 ? 100_000 : r.nextInt(300));
                            q.enqueue(Message.builder().key("shared-" + r.nextInt(20)).value(b(v)).build());
                            q.enqueueString("no key " + i);
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                });
                th.start();
                ts.add(th);
            }
            start.countDown();
            for (Thread th : ts) {
                th.join();
            }
            assertEquals(List.of(), errors);
            assertTrue(lv.awaitFollowed(q.tailOffset(), Duration.ofMinutes(1)));
            Map<String, String> live = contents(lv);
            Map<String, String> expected = fold(q, lv.checkpointOffset() > 0 ? 0 : 0);
            assertEquals(expected, live, "live map against a fold of every record in the queue");
            for (Map.Entry<String, String> e : ownModel.entrySet()) {
                assertEquals(e.getValue(), live.get(e.getKey()), e.getKey());
            }
            for (String k : live.keySet()) {
                if (k.startsWith("own-")) {
                    assertTrue(ownModel.containsKey(k), k + " was deleted last but is there");
                }
            }
            lv.close();
            try (LatestValues again = LatestValues.open(q, "p")) {
                assertEquals(expected, contents(again), "after reopen");
            }
        }
    }

    /** The model: every keyed record of the queue, newest by (timestamp, offset) per key. */
    static Map<String, String> fold(BigQueue q, long from) {
        Consumer c = Consumers.of(q).open("model-" + System.nanoTime());
        try {
            c.seek(Math.max(from, q.earliestOffset()));
            Map<String, Message> newest = new HashMap<>();
            for (Message m = c.dequeueMessage(); m != null; m = c.dequeueMessage()) {
                if (m.key() == null) {
                    continue;
                }
                newest.merge(m.keyString(), m, (a, x) -> {
                    int cmp = x.timestamp().compareTo(a.timestamp());
                    return cmp > 0 || (cmp == 0 && x.offset() > a.offset()) ? x : a;
                });
            }
            Map<String, String> out = new TreeMap<>();
            newest.forEach((k, m) -> {
                if (!m.isTombstone()) {
                    out.put(k, m.valueString());
                }
            });
            return out;
        } finally {
            Consumers.of(q).delete(c.name());
        }
    }

    @Test
    void startUpAfter100kUpdatesTo1kKeys_equalsTheModel() {
        Path dir = work.resolve("q");
        Map<String, String> model = new HashMap<>();
        Random r = new Random(42);
        LatestValuesOptions opts = LatestValuesOptions.builder().checkpointEveryBytes(256 * 1024)
                .checkpointOnClose(false).build();
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p", opts)) {
            for (int i = 0; i < 100_000; i++) {
                String k = "key-" + r.nextInt(1000);
                if (r.nextInt(10) == 0) {
                    lv.delete(k);
                    model.remove(k);
                } else {
                    String v = "v" + i + "-" + "x".repeat(r.nextInt(40));
                    lv.put(k, b(v));
                    model.put(k, v);
                }
            }
            assertEquals(new TreeMap<>(model), contents(lv));
        }
        try (BigQueue q = BigQueue.open(dir, config())) {
            q.gc();
            long earliest = q.earliestOffset();
            try (LatestValues lv = LatestValues.open(q, "p", opts)) {
                assertEquals(new TreeMap<>(model), contents(lv));
                assertTrue(lv.checkpointOffset() > 0, "automatic checkpoints by bytes ran");
            }
            assertTrue(earliest > 0, "the arenas before the kept snapshots were collected: earliest " + earliest);
        }
    }

    /**
     * {@code checkpointEveryBytes} counts every record the follower passes, keyed or not: on a queue
     * that carries mostly unkeyed traffic, checkpoints by bytes run and the arenas before them are
     * collected, without waiting for the timed checkpoint (only keyed bytes counted before: no
     * checkpoint ran, and the store held every arena since it opened).
     */
    @Test
    void checkpointEveryBytes_countsRecordsWithoutAKey() throws Exception {
        LatestValuesOptions opts = LatestValuesOptions.builder().checkpointEveryBytes(64 * 1024)
                .checkpointInterval(Duration.ZERO).checkpointOnClose(false).keepSnapshots(1).build();
        try (BigQueue q = BigQueue.open(work.resolve("q"), config());
             LatestValues lv = LatestValues.open(q, "p", opts)) {
            lv.put("k", b("v"));
            byte[] unkeyed = new byte[1000];
            for (int i = 0; i < 300; i++) {
                q.enqueue(unkeyed); // ~300 KB: several 64 KiB arenas, one keyed record
            }
            // The follower writes a checkpoint the bytes call for before it reads the next record: once it
            // has passed the last one, every checkpoint due before it is written.
            assertTrue(lv.awaitFollowed(q.tailOffset(), Duration.ofMinutes(2)), "followed the queue");
            assertTrue(lv.checkpointOffset() > 200, "checkpoints by bytes ran over unkeyed records: the last one is"
                    + " at offset " + lv.checkpointOffset() + " of " + q.tailOffset());
            q.gc();
            assertTrue(q.earliestOffset() > 0, "the arenas before the checkpoint were collected: earliest "
                    + q.earliestOffset());
            assertEquals(Map.of("k", "v"), contents(lv));
        }
    }

    @Test
    void badInput_isRefusedWithAClearMessage() {
        try (BigQueue q = BigQueue.open(work.resolve("q"), config()); LatestValues lv = LatestValues.open(q, "p")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> LatestValues.open(q, "../x"));
            assertTrue(e.getMessage().contains("store name"), e.getMessage());
            IllegalStateException twice = assertThrows(IllegalStateException.class, () -> LatestValues.open(q, "p"));
            assertTrue(twice.getMessage().contains("already open"), twice.getMessage());
            assertThrows(NullPointerException.class, () -> lv.put(null, b("x")));
            assertThrows(NullPointerException.class, () -> lv.put("k", null));
            assertThrows(IllegalArgumentException.class,
                    () -> LatestValuesOptions.builder().keepSnapshots(0));
            assertThrows(IllegalArgumentException.class,
                    () -> LatestValuesOptions.builder().checkpointInterval(Duration.ofSeconds(-1)));
            lv.put("k", b("v"));
            assertEquals(Set.of("k"), lv.keys());
        }
    }

    @Test
    void aReadOnlyQueue_isRefused_withoutTouchingTheWritersStore() throws Exception {
        Path dir = work.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p")) {
            lv.put("k", b("v"));
            List<String> files = filesIn(dir);
            try (BigQueue reader = BigQueue.open(dir, QueueConfig.builder().readOnly(true).build())) {
                IllegalStateException e = assertThrows(IllegalStateException.class,
                        () -> LatestValues.open(reader, "p"));
                assertTrue(e.getMessage().contains("read-only") && e.getMessage().contains("writes the queue"),
                        e.getMessage());
            }
            assertEquals(files, filesIn(dir), "the refused open left no file behind");
            assertEquals("v", new String(lv.get("k"), StandardCharsets.UTF_8));
        }
    }

    private static List<String> filesIn(Path dir) throws java.io.IOException {
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(dir)) {
            return files.map(f -> dir.relativize(f).toString()).sorted().toList();
        }
    }

    /** UTF-8 cannot hold an unpaired surrogate: stored, the key would come back as another one ("k?"). */
    @Test
    void keysWithAnUnpairedSurrogate_areRefused_wellFormedOnesSurviveARestart() {
        Path dir = work.resolve("q");
        String pair = "k\uD83D\uDE00";
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p")) {
            for (String bad : List.of("k\uD800", "k\uDBFF", "\uDC00k", "k\uDE00\uD83D")) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> lv.put(bad, b("1")));
                assertTrue(e.getMessage().contains("unpaired surrogate"), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> lv.delete(bad));
            }
            assertEquals(0, q.tailOffset(), "nothing appended for a refused key");
            lv.put(pair, b("1"));
        }
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p")) {
            assertEquals(Map.of(pair, "1"), contents(lv));
        }
    }

    /**
     * An interval too long for a long of nanoseconds (~292 years: "never, but not off") once threw
     * in the follower before it could report anything, and open waited for it for ever. The wait is
     * for a condition: open returned, or it waits while the follower is gone.
     */
    @Test
    void aCheckpointIntervalTooLongForNanos_opensAndFollows() throws Exception {
        Path dir = work.resolve("q");
        LatestValuesOptions forever = LatestValuesOptions.builder()
                .checkpointInterval(Duration.ofSeconds(Long.MAX_VALUE)).build();
        try (BigQueue q = BigQueue.open(dir, config())) {
            q.enqueue(Message.builder().key("k").value("v").build());
            AtomicReference<Object> result = new AtomicReference<>();
            Thread opener = new Thread(() -> {
                try {
                    result.set(LatestValues.open(q, "p", forever));
                } catch (Throwable e) {
                    result.set(e);
                }
            }, "opener");
            opener.setDaemon(true);
            opener.start();
            Lifetime.waitUntil(() -> !opener.isAlive() || (opener.getState() == Thread.State.WAITING
                    && Lifetime.isInside(opener, "LatestValues", "awaitFollowedInternal")
                    && Lifetime.liveThread("bigqueue-latest-p") == null), "open ends, or waits for a dead follower",
                    Duration.ofMinutes(2));
            assertFalse(opener.isAlive(), "LatestValues.open waits for a follower that died");
            LatestValues lv = assertInstanceOf(LatestValues.class, result.get());
            try (lv) {
                assertEquals("v", s(lv.get("k")));
                lv.put("k", b("w"));
                lv.checkpoint();
            }
        }
    }
}
