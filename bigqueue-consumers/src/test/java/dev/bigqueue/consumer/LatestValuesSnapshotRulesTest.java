package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.LatestValuesTest.b;
import static dev.bigqueue.consumer.LatestValuesTest.config;
import static dev.bigqueue.consumer.LatestValuesTest.contents;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import dev.bigqueue.QueueConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which snapshot files a store may load, keep and delete: never one that does not describe this
 * queue's records below its offset, and never another store's files.
 */
class LatestValuesSnapshotRulesTest {
    private static final Duration WAIT = Duration.ofMinutes(2); // a hang detector only

    @TempDir
    Path work;

    private static LatestValuesOptions manual(boolean checkpointOnClose) {
        return LatestValuesOptions.builder().checkpointEveryBytes(0).checkpointInterval(Duration.ZERO)
                .checkpointOnClose(checkpointOnClose).keepSnapshots(2).build();
    }

    private static List<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Copies the queue's files except latest/ (and the lock): its state on disk at this moment. */
    private static void copyQueueFiles(Path from, Path to) throws IOException {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.sorted().toList()) {
                Path rel = from.relativize(p);
                if (rel.toString().startsWith("latest") || rel.toString().equals(Lifetime.LOCK_FILE)) {
                    continue;
                }
                Path target = to.resolve(rel.toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }

    private static void deleteAllButSnapshots(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                if (!p.equals(dir) && !dir.relativize(p).toString().startsWith("latest")) {
                    Files.delete(p);
                }
            }
        }
    }

    /**
     * A snapshot past the queue's tail (the tail was lost after it was written, or the queue's files
     * were restored from a backup) cannot be loaded now, and must not be later either: once the
     * queue grows past its offset with other records, it would hold the lost values and miss those.
     */
    @Test
    void snapshotPastALostTail_isSetAsideAsBad_notLoadedOnceTheTailPassesIt() throws IOException {
        Path dir = work.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p", manual(false))) {
            lv.put("a", b("1"));
            lv.put("b", b("1"));
            lv.checkpoint(); // p-2.snap
        }
        Path before = work.resolve("before");
        copyQueueFiles(dir, before);
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p", manual(false))) {
            lv.put("a", b("lost"));
            lv.put("b", b("lost"));
            lv.checkpoint(); // p-4.snap
        }
        deleteAllButSnapshots(dir);
        copyQueueFiles(before, dir); // offsets 2 and 3 are lost; p-4.snap is still there
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p", manual(false))) {
            assertEquals(2, q.tailOffset());
            assertEquals(Map.of("a", "1", "b", "1"), contents(lv));
            assertTrue(files(dir.resolve("latest")).contains("p-00000000000000000004.snap.bad"),
                    files(dir.resolve("latest")).toString());
            lv.put("c", b("3"));
            lv.put("d", b("3"));
            lv.put("e", b("3"));
        } // no checkpoint at close: as after a kill -9
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p", manual(false))) {
            assertEquals(Map.of("a", "1", "b", "1", "c", "3", "d", "3", "e", "3"), contents(lv),
                    "after the queue grew past the stale snapshot's offset; latest/ holds "
                            + files(dir.resolve("latest")));
        }
    }

    /** Keyed records of another writer, stamped two hours ago: {@code n} of 2 KB. */
    private static void oldRecords(BigQueue q, int n) {
        Instant old = Instant.now().minus(Duration.ofHours(2));
        for (int i = 0; i < n; i++) {
            q.enqueue(Message.builder().key("old-" + i % 10).value(new byte[2048]).timestamp(old).build());
        }
    }

    /**
     * Retention does not wait for the hold consumer (by design), so it may delete the arenas of the
     * older kept snapshot. Such a snapshot can never be loaded, and the hold cannot be moved below the
     * earliest offset: a checkpoint must neither keep it nor fail on it, and deletes it.
     */
    @Test
    void retentionPastTheOlderKeptSnapshot_checkpointSucceeds_andDeletesTheSnapshotsBelowEarliest()
            throws Exception {
        Path dir = work.resolve("q");
        QueueConfig retention = QueueConfig.builder().arenaSize(64 * 1024).ownConsumer(false)
                .gcInterval(Duration.ZERO).retention(Duration.ofHours(1)).build();
        try (BigQueue q = BigQueue.open(dir, retention); LatestValues lv = LatestValues.open(q, "p", manual(false))) {
            long[] checkpoints = new long[3];
            for (int round = 0; round < 3; round++) {
                oldRecords(q, 100);
                assertTrue(lv.awaitFollowed(q.tailOffset(), WAIT));
                lv.checkpoint();
                checkpoints[round] = lv.checkpointOffset();
            }
            oldRecords(q, 100);
            assertTrue(lv.awaitFollowed(q.tailOffset(), WAIT));
            q.gc();
            assertTrue(q.earliestOffset() > checkpoints[2], "retention deleted the arenas of every snapshot: earliest "
                    + q.earliestOffset() + ", snapshots at " + Arrays.toString(checkpoints));
            assertDoesNotThrow(lv::checkpoint, "checkpoint once retention passed the older kept snapshot");
            Snapshots snapshots = new Snapshots(dir, "p");
            List<Long> below = snapshots.list().stream().map(snapshots::offsetOf)
                    .filter(o -> o < q.earliestOffset()).toList();
            assertEquals(List.of(), below, "snapshots below earliestOffset " + q.earliestOffset() + " left behind");
        }
    }

    /** Store "a" cleaning up its unfinished files must not take those of store "ab" (a prefix match did). */
    @Test
    void openingStoreA_leavesTheTempFileOfStoreAb_whileItCheckpoints() {
        Path dir = work.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config())) {
            Snapshots ab = new Snapshots(dir, "ab");
            ValueMap map = new ValueMap(16);
            map.apply("k", new ValueMap.Entry(b("v"), 1, 0));
            // The hook runs where a checkpoint of "ab" flushes the queue: its .tmp is written and synced.
            assertDoesNotThrow(() -> ab.write(ab.fileFor(0), 0, map, () -> LatestValues.open(q, "a").close()),
                    "checkpoint of store 'ab' while store 'a' opens");
        }
    }

    /** A checkpoint that fails (here: the queue's flush before the rename) leaves no .tmp taking room. */
    @Test
    void failedSnapshotWrite_deletesItsTempFile() throws IOException {
        Path dir = work.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config())) {
            Snapshots snapshots = new Snapshots(dir, "p");
            ValueMap map = new ValueMap(16);
            map.apply("k", new ValueMap.Entry(b("v"), 1, 0));
            assertThrows(UncheckedIOException.class, () -> snapshots.write(snapshots.fileFor(1), 1, map, () -> {
                throw new UncheckedIOException(new IOException("flush failed"));
            }));
            assertEquals(List.of(), files(snapshots.directory()));
        }
    }
}
