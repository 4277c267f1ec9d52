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
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
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

    private static QueueConfig withRetention() {
        return QueueConfig.builder().arenaSize(64 * 1024).ownConsumer(false).gcInterval(Duration.ZERO)
                .retention(Duration.ofHours(1)).build();
    }

    /** Opens store "p" of {@code q}, with a collection of {@code q} between the choice of its start and the seeks. */
    private static LatestValues openWithACollectionAfterTheChoice(BigQueue q) {
        LatestValues.afterChoiceForTests = q::gc;
        try {
            return LatestValues.open(q, "p", manual(false));
        } finally {
            LatestValues.afterChoiceForTests = () -> { };
        }
    }

    /**
     * A collection between the choice of the start point and the seeks to it (retention here, which
     * waits for no consumer) took the records after the store's snapshot: open threw the
     * {@code IllegalArgumentException} of {@code Consumer.seek}. It chooses again now, and since no
     * map can be made without those records, fails with the documented IllegalStateException that
     * says what it found.
     */
    @Test
    void collectionWhileAStoreOpens_pastItsSnapshot_failsWithTheDocumentedError() {
        try (BigQueue q = BigQueue.open(work.resolve("q"), withRetention())) {
            long snapshot;
            try (LatestValues lv = LatestValues.open(q, "p", manual(false))) {
                oldRecords(q, 100);
                lv.checkpoint();
                snapshot = lv.checkpointOffset();
                oldRecords(q, 100); // the snapshot's arena is then behind the tail's
            }
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> openWithACollectionAfterTheChoice(q).close());
            assertTrue(q.earliestOffset() > snapshot, "the collection took the records after the snapshot at "
                    + snapshot + ": earliest " + q.earliestOffset());
            assertTrue(e.getMessage().contains("cannot load store 'p'")
                    && e.getMessage().contains("no longer holds the records from its offset " + snapshot),
                    e.getMessage());
            assertEquals(List.of(), List.of(e.getSuppressed()), "the failed open cleaned up without errors");
        }
    }

    /**
     * The same collection while a new store opens: it begins where the queue begins now (it has
     * missed nothing), instead of failing with the {@code IllegalArgumentException} of a seek to
     * where the queue began before.
     */
    @Test
    void collectionWhileANewStoreOpens_itBeginsWhereTheQueueNowDoes() throws Exception {
        try (BigQueue q = BigQueue.open(work.resolve("q"), withRetention())) {
            oldRecords(q, 100);
            q.enqueue(Message.builder().key("fresh").value(b("yes")).build());
            try (LatestValues lv = openWithACollectionAfterTheChoice(q)) {
                assertTrue(q.earliestOffset() > 0, "the collection took the first arenas: earliest "
                        + q.earliestOffset());
                assertEquals(q.tailOffset(), lv.followedOffset(), "open returns once it followed to the tail");
                assertEquals("yes", new String(lv.get("fresh"), StandardCharsets.UTF_8));
                lv.put("k", b("v"));
                assertEquals("v", new String(lv.get("k"), StandardCharsets.UTF_8));
            }
            try (LatestValues lv = LatestValues.open(q, "p", manual(false))) {
                assertEquals("v", new String(lv.get("k"), StandardCharsets.UTF_8), "reopens from where it began");
            }
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
            assertDoesNotThrow(() -> ab.write(ab.fileFor(0), 0, null, map, () -> LatestValues.open(q, "a").close()),
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
            assertThrows(UncheckedIOException.class, () -> snapshots.write(snapshots.fileFor(1), 1, null, map, () -> {
                throw new UncheckedIOException(new IOException("flush failed"));
            }));
            assertEquals(List.of(), files(snapshots.directory()));
        }
    }

    /**
     * A snapshot of another queue (latest/ copied or restored from elsewhere) whose offset falls
     * inside this queue would load that queue's values: the record below its offset, which the
     * snapshot names, tells them apart.
     */
    @Test
    void snapshotOfAnotherQueue_isSetAsideAsBad_andTheStoreReplaysItsOwnQueue() throws IOException {
        Path other = work.resolve("other");
        try (BigQueue q = BigQueue.open(other, config()); LatestValues lv = LatestValues.open(q, "p")) {
            lv.put("other-1", b("x"));
            lv.put("other-2", b("x"));
        } // checkpoint at close: p-2.snap
        Path dir = work.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p", manual(false))) {
            for (int i = 0; i < 3; i++) {
                lv.put("mine-" + i, b("y"));
            }
        }
        Files.copy(other.resolve("latest/p-00000000000000000002.snap"),
                dir.resolve("latest/p-00000000000000000002.snap"));
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p", manual(false))) {
            assertEquals(Map.of("mine-0", "y", "mine-1", "y", "mine-2", "y"), contents(lv));
            assertTrue(files(dir.resolve("latest")).contains("p-00000000000000000002.snap.bad"),
                    files(dir.resolve("latest")).toString());
        }
    }

    /**
     * The store's own snapshots pass that check whatever the record below their offset is: its own
     * put or delete (passed by the follower without reading it), another writer's keyed record, or
     * a record without a key. Failing it would only cost a replay, so the test looks at which
     * snapshot the store started from.
     */
    @Test
    void ownSnapshots_passTheQueueCheck_whateverTheRecordBelowTheirOffset() throws Exception {
        Path dir = work.resolve("q");
        List<BiConsumer<BigQueue, LatestValues>> lastRecords = List.of(
                (q, lv) -> lv.put("own", b("1")),
                (q, lv) -> lv.delete("own"),
                (q, lv) -> q.enqueue(Message.builder().key("theirs").value("2")
                        .timestamp(Instant.now().minusSeconds(5)).build()),
                (q, lv) -> q.enqueue(Message.of("no key")));
        for (var last : lastRecords) {
            long at;
            try (BigQueue q = BigQueue.open(dir, config());
                 LatestValues lv = LatestValues.open(q, "p", manual(false))) {
                last.accept(q, lv);
                lv.checkpoint();
                at = lv.checkpointOffset();
                assertEquals(q.tailOffset(), at);
            }
            try (BigQueue q = BigQueue.open(dir, config());
                 LatestValues lv = LatestValues.open(q, "p", manual(false))) {
                assertEquals(at, lv.checkpointOffset(), "started from; latest/ holds " + files(dir.resolve("latest")));
            }
        }
        assertTrue(files(dir.resolve("latest")).stream().noneMatch(f -> f.endsWith(".bad")),
                files(dir.resolve("latest")).toString());
    }

    /** A snapshot written before the format named the record below its offset (version 1) still loads. */
    @Test
    void versionOneSnapshot_stillLoads() throws IOException {
        Path dir = work.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p", manual(false))) {
            lv.put("a", b("1"));
            lv.put("b", b("2"));
        }
        writeVersionOne(dir.resolve("latest/p-00000000000000000002.snap"), 2, Map.of("a", "1", "b", "2"));
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p", manual(false))) {
            assertEquals(2, lv.checkpointOffset(), "started from the version-1 snapshot");
            assertEquals(Map.of("a", "1", "b", "2"), contents(lv));
        }
    }

    /** The version-1 layout: a 40-byte header, then the entries (each stamped 1 ms, at offset 0). */
    private static void writeVersionOne(Path file, long offset, Map<String, String> entries) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(body);
        for (Map.Entry<String, String> e : entries.entrySet()) {
            out.writeInt(b(e.getKey()).length);
            out.write(b(e.getKey()));
            out.writeLong(1);
            out.writeLong(0);
            out.writeInt(b(e.getValue()).length);
            out.write(b(e.getValue()));
        }
        ByteBuffer fields = ByteBuffer.allocate(28).putInt(1).putLong(offset).putLong(entries.size())
                .putLong(40 + body.size());
        CRC32C crc = new CRC32C();
        crc.update(body.toByteArray());
        crc.update(fields.array());
        ByteBuffer head = ByteBuffer.allocate(40).put("BQLVSNAP".getBytes(StandardCharsets.US_ASCII))
                .putInt((int) crc.getValue()).put(fields.array());
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.write(head.array());
        all.write(body.toByteArray());
        Files.write(file, all.toByteArray());
    }
    /**
     * An open that fails (no snapshot usable, a full replay would miss collected records) leaves
     * nothing behind: it once left a new follower consumer at the earliest offset, which held
     * every arena from there on.
     */
    @Test
    void aFailedOpen_leavesNoNewFollowerConsumerHoldingArenas() {
        QueueConfig c = QueueConfig.builder().arenaSize(8192).gcInterval(Duration.ZERO).build();
        Path dir = work.resolve("failed-open");
        try (BigQueue q = BigQueue.open(dir, c)) {
            try (LatestValues s = LatestValues.open(q, "s")) {
                s.put("k", new byte[10]);
            }
            Consumers consumers = Consumers.of(q);
            // Someone removed the store's consumers; its snapshot files stay.
            assertTrue(consumers.delete("latest.s"));
            assertTrue(consumers.delete("latest-follow.s"));
            for (int i = 0; i < 100; i++) {
                q.enqueue(new byte[500]);
            }
            while (q.dequeue() != null) {
                // read everything, so the store's first records can be collected
            }
            q.gc();
            assertTrue(q.earliestOffset() > 1, "the store's first records were collected: " + q.earliestOffset());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> LatestValues.open(q, "s"));
            assertTrue(e.getMessage().contains("cannot load store"), e.getMessage());
            assertEquals(List.of(), List.copyOf(consumers.names()), "a failed open left a consumer behind");
        }
    }
}
