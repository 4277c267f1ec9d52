package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.LatestValuesTest.b;
import static dev.bigqueue.consumer.LatestValuesTest.config;
import static dev.bigqueue.consumer.LatestValuesTest.contents;
import static dev.bigqueue.consumer.LatestValuesTest.s;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tombstones are forgotten at a checkpoint once older than {@code tombstoneRetention}, in memory
 * and in the snapshot alike, so a store whose keys come and go stops growing, and a restart loads
 * the same map the store went on with.
 */
class LatestValuesTombstoneTest {
    private static final Duration WAIT = Duration.ofMinutes(2); // a hang detector only
    private static final int KEYS = 2000;

    @TempDir
    Path work;

    private static LatestValuesOptions options(Duration tombstoneRetention) {
        return LatestValuesOptions.builder().checkpointEveryBytes(0).checkpointInterval(Duration.ZERO)
                .keepSnapshots(1).tombstoneRetention(tombstoneRetention).build();
    }

    /** Puts then deletes {@link #KEYS} keys, keeps "kept", checkpoints; returns the snapshot's size. */
    private long churnAndCheckpoint(LatestValues store, Path dir) throws IOException {
        for (int i = 0; i < KEYS; i++) {
            store.put("gone-" + i, b("v" + i));
        }
        for (int i = 0; i < KEYS; i++) {
            assertTrue(store.delete("gone-" + i));
        }
        store.put("kept", b("k"));
        store.checkpoint();
        try (Stream<Path> s = Files.list(dir.resolve("latest"))) {
            Path snap = s.filter(p -> p.getFileName().toString().matches("p-\\d{20}\\.snap")).findFirst()
                    .orElseThrow();
            return Files.size(snap);
        }
    }

    /** A record for {@code key} from another writer, stamped an hour ago: older than the delete. */
    private static long olderRecordFromAnotherWriter(BigQueue q, String key) {
        return q.enqueue(Message.builder().key(key).value("from the past")
                .timestamp(Instant.now().minus(Duration.ofHours(1))).build());
    }

    @Test
    void forgottenAtACheckpoint_inMemoryAndInTheSnapshot_andARestartAgrees() throws Exception {
        Path dir = work.resolve("q");
        Map<String, String> before;
        try (BigQueue q = BigQueue.open(dir, config());
             LatestValues store = LatestValues.open(q, "p", options(Duration.ZERO))) {
            long size = churnAndCheckpoint(store, dir);
            assertTrue(size < KEYS * 10L, "the snapshot still holds the tombstones: " + size + " bytes");
            assertEquals(1, store.size());
            // Forgotten: an older record of a deleted key, appended after, brings the key back.
            long offset = olderRecordFromAnotherWriter(q, "gone-7");
            assertTrue(store.awaitFollowed(offset + 1, WAIT));
            assertEquals("from the past", s(store.get("gone-7")));
            before = contents(store);
        }
        try (BigQueue q = BigQueue.open(dir, config());
             LatestValues store = LatestValues.open(q, "p", options(Duration.ZERO))) {
            assertEquals(before, contents(store));
            assertEquals(Map.of("kept", "k", "gone-7", "from the past"), contents(store));
        }
    }

    @Test
    void keptWhileYoungerThanTheRetention_anOlderRecordCannotBringTheKeyBack() throws Exception {
        Path dir = work.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config());
             LatestValues store = LatestValues.open(q, "p", options(Duration.ofDays(1)))) {
            long size = churnAndCheckpoint(store, dir);
            assertTrue(size > KEYS * 20L, "the snapshot lost the tombstones: " + size + " bytes");
            long offset = olderRecordFromAnotherWriter(q, "gone-7");
            assertTrue(store.awaitFollowed(offset + 1, WAIT));
            assertNull(store.get("gone-7"), "the tombstone is newer than the record");
        }
        try (BigQueue q = BigQueue.open(dir, config());
             LatestValues store = LatestValues.open(q, "p", options(Duration.ofDays(1)))) {
            assertEquals(Map.of("kept", "k"), contents(store));
        }
    }

    @Test
    void defaultIsADay_andBadValuesAreRefusedClearly() {
        assertEquals(Duration.ofDays(1), LatestValuesOptions.defaults().tombstoneRetention());
        assertTrue(LatestValuesOptions.defaults().toString().contains("tombstoneRetention=PT24H"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LatestValuesOptions.builder().tombstoneRetention(Duration.ofSeconds(-1)));
        assertTrue(e.getMessage().contains("negative"), e.getMessage());
        NullPointerException n = assertThrows(NullPointerException.class,
                () -> LatestValuesOptions.builder().tombstoneRetention(null));
        assertTrue(n.getMessage().contains("Duration.ZERO"), n.getMessage());
        // A retention too long for milliseconds keeps every tombstone rather than overflow.
        LatestValuesOptions forever = options(Duration.ofSeconds(Long.MAX_VALUE));
        assertEquals(Duration.ofSeconds(Long.MAX_VALUE), forever.tombstoneRetention());
    }

    @Test
    void aRetentionTooLongForMillis_keepsEveryTombstone() throws Exception {
        Path dir = work.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config());
             LatestValues store = LatestValues.open(q, "p", options(Duration.ofSeconds(Long.MAX_VALUE)))) {
            long size = churnAndCheckpoint(store, dir);
            assertTrue(size > KEYS * 20L, "tombstones forgotten: " + size + " bytes");
        }
    }

    /**
     * A delete puts its tombstone in the map before the follower reads it. A record of another writer
     * enqueued just before that delete, stamped earlier, is then still ahead of the follower: a
     * checkpoint in between must keep the tombstone (it is past the checkpoint's offset), or that
     * record brings the key back after delete returned, in memory and after a restart.
     *
     * <p>The follower is held just after applying the record that makes a checkpoint due: it takes
     * the store's progress monitor when someone waits in awaitFollowed, and the test holds it.
     */
    @Test
    void tombstonePastTheCheckpointOffset_isKept_soAnOlderRecordNotYetFollowedCannotBringTheKeyBack()
            throws Exception {
        Path dir = work.resolve("q");
        LatestValuesOptions opts = LatestValuesOptions.builder().checkpointEveryBytes(1)
                .checkpointInterval(Duration.ZERO).tombstoneRetention(Duration.ZERO).keepSnapshots(1).build();
        String inMemory;
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p", opts)) {
            Thread waiter = new Thread(() -> {
                try {
                    lv.awaitFollowed(Long.MAX_VALUE, Duration.ofDays(1));
                } catch (InterruptedException | IllegalStateException e) {
                    // ends the waiter
                }
            }, "waiter");
            waiter.setDaemon(true);
            waiter.start();
            Lifetime.waitUntil(() -> Lifetime.isInside(waiter, "LatestValues", "awaitFollowed")
                    && waiter.getState() == Thread.State.TIMED_WAITING, "a thread waiting in awaitFollowed", WAIT);
            Field f = LatestValues.class.getDeclaredField("progress");
            f.setAccessible(true);
            Object progress = f.get(lv);
            Thread follower = Lifetime.liveThread("bigqueue-latest-p");
            synchronized (progress) {
                long big = q.enqueue(Message.builder().key("big").value(new byte[20_000]).build());
                Lifetime.waitUntil(() -> lv.followedOffset() == big + 1 && follower.getState() == Thread.State.BLOCKED,
                        "the follower applied the big record (a checkpoint is due) and waits for the monitor", WAIT);
                q.enqueue(Message.builder().key("K").value("older value")
                        .timestamp(Instant.now().minusSeconds(1)).build());
                lv.delete("K");
                assertNull(lv.get("K"), "deleted");
            }
            assertTrue(lv.awaitFollowed(q.tailOffset(), WAIT));
            inMemory = s(lv.get("K"));
            waiter.interrupt();
        }
        String afterRestart;
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p", opts)) {
            afterRestart = s(lv.get("K"));
        }
        assertEquals("null null", inMemory + " " + afterRestart,
                "get(K) after delete(K) returned, in memory then after a restart");
    }

    /**
     * A checkpoint that fails keeps the tombstones it was about to forget: a restart loads the
     * previous snapshot, which holds them, so the store must go on with them too.
     */
    @Test
    void failedCheckpoint_keepsTheTombstonesItWouldHaveForgotten() throws Exception {
        Path dir = work.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config());
             LatestValues store = LatestValues.open(q, "p", options(Duration.ZERO))) {
            store.put("k", b("v"));
            store.delete("k");
            assertTrue(store.awaitFollowed(q.tailOffset(), WAIT));
            // A directory where the snapshot's temp file goes makes the checkpoint fail.
            Path target = new Snapshots(dir, "p").fileFor(store.followedOffset());
            Path blocker = target.resolveSibling(target.getFileName() + ".tmp");
            Files.createDirectories(blocker);
            Files.createFile(blocker.resolve("keeps-it-non-empty"));
            assertThrows(UncheckedIOException.class, store::checkpoint);
            long offset = olderRecordFromAnotherWriter(q, "k");
            assertTrue(store.awaitFollowed(offset + 1, WAIT));
            assertNull(store.get("k"), "the tombstone was forgotten by a checkpoint that failed");
        }
    }
}
