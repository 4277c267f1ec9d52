package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.LazyFs;
import dev.bigqueue.testing.Payloads;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code BigQueue.repair} under a power loss (LazyFS, see {@link LazyFs}). A durable queue of
 * several arenas has one record in the middle damaged; a child JVM repairs it and is killed at a
 * random moment, or right after repair returned; then LazyFS drops every byte not fsynced. Repair
 * promises that nothing is deleted: the bytes of every arena file that held records, as they were
 * before the repair, must still be on disk, in the queue directory or in the {@code .repair-*}
 * directory beside it (where repair copies an arena before it zeroes its end). And the queue, repaired again if the
 * first run did not finish, opens with every message before the damaged one. Runs in the
 * {@code power-loss} profile with {@code -Dlazyfs.bin=...}.
 */
@Tag("power-loss")
class RepairPowerLossTest {
    /** Bounds each wait for a child's line; a busy machine can slow a child JVM's start a lot. */
    private static final Duration CHILD_TIMEOUT = Duration.ofMinutes(5);
    private static final int ARENA = 64 * 1024;
    private static final int MESSAGE = 1000;
    private static final int MESSAGES = 240;
    private static final long SEED = 7;

    /** Repairs args[0], printing START before and DONE after. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            ChildJvm.betweenStartAndDone(() -> BigQueue.repair(Path.of(args[0])));
        }
    }

    @Test
    void powerLossDuringAndAfterRepair_keepsEveryOriginalByteSomewhere_andTheMessagesBeforeTheDamage()
            throws Exception {
        Path bin = LazyFs.binaryOrSkip();
        int cycles = Math.max(4, Integer.getInteger("powerloss.cycles", 30) / 3);
        Random random = new Random(Long.getLong("powerloss.seed", System.nanoTime()));
        long repairMs = 300;
        List<String> report = new ArrayList<>();
        for (int cycle = 0; cycle < cycles; cycle++) {
            boolean afterReturn = cycle % 4 == 0;
            long delayMs = afterReturn ? -1 : random.nextInt((int) Math.max(50, repairMs * 6 / 5));
            try (LazyFs fs = cycle == 0 ? LazyFs.mountOrSkip(bin, 64) : LazyFs.mount(bin, 64)) {
                long[] took = new long[1];
                String outcome = fs.unlessCrashed(() -> cycle(fs, delayMs, took));
                if (afterReturn && took[0] > 0) {
                    repairMs = took[0];
                }
                report.add(outcome == null ? "LazyFS itself died, not counted" : outcome);
            }
        }
        System.out.println("repair under power loss: " + String.join("; ", report));
    }

    /**
     * Enqueues args[1] messages into args[0] with no flush at all, prints DONE and waits to be
     * killed: it reads its stdin, which ends only if the test process went away first.
     */
    public static final class UnsyncedWriter {
        public static void main(String[] args) throws Exception {
            BigQueue q = BigQueue.open(Path.of(args[0]), QueueConfig.builder().arenaSize(ARENA)
                    .flushInterval(Duration.ZERO).build());
            for (int i = 0; i < Integer.parseInt(args[1]); i++) {
                q.enqueue(Payloads.payload(SEED, i, MESSAGE));
            }
            System.out.println("DONE");
            while (System.in.read() >= 0) {
                // nothing comes; the test kills this process
            }
        }
    }

    /**
     * Repair records the tail it found as durable and the queue as cleanly closed; the records up
     * to it must then be on disk. Here a writer was killed with nothing flushed, repair ran (in the
     * same boot, so it read them from the page cache), and then the power went: the queue used to
     * open "clean" with a tail over bytes the disk never had, and fail on the first read.
     */
    @Test
    void powerLossAfterRepairOfAQueueNothingWasFlushedIn_opensWithEveryMessageRepairKept() throws Exception {
        Path bin = LazyFs.binaryOrSkip();
        try (LazyFs fs = LazyFs.mountOrSkip(bin, 64)) {
            Path dir = fs.path().resolve("queue");
            try (ChildJvm writer = ChildJvm.start(UnsyncedWriter.class, dir.toString(), Integer.toString(MESSAGES))) {
                writer.awaitLine("DONE", CHILD_TIMEOUT);
                writer.kill();
            }
            RepairReport report = BigQueue.repair(dir);
            fs.powerLoss();
            try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(ARENA).build())) {
                assertEquals(MESSAGES, q.tailOffset(), report.toString());
                for (int i = 0; i < MESSAGES; i++) {
                    assertArrayEquals(Payloads.payload(SEED, i, MESSAGE), q.dequeue(), "message " + i);
                }
            }
        }
    }

    /** One cycle; {@code delayMs} -1: kill after repair returned, recording how long it took in {@code took[0]}. */
    private static String cycle(LazyFs fs, long delayMs, long[] took) throws Exception {
        Path dir = fs.path().resolve("queue");
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(ARENA).build())) {
            for (int i = 0; i < MESSAGES; i++) {
                q.enqueue(Payloads.payload(SEED, i, MESSAGE));
            }
        }
        Path damaged = dir.resolve("arena-000000000001.dat");
        long at = Files.size(damaged) / 2;
        flip(damaged, at);
        syncTree(fs.path());
        Map<String, byte[]> before = arenaBytes(dir);
        boolean returned;
        try (ChildJvm child = ChildJvm.start(Child.class, dir.toString())) {
            child.awaitLine("START", CHILD_TIMEOUT);
            long started = System.nanoTime();
            if (delayMs < 0) {
                child.awaitLine("DONE", CHILD_TIMEOUT);
                took[0] = (System.nanoTime() - started) / 1_000_000;
            } else {
                // Chooses the moment of the power loss; every moment is one repair must survive.
                Thread.sleep(delayMs);
            }
            child.kill();
            returned = child.lines().contains("DONE");
        }
        fs.powerLoss();
        List<Path> asideDirs;
        try (Stream<Path> s = Files.list(fs.path())) {
            asideDirs = s.filter(p -> p.getFileName().toString().startsWith("queue.repair-")).toList();
        }
        for (Map.Entry<String, byte[]> e : before.entrySet()) {
            List<Path> candidates = new ArrayList<>(List.of(dir.resolve(e.getKey())));
            for (Path a : asideDirs) {
                candidates.add(a.resolve(e.getKey()));
                candidates.add(a.resolve(e.getKey() + ".before-cut"));
            }
            boolean kept = false;
            StringBuilder seen = new StringBuilder();
            for (Path c : candidates) {
                byte[] now = Files.isRegularFile(c) ? Files.readAllBytes(c) : null;
                kept |= now != null && Arrays.equals(e.getValue(), now);
                seen.append(now == null ? "" : " " + c.getFileName() + ": " + now.length
                        + " bytes, first difference at " + Arrays.mismatch(e.getValue(), now) + ";");
            }
            assertTrue(kept, e.getKey() + " as it was before the repair is nowhere on disk after a power loss"
                    + (returned ? " after repair returned" : " " + delayMs + " ms into the repair")
                    + "; found" + seen + " of " + e.getValue().length + " bytes");
        }
        RepairReport again = BigQueue.repair(dir);
        int intact;
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(ARENA).build())) {
            assertEquals(0, q.earliestOffset());
            intact = (int) q.tailOffset();
            assertTrue(intact < MESSAGES, "the damaged record and those after it are gone: tail " + intact);
            for (int i = 0; i < intact; i++) {
                assertArrayEquals(Payloads.payload(SEED, i, MESSAGE), q.dequeue(), "message " + i);
            }
        }
        return (returned ? "killed after repair returned" : "killed " + delayMs + " ms into it") + ": "
                + intact + " messages kept, " + asideDirs.size() + " aside dir(s)" + (again.lost().isEmpty()
                ? "" : ", second repair: " + again.lost());
    }

    /**
     * The bytes of each arena file that holds records (an arena made ahead holds its header and
     * zeros: repair may drop it, it has nothing to keep).
     */
    private static Map<String, byte[]> arenaBytes(Path dir) throws IOException {
        int dataStart = FileFormat.arenaDataStart(ARENA);
        Map<String, byte[]> bytes = new TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith("arena-")).toList()) {
                byte[] b = Files.readAllBytes(p);
                for (int i = dataStart; i < b.length; i++) {
                    if (b[i] != 0) {
                        bytes.put(p.getFileName().toString(), b);
                        break;
                    }
                }
            }
        }
        return bytes;
    }

    private static void flip(Path file, long at) throws IOException {
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            c.read(b, at);
            b.put(0, (byte) ~b.get(0));
            b.position(0);
            c.write(b, at);
            c.force(true);
        }
    }

    /** fsyncs every file and directory under {@code root}: the damaged queue itself survives the loss. */
    private static void syncTree(Path root) throws IOException {
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            all = s.toList();
        }
        for (Path p : all) {
            try (FileChannel c = FileChannel.open(p, StandardOpenOption.READ)) {
                c.force(true);
            }
        }
    }
}
