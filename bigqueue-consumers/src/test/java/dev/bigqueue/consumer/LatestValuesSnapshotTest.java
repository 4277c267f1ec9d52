package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.LatestValuesTest.b;
import static dev.bigqueue.consumer.LatestValuesTest.config;
import static dev.bigqueue.consumer.LatestValuesTest.contents;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Torn, truncated and damaged snapshots: the previous one, a full replay, or a clear error; never a wrong map. */
class LatestValuesSnapshotTest {
    @TempDir
    Path work;

    private final Map<String, String> model = new TreeMap<>();

    /** Three checkpoints with updates between them and after the last; arenas collected. */
    private void write(Path dir, LatestValuesOptions opts) {
        write(dir, opts, false);
    }

    /** With {@code keepHistory}, a consumer at 0 (a lagging reader) keeps every arena. */
    private void write(Path dir, LatestValuesOptions opts, boolean keepHistory) {
        try (BigQueue q = BigQueue.open(dir, config())) {
            if (keepHistory) {
                Consumers.of(q).open("keeper");
            }
            write(q, opts);
        }
    }

    private void write(BigQueue q, LatestValuesOptions opts) {
        try (LatestValues lv = LatestValues.open(q, "p", opts)) {
            int n = 0;
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 3000; i++, n++) {
                    String k = "k" + (n * 7 % 500);
                    String v = "v" + n + "-" + "y".repeat(n % 50);
                    lv.put(k, b(v));
                    model.put(k, v);
                }
                lv.delete("k" + round);
                model.remove("k" + round);
                lv.checkpoint();
            }
            for (int i = 0; i < 100; i++, n++) {
                lv.put("tail" + i, b("t" + n));
                model.put("tail" + i, "t" + n);
            }
            q.gc();
        }
    }

    private static LatestValuesOptions manualOnly(int keep) {
        return LatestValuesOptions.builder().checkpointEveryBytes(0).checkpointInterval(java.time.Duration.ZERO)
                .checkpointOnClose(false).keepSnapshots(keep).build();
    }

    private static List<Path> snaps(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve("latest"))) {
            return s.filter(p -> p.getFileName().toString().matches("p-\\d{20}\\.snap")).sorted().toList();
        }
    }

    private static void flipByte(Path file, long at) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int x = f.read();
            f.seek(at);
            f.write(x ^ 0x40);
        }
    }

    private Map<String, String> reopen(Path dir, LatestValuesOptions opts) {
        try (BigQueue q = BigQueue.open(dir, config()); LatestValues lv = LatestValues.open(q, "p", opts)) {
            return contents(lv);
        }
    }

    @Test
    void damagedNewest_fallsBackToThePrevious_tornTempIgnored() throws IOException {
        Path dir = work.resolve("q");
        write(dir, manualOnly(2));
        List<Path> snaps = snaps(dir);
        assertEquals(2, snaps.size(), "two snapshots kept: " + snaps);
        flipByte(snaps.get(1), Files.size(snaps.get(1)) / 2);
        Files.write(dir.resolve("latest").resolve(snaps.get(1).getFileName() + ".tmp"), new byte[100]);
        assertEquals(model, reopen(dir, manualOnly(2)));
        assertTrue(Files.exists(snaps.get(1).resolveSibling(snaps.get(1).getFileName() + ".bad")),
                "the damaged snapshot is kept aside, not deleted");
        assertTrue(Files.notExists(dir.resolve("latest").resolve(snaps.get(1).getFileName() + ".tmp")));
    }

    @Test
    void truncatedOrEmptySnapshots_fallBackToAFullReplay_whileTheArenasAreThere() throws IOException {
        Path dir = work.resolve("q");
        write(dir, manualOnly(2));
        List<Path> snaps = snaps(dir);
        try (RandomAccessFile f = new RandomAccessFile(snaps.get(1).toFile(), "rw")) {
            f.setLength(f.length() - 1);
        }
        Files.write(snaps.get(0), new byte[0]);
        // The hold is at the older kept snapshot, so the origin's arenas went: make them stay instead.
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertTrue(q.earliestOffset() > 0, "arenas collected");
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> reopen(dir, manualOnly(2)));
        assertTrue(e.getMessage().contains("no snapshot can be used") && e.getMessage().contains("delete"),
                e.getMessage());
        assertTrue(Files.exists(snaps.get(0).resolveSibling(snaps.get(0).getFileName() + ".bad")));

        // Same damage on a queue whose arenas are all still there: a full replay, equal to the model.
        Path whole = work.resolve("whole");
        model.clear();
        write(whole, manualOnly(2), true);
        List<Path> s2 = snaps(whole);
        for (Path p : s2) {
            try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                f.setLength(f.length() / 2);
            }
        }
        assertEquals(model, reopen(whole, manualOnly(2)));
    }

    @Test
    void keepOne_damagedSnapshot_arenasGone_failsClearly_andChangesNothing() throws IOException {
        Path dir = work.resolve("q");
        write(dir, manualOnly(1));
        List<Path> snaps = snaps(dir);
        assertEquals(1, snaps.size());
        flipByte(snaps.get(0), 45);
        Map<String, Long> arenasBefore = Fixtures.arenaContents(dir);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> reopen(dir, manualOnly(1)));
        assertTrue(e.getMessage().contains("CRC") || e.getMessage().contains("length"), e.getMessage());
        Fixtures.assertArenasKept(arenasBefore, dir);
        // The error names the way out, and taking it works (a map from what the queue still holds).
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertTrue(Consumers.of(q).delete("latest.p"));
            Consumers.of(q).delete("latest-follow.p");
        }
        try (Stream<Path> s = Files.list(dir.resolve("latest"))) {
            for (Path p : s.toList()) {
                Files.delete(p);
            }
        }
        reopen(dir, manualOnly(1));
    }
}
