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
}
