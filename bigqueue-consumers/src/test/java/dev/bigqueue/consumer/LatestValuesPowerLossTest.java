package dev.bigqueue.consumer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.LazyFs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * LatestValues under a simulated power cut (LazyFS drops every write not fsynced): the snapshot
 * files, their directory and the queue they name must agree after the loss. A
 * {@link LatestValuesPowerLossWriter} child puts and deletes keys with checkpoints by bytes and on
 * request, beside another writer of the queue; the parent kills it at a random moment, drops the
 * unsynced data and reopens. It checks:
 * <ul>
 *   <li>the queue and the store open (a snapshot that did not survive whole falls back to an older
 *       one or a replay; never a failed open while the records are there);</li>
 *   <li>the store's map equals a fold of every record the queue still holds (the garbage collector
 *       is off, so the queue holds them all): a snapshot naming records that were lost, or missing
 *       some below its offset, would show here as a wrong map;</li>
 *   <li>every record below the offset of a {@code checkpoint()} that returned survived (a
 *       checkpoint makes the queue durable up to its offset before it writes the snapshot).</li>
 * </ul>
 * Runs in the {@code power-loss} profile with LazyFS given, like {@link LazyFsPowerLossTest};
 * {@code -Dpowerloss.cycles=N} sets the cycles of both (this one runs half as many, at least 4).
 */
@Tag("power-loss")
class LatestValuesPowerLossTest {
    private static final int CACHE_MIB = 256;
    private static final long[] ARENA_BYTES = {64 * 1024, 1024 * 1024};
    private static final long[] FLUSH_INTERVAL_MS = {0, 50, 1000};
    private static final long[] CHECKPOINT_EVERY_BYTES = {0, 32 * 1024, 512 * 1024};
    private static final long[] CHECKPOINT_EVERY_PUTS = {0, 20, 300};
    private static final Duration CHILD_TIMEOUT = Duration.ofMinutes(5);

    @Test
    void powerLossAtRandomMoments_storeReopensWithTheMapOfWhatTheQueueKept() throws Exception {
        Path bin = LazyFs.binaryOrSkip();
        int cycles = Math.max(4, Integer.getInteger("powerloss.cycles", 30) / 2);
        long runSeed = Long.getLong("powerloss.seed", System.nanoTime());
        Random random = new Random(runSeed);
        List<String> failures = new ArrayList<>();
        int toolCrashes = 0;
        for (int cycle = 0; cycle < cycles; cycle++) {
            String[] setup = {null, Long.toString(random.nextLong()), Long.toString(200 + random.nextInt(6000)),
                Long.toString(ARENA_BYTES[random.nextInt(ARENA_BYTES.length)]),
                Long.toString(FLUSH_INTERVAL_MS[random.nextInt(FLUSH_INTERVAL_MS.length)]),
                Long.toString(CHECKPOINT_EVERY_BYTES[random.nextInt(CHECKPOINT_EVERY_BYTES.length)]),
                Long.toString(CHECKPOINT_EVERY_PUTS[random.nextInt(CHECKPOINT_EVERY_PUTS.length)])};
            String report;
            try (LazyFs fs = cycle == 0 ? LazyFs.mountOrSkip(bin, CACHE_MIB) : LazyFs.mount(bin, CACHE_MIB)) {
                report = fs.unlessCrashed(() -> cycle(fs, setup));
                if (report == null) {
                    // LazyFS segfaults now and then; what its dead mount did says nothing about the store.
                    toolCrashes++;
                    report = "ok? not counted: LazyFS itself died";
                }
            }
            String line = "cycle " + cycle + " (target " + setup[2] + ", arena " + setup[3] + " B, flushInterval "
                    + setup[4] + " ms, checkpoint every " + setup[5] + " bytes / " + setup[6] + " puts): " + report;
            System.out.println(line);
            if (!report.startsWith("ok")) {
                failures.add(line);
            }
        }
        String summary = "LatestValues under LazyFS power loss, seed " + runSeed + ": " + cycles + " cycles ("
                + toolCrashes + " not counted: LazyFS died), " + failures.size() + " failed";
        System.out.println(summary);
        assertTrue(failures.isEmpty(), summary + "\nfirst failure: " + (failures.isEmpty() ? "" : failures.get(0)));
        assertTrue(toolCrashes * 4 <= cycles, summary + ": LazyFS died in too many cycles for the run to say much");
    }

    /** One power loss; returns "ok ..." or what went wrong. */
    private static String cycle(LazyFs fs, String[] setup) throws Exception {
        Path dir = fs.path().resolve("queue");
        setup[0] = dir.toString();
        long lastCheckpoint = 0;
        long acks = 0;
        try (ChildJvm child = ChildJvm.start(LatestValuesPowerLossWriter.class, setup)) {
            child.awaitLine("READY", CHILD_TIMEOUT);
            child.awaitLine("ACK " + setup[2], CHILD_TIMEOUT);
            child.kill();
            for (String l : child.lines()) {
                if (l.startsWith("CHECKPOINT ")) {
                    lastCheckpoint = Long.parseLong(l.substring("CHECKPOINT ".length()));
                } else if (l.startsWith("ACK ")) {
                    acks++;
                }
            }
        }
        fs.powerLoss();
        int snapshots = snapshotFiles(dir);
        try (BigQueue q = BigQueue.open(dir, PowerLossWriter.config(Long.parseLong(setup[3]), 0, false))) {
            long tail = q.tailOffset();
            if (tail < lastCheckpoint) {
                return "the queue's tail " + tail + " is below the offset of a checkpoint that returned, "
                        + lastCheckpoint;
            }
            Map<String, String> expected = LatestValuesTest.fold(q, 0);
            LatestValues lv;
            try {
                lv = LatestValues.open(q, LatestValuesPowerLossWriter.STORE);
            } catch (RuntimeException e) {
                return "the store did not open: " + e;
            }
            try (lv) {
                Map<String, String> actual = LatestValuesTest.contents(lv);
                if (!actual.equals(expected)) {
                    return "the map differs from a fold of the queue's " + tail + " records: "
                            + diff(expected, actual) + " (loaded from the snapshot at " + lv.checkpointOffset() + ")";
                }
                return "ok: " + acks + " ops acknowledged, tail " + tail + ", " + actual.size() + " keys, "
                        + snapshots + " snapshot file(s) after the loss, loaded at offset " + lv.checkpointOffset()
                        + ", last checkpoint returned at " + lastCheckpoint;
            }
        }
    }

    private static int snapshotFiles(Path queueDir) throws Exception {
        Path latest = queueDir.resolve("latest");
        if (!Files.isDirectory(latest)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(latest)) {
            return (int) s.filter(p -> p.getFileName().toString().endsWith(".snap")).count();
        }
    }

    private static String diff(Map<String, String> expected, Map<String, String> actual) {
        List<String> out = new ArrayList<>();
        for (String k : expected.keySet()) {
            String e = expected.get(k);
            String a = actual.get(k);
            if (!e.equals(a)) {
                out.add(k + ": expected " + head(e) + ", was " + head(a));
            }
        }
        for (String k : actual.keySet()) {
            if (!expected.containsKey(k)) {
                out.add(k + ": expected absent, was " + head(actual.get(k)));
            }
        }
        return out.size() + " key(s), e.g. " + out.subList(0, Math.min(3, out.size()));
    }

    private static String head(String s) {
        return s == null ? "absent" : s.substring(0, s.indexOf('|') < 0 ? Math.min(20, s.length()) : s.indexOf('|'));
    }
}
