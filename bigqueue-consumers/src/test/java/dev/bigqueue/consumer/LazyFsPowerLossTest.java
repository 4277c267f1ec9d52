package dev.bigqueue.consumer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.LazyFs;
import dev.bigqueue.testing.Payloads;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Guarantee 3 (power loss) under a simulated power cut: LazyFS keeps every write in its own cache
 * until it is fsynced and drops the rest on command, so what survives is exactly what the queue
 * synced. Unlike the core's PowerLossTest (which builds disk images by hand), this runs the real
 * queue, its flusher and a named consumer through the real file system calls. The kernel's boot id
 * stays the same across the loss (LazyFS cannot change it), so recovery sees what it would see
 * after a power cut of a storage layer below a VM that kept running: hints in {@code queue.meta}
 * that look like a process crash, over data that did not survive.
 *
 * <p>Each cycle mounts LazyFS on a fresh directory, starts {@link PowerLossWriter} in a child JVM
 * with a random configuration (arena size, flushInterval, an explicit flush every k messages,
 * syncOnWrite, a named consumer in AUTO or MANUAL mode, the queue's own consumer, or none; with a
 * consumer, half the runs collect the arenas it read, with an arena pool or without, and half of
 * those also drop records it has not read, by retention or DROP_OLDEST, while it reads slowly),
 * waits for a random number of
 * acknowledged messages, kills the child with SIGKILL and only then drops LazyFS's unsynced data
 * (the other order would let the live writer go on after the "power loss"). The parent then
 * reopens the queue through the same mount and checks what guarantee 3 promises:
 * <ul>
 *   <li>it opens, and reading from the earliest offset to the tail never fails: no checksum error,
 *       no gap ("recovery after a power loss never leaves a queue unreadable");</li>
 *   <li>every message below the durable point (the last {@code flush()} that returned, the highest
 *       {@code durableOffset()} the child saw, which the periodic flush moves, and each offset a
 *       {@code whenDurable} future completed for; with syncOnWrite,
 *       every acknowledged message) is there with its exact content, from the
 *       consumer's durable commit on where consumed arenas are collected;</li>
 *   <li>the consumer resumes at or after its last durable commit (one made before a flush that
 *       returned), at or before the tail, not past any position it committed, and reads every
 *       message from there to the tail with its exact content;</li>
 *   <li>a message enqueued after the reopen gets the tail offset and reads back from there.</li>
 * </ul>
 * Acknowledged messages past the durable point may be lost; they are counted, not failed. All
 * cycles run, then one summary line says how many queues came back unreadable and how many
 * durable messages were lost, by configuration, and the test fails with the first example.
 *
 * <p>Runs only in the {@code power-loss} Maven profile and only with LazyFS given
 * ({@code -Dlazyfs.bin=/path/to/lazyfs}, see {@link LazyFs}); FUSE needs root or fusermount3.
 * {@code -Dpowerloss.cycles=N} (default 30); {@code -Dpowerloss.seed=S} repeats a run's
 * configurations and kill points (not its timing, so not always its outcome).
 * LazyFS answers {@code statfs} with 0 bytes free and has no {@code fallocate}: the queue must
 * still work (guarantee 6), and arenas here are small (64 KiB, 1 MiB) so that reserving them stays
 * quick however it is done (see {@link LazyFs}).
 */
@Tag("power-loss")
class LazyFsPowerLossTest {
    private static final int CACHE_MIB = 256;
    private static final long[] ARENA_BYTES = {64 * 1024, 1024 * 1024};
    private static final long[] FLUSH_INTERVAL_MS = {0, 50, 1000};
    private static final String[] CONSUMER_MODES = {"NONE", "AUTO", "MANUAL", PowerLossWriter.OWN};
    private static final Duration CHILD_TIMEOUT = Duration.ofMinutes(5);
    private static final long GC_INTERVAL_MS = 20;
    private static final String[] DROPS = {"NONE", "NONE", "RETENTION", "DROP_OLDEST"};

    /** One cycle's random configuration. */
    private record Setup(long arenaBytes, long flushIntervalMs, long flushEvery, boolean syncOnWrite,
            String consumer, long target, long seed, int arenaPool, String drop, long whenDurableEvery) {

        static Setup random(Random r) {
            boolean syncOnWrite = r.nextInt(4) == 0;
            long flushEvery = new long[] {0, 0, 0, 1 + r.nextInt(10), 10 + r.nextInt(500)}[r.nextInt(5)];
            long flushIntervalMs = FLUSH_INTERVAL_MS[r.nextInt(FLUSH_INTERVAL_MS.length)];
            // Log-uniform kill points, at up to PowerLossWriter.MAX_RATE messages a second: from short
            // runs to runs that see several background flushes (at most 2000 messages with a sync each).
            long min = !syncOnWrite && flushIntervalMs >= 1000 ? 2000 : 200;
            long max = syncOnWrite ? 2000 : flushIntervalMs >= 1000 ? 60000 : 40000;
            long target = (long) Math.exp(Math.log(min) + r.nextDouble() * (Math.log(max) - Math.log(min)));
            String consumer = CONSUMER_MODES[r.nextInt(CONSUMER_MODES.length)];
            // With a consumer, half the runs collect what it read (the own consumer off), into a pool
            // of reused arena files or none: a power loss must not leave it behind a deleted arena.
            int arenaPool = consumer.equals("NONE") || r.nextBoolean() ? -1 : new int[] {0, 2}[r.nextInt(2)];
            // Half the collected runs also drop records the (then slow) consumer has not read.
            String drop = arenaPool < 0 ? "NONE" : DROPS[r.nextInt(DROPS.length)];
            // A third of the runs without syncOnWrite also wait for some offsets with whenDurable.
            long whenDurableEvery = !syncOnWrite && r.nextInt(3) == 0 ? 1 + r.nextInt(200) : 0;
            return new Setup(ARENA_BYTES[r.nextInt(ARENA_BYTES.length)], flushIntervalMs, flushEvery, syncOnWrite,
                    consumer, target, r.nextLong(), arenaPool, drop, whenDurableEvery);
        }

        boolean collects() {
            return arenaPool >= 0;
        }

        String[] args(Path dir) {
            return new String[] {dir.toString(), Long.toString(seed), Long.toString(target), Long.toString(arenaBytes),
                Long.toString(flushIntervalMs), Long.toString(flushEvery), Boolean.toString(syncOnWrite), consumer,
                Long.toString(collects() ? GC_INTERVAL_MS : 0), Integer.toString(arenaPool), drop,
                Long.toString(whenDurableEvery)};
        }

        /** The configuration's dimensions, for the summary. */
        List<String> traits() {
            return List.of("arena " + (arenaBytes / 1024) + " KiB", "flushInterval " + flushIntervalMs + " ms",
                    flushEvery == 0 ? "no explicit flush" : "explicit flush", "syncOnWrite " + syncOnWrite,
                    "consumer " + consumer, collects() ? "collected, pool " + arenaPool : "not collected",
                    "drops " + drop, whenDurableEvery == 0 ? "no whenDurable" : "whenDurable");
        }

        @Override
        public String toString() {
            return "arena " + arenaBytes + " B, flushInterval " + flushIntervalMs + " ms, flush every " + flushEvery
                    + ", syncOnWrite " + syncOnWrite + ", consumer " + consumer
                    + (collects() ? ", collected every " + GC_INTERVAL_MS + " ms, arenaPool " + arenaPool + ", drops "
                    + drop : "")
                    + (whenDurableEvery > 0 ? ", whenDurable every " + whenDurableEvery : "")
                    + ", killed after ACK " + target + ", payload seed " + seed;
        }
    }

    /** What the child's stdout proves about the moment of the kill. */
    private static final class Acknowledged {
        long lastAck = -1;
        /** Every offset below it is durable: by syncOnWrite, a flush() that returned, or durableOffset(). */
        long durable;
        /** The highest {@code durableOffset()} the child printed, and when (-1: none). */
        long durableReported;
        long durableReportedNs = -1;
        /** Every offset below it was acknowledged more than 2 flushIntervals before the kill. */
        long durableByInterval;
        /** The consumer's committed position as of the last flush that returned. */
        long durableCommit;
        /** No commit can have gone past this. */
        long maxWill;
        private long commitBeforeFlush;
        private long lastCommit;
        private long flushingCommit = -1;

        /** @param intervalDeadlineNs ACKs before it are due on disk by the flushInterval; null: no interval. */
        Acknowledged(List<String> lines, boolean syncOnWrite, Long intervalDeadlineNs) {
            for (String line : lines) {
                String[] w = line.split(" ");
                switch (w[0]) {
                    case "ACK":
                        lastAck = Long.parseLong(w[1]);
                        if (syncOnWrite) {
                            durable = lastAck + 1;
                        }
                        if (intervalDeadlineNs != null && Long.parseLong(w[2]) - intervalDeadlineNs < 0) {
                            durableByInterval = lastAck + 1;
                        }
                        break;
                    case "FLUSHING":
                        flushingCommit = lastCommit;
                        break;
                    case "FLUSHED":
                        durable = Math.max(durable, Long.parseLong(w[1]));
                        commitBeforeFlush = flushingCommit;
                        break;
                    case "SURE":
                        durable = Math.max(durable, Math.max(Long.parseLong(w[1]) + 1, Long.parseLong(w[2])));
                        break;
                    case "DURABLE":
                        durableReported = Long.parseLong(w[1]);
                        durableReportedNs = Long.parseLong(w[2]);
                        durable = Math.max(durable, durableReported);
                        break;
                    case "WILL":
                        maxWill = Math.max(maxWill, Long.parseLong(w[1]));
                        break;
                    case "COMMIT":
                        lastCommit = Long.parseLong(w[1]);
                        break;
                    default:
                        break;
                }
            }
            durableCommit = commitBeforeFlush;
        }

        @Override
        public String toString() {
            return "last ACK " + lastAck + ", durable below " + durable + ", durable commit " + durableCommit
                    + ", durableOffset() " + durableReported;
        }
    }

    /** What the reopened queue did in one cycle. */
    private static final class Outcome {
        final List<String> problems = new ArrayList<>();
        boolean unreadable;
        long lostDurable;
        long lostAfterDurable;
        long lostByInterval;
        /** When durableOffset() last moved before the kill: where a flush was late, by how much. */
        String durableLag;
        long recoveredTail = -1;
        long writeMs;
        Acknowledged acked;

        void unreadable(String problem) {
            unreadable = true;
            problems.add(problem);
        }
    }

    @Test
    void powerLossAtRandomMoments_everyQueueReopensReadable_withEveryDurableMessage() throws Exception {
        Path bin = LazyFs.binaryOrSkip();
        int cycles = Integer.getInteger("powerloss.cycles", 30);
        long runSeed = Long.getLong("powerloss.seed", System.nanoTime());
        Random random = new Random(runSeed);
        Map<String, int[]> byTrait = new TreeMap<>();
        int unreadable = 0;
        long lostDurable = 0;
        long lostAfterDurable = 0;
        long lostByInterval = 0;
        String firstFailure = null;
        int toolCrashes = 0;
        for (int cycle = 0; cycle < cycles; cycle++) {
            Setup setup = Setup.random(random);
            Outcome outcome;
            try (LazyFs fs = cycle == 0 ? LazyFs.mountOrSkip(bin, CACHE_MIB) : LazyFs.mount(bin, CACHE_MIB)) {
                outcome = fs.unlessCrashed(() -> cycle(fs, setup));
                if (outcome == null) {
                    toolCrashes++;
                    System.out.println("cycle " + cycle + " (" + setup + "): LazyFS itself died, not counted");
                    continue;
                }
            }
            boolean failed = !outcome.problems.isEmpty();
            for (String trait : setup.traits()) {
                int[] counts = byTrait.computeIfAbsent(trait, k -> new int[2]);
                counts[0]++;
                counts[1] += failed ? 1 : 0;
            }
            unreadable += outcome.unreadable ? 1 : 0;
            lostDurable += outcome.lostDurable;
            lostAfterDurable += outcome.lostAfterDurable;
            lostByInterval += outcome.lostByInterval;
            String report = "cycle " + cycle + " (" + setup + ", after " + outcome.writeMs + " ms): " + outcome.acked
                    + ", recovered tail " + outcome.recoveredTail + ", lost after the durable point "
                    + outcome.lostAfterDurable + " (" + outcome.lostByInterval + " older than 2 flushIntervals"
                    + (outcome.lostByInterval > 0 ? "; " + outcome.durableLag : "") + ")"
                    + (failed ? "; " + String.join("; ", outcome.problems) : "; ok");
            System.out.println(report);
            if (failed && firstFailure == null) {
                firstFailure = report;
            }
        }
        StringBuilder traits = new StringBuilder();
        byTrait.forEach((trait, counts) -> traits.append(traits.length() == 0 ? "" : ", ").append(trait)
                .append(": ").append(counts[1]).append('/').append(counts[0]));
        String summary = "LazyFS power loss, seed " + runSeed + ": " + cycles + " cycles (" + toolCrashes
                + " not counted: LazyFS died), queues unreadable "
                + unreadable + ", durable messages lost " + lostDurable + ", acknowledged messages lost past the"
                + " durable point (allowed) " + lostAfterDurable + ", of which acknowledged more than 2 flushIntervals"
                + " before the loss (timing-based, reported only) " + lostByInterval + "; failed cycles by"
                + " configuration: " + traits;
        System.out.println(summary);
        assertTrue(firstFailure == null, summary + "\nfirst failure: " + firstFailure);
        assertTrue(toolCrashes * 4 <= cycles, summary + ": LazyFS died in too many cycles for the run to say much");
    }

    /** One power loss: write in a child, kill it, drop the unsynced data, reopen and check. */
    private static Outcome cycle(LazyFs fs, Setup setup) throws Exception {
        Path dir = fs.path().resolve("queue");
        Acknowledged acked;
        Outcome outcome = new Outcome();
        try (ChildJvm child = ChildJvm.start(PowerLossWriter.class, setup.args(dir))) {
            String ack = "ACK " + setup.target + " ";
            child.awaitLine("READY", CHILD_TIMEOUT);
            long start = System.nanoTime();
            child.awaitLine(ack, CHILD_TIMEOUT);
            long killNs = System.nanoTime();
            outcome.writeMs = (killNs - start) / 1_000_000;
            child.kill();
            Long intervalDeadlineNs = setup.flushIntervalMs == 0 ? null
                    : killNs - 2 * Duration.ofMillis(setup.flushIntervalMs).toNanos();
            acked = new Acknowledged(child.lines(), setup.syncOnWrite, intervalDeadlineNs);
            outcome.acked = acked;
            outcome.durableLag = acked.durableReportedNs < 0 ? "durableOffset() never moved"
                    : "durableOffset() last moved " + (killNs - acked.durableReportedNs) / 1_000_000
                            + " ms before the kill";
            assertTrue(!child.lines().stream().anyMatch(l -> l.startsWith("DAMAGED")),
                    "the child's consumer read a damaged message before the power loss: " + setup);
        }
        fs.powerLoss();
        QueueConfig config = PowerLossWriter.config(setup.arenaBytes, 0, false, 0, setup.arenaPool, setup.consumer);
        BigQueue q;
        try {
            q = BigQueue.open(dir, config);
        } catch (RuntimeException e) {
            outcome.unreadable("open failed: " + e);
            outcome.lostDurable = acked.durable;
            return outcome;
        }
        try (q) {
            check(q, setup, acked, outcome);
        }
        return outcome;
    }

    private static void check(BigQueue q, Setup setup, Acknowledged acked, Outcome outcome) {
        long tail = q.tailOffset();
        long earliest = q.earliestOffset();
        outcome.recoveredTail = tail;
        Consumers consumers = Consumers.of(q);
        Consumer all = consumers.open("verify");
        all.seekToBeginning();
        BitSet intact = new BitSet();
        long o = earliest;
        try {
            for (; o < tail; o++) {
                byte[] m = all.dequeue();
                if (m == null) {
                    outcome.unreadable("gap: nothing to read at offset " + o + " below the tail " + tail);
                    break;
                }
                if (Arrays.equals(Payloads.payload(setup.seed, o, PowerLossWriter.MAX_MESSAGE), m)) {
                    intact.set((int) o);
                } else {
                    outcome.unreadable("offset " + o + " returned " + m.length + " bytes of damaged data");
                }
            }
        } catch (RuntimeException e) {
            outcome.unreadable("reading from earliest " + earliest + " failed at offset " + o + " of tail " + tail
                    + ": " + e);
        }
        // Collected runs may have deleted what the consumer read; what it had not durably read must be there
        // (a consumer left behind the earliest record fails checkConsumer).
        long from = setup.collects() ? Math.max(acked.durableCommit, earliest) : 0;
        outcome.lostDurable = lost(intact, from, acked.durable);
        if (outcome.lostDurable > 0) {
            outcome.problems.add(outcome.lostDurable + " message(s) below the durable point " + acked.durable
                    + " lost (earliest " + earliest + ", tail " + tail + ")");
        }
        // What a collected run deleted below `from` was read, not lost.
        long afterDurable = Math.max(acked.durable, from);
        outcome.lostAfterDurable = lost(intact, afterDurable, acked.lastAck + 1);
        outcome.lostByInterval = lost(intact, afterDurable, acked.durableByInterval);
        if (setup.consumer.equals(PowerLossWriter.OWN)) {
            checkConsumer(q.headOffset(), q::dequeue, setup, acked, tail, outcome);
        } else if (!setup.consumer.equals("NONE")) {
            Consumer c = null;
            try {
                c = consumers.open(PowerLossWriter.CONSUMER, CommitMode.valueOf(setup.consumer));
            } catch (RuntimeException e) {
                outcome.unreadable("the consumer did not open (earliest " + earliest + ", tail " + tail + "): " + e);
            }
            if (c != null) {
                checkConsumer(c.position(), c::dequeue, setup, acked, tail, outcome);
            }
        }
        try {
            long next = q.enqueue(Payloads.payload(setup.seed, tail, PowerLossWriter.MAX_MESSAGE));
            Consumer after = consumers.open("after");
            after.seek(tail);
            byte[] m = after.dequeue();
            if (next != tail || !Arrays.equals(Payloads.payload(setup.seed, tail, PowerLossWriter.MAX_MESSAGE), m)) {
                outcome.unreadable("a message enqueued after the reopen got offset " + next + " (tail " + tail
                        + ") and read back as " + (m == null ? "nothing" : m.length + " bytes"));
            }
        } catch (RuntimeException e) {
            outcome.unreadable("enqueue and read after the reopen failed: " + e);
        }
    }

    /** How many offsets in [from, to) were not read back intact. */
    private static long lost(BitSet intact, long from, long to) {
        return to <= from ? 0 : (to - from) - intact.get((int) from, (int) to).cardinality();
    }

    private static void checkConsumer(long resume, Supplier<byte[]> dequeue, Setup setup, Acknowledged acked,
            long tail, Outcome outcome) {
        if (resume > tail) {
            outcome.unreadable("consumer resumed at " + resume + ", past the recovered tail " + tail);
        }
        // A drop (retention, DROP_OLDEST) moves a consumer to the earliest record, past anything it committed.
        if (setup.drop.equals("NONE") && resume > Math.max(acked.maxWill, 0)) {
            outcome.problems.add("consumer resumed at " + resume + ", past any position it committed (at most "
                    + acked.maxWill + ")");
        }
        if (resume < acked.durableCommit) {
            outcome.problems.add("consumer resumed at " + resume + ", before its durable commit "
                    + acked.durableCommit);
        }
        long o = resume;
        try {
            for (; o < tail; o++) {
                byte[] m = dequeue.get();
                if (m == null) {
                    outcome.unreadable("consumer stuck: nothing to read at offset " + o + " below the tail " + tail);
                    return;
                }
                if (!Arrays.equals(Payloads.payload(setup.seed, o, PowerLossWriter.MAX_MESSAGE), m)) {
                    outcome.unreadable("consumer got " + m.length + " bytes of damaged data at offset " + o);
                }
            }
        } catch (RuntimeException e) {
            outcome.unreadable("consumer reading from " + resume + " failed at offset " + o + " of tail " + tail
                    + ": " + e);
        }
    }
}
