package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.bigqueue.BigQueue;
import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.Soak;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantee 2 for named consumers: a child JVM with three consumers reading at different speeds
 * (two AUTO, one MANUAL), the queue's own consumer, a producer and background GC is killed with
 * SIGKILL at random moments, again and again. After every kill, each consumer resumes at or before
 * where it was (AUTO: at most the last message again; MANUAL: never a committed one), never after;
 * and across all runs the messages handed to each consumer cover every offset, in order.
 */
class CrashRecoveryTest {
    private static final int ROUNDS = Soak.rounds("bigqueue.crash.rounds", 8, 40);

    @TempDir
    Path work;

    @Test
    void killedAtRandomMoments_everyConsumerResumesWithoutSkipping() throws Exception {
        Path dir = work.resolve("queue");
        Path logs = Files.createDirectories(work.resolve("logs"));
        long seed = System.nanoTime();
        Random random = new Random(seed);
        String context = "seed " + seed + ", queue " + dir;
        for (int round = 0; round < ROUNDS; round++) {
            ChildJvm child = ChildJvm.start(CrashChild.class, "readers", dir.toString(), logs.toString(),
                    Long.toString(random.nextLong()));
            try {
                if (round % 6 == 5) {
                    Thread.sleep(random.nextInt(700)); // anywhere, start-up and recovery included
                } else {
                    child.awaitLine("READY", Duration.ofSeconds(60));
                    // Some progress in every such round, however busy the machine: a condition, not a
                    // time (the checks below count on it), then a kill at a random moment after it.
                    awaitProgress(logs, 150, 150);
                    Thread.sleep(random.nextInt(600));
                }
                child.kill();
                assertTrue(!child.stderr().contains("Exception"), "child failed in round " + round + ": "
                        + child.stderr());
            } finally {
                child.close();
            }
            for (String name : allReaders()) {
                new History(logs.resolve(name + ".log"), name, context + ", round " + round).check();
            }
        }
        // The parent resumes every consumer once more and reads to the tail: the union is complete.
        try (BigQueue q = BigQueue.open(dir, CrashChild.config())) {
            long tail = q.tailOffset();
            long lastProduced = lastProduced(logs.resolve("producer.log"));
            assertTrue(tail > lastProduced, "enqueue of offset " + lastProduced + " returned but tail is " + tail);
            assertTrue(tail > ROUNDS * 100, "the producer hardly ran: tail " + tail + "; " + context);
            Consumers consumers = Consumers.of(q);
            for (String name : allReaders()) {
                History h = new History(logs.resolve(name + ".log"), name, context + ", final");
                h.check();
                CommitMode mode = name.equals("manual") ? CommitMode.MANUAL : CommitMode.AUTO;
                long start = name.equals("own") ? q.headOffset() : consumers.open(name, mode).position();
                h.checkResume(start);
                assertTrue(h.runs >= ROUNDS / 2, name + " started in only " + h.runs + " of " + ROUNDS + " runs; "
                        + context);
                assertTrue(h.maxHanded > ROUNDS * 50, name + " was handed only up to " + h.maxHanded + "; " + context);
                for (long o = start; o < tail; o++) {
                    byte[] m = name.equals("own") ? q.dequeue() : consumers.open(name, mode).dequeue();
                    assertTrue(m != null, name + ": offset " + o + " is missing; " + context);
                    assertEquals(o, offsetOf(m), name + "; " + context);
                }
            }
        }
    }

    /**
     * Waits until the producer has logged {@code produced} more enqueues and every reader
     * {@code handed} more messages than when called (a hang detector ends it after a minute).
     */
    private static void awaitProgress(Path logs, int produced, int handed) throws Exception {
        java.util.Map<String, Integer> from = new java.util.HashMap<>();
        from.put("producer", completeLines(logs.resolve("producer.log")).size());
        for (String name : allReaders()) {
            from.put(name, completeLines(logs.resolve(name + ".log")).size());
        }
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        for (;;) {
            boolean done = completeLines(logs.resolve("producer.log")).size() >= from.get("producer") + produced;
            for (String name : allReaders()) {
                done &= completeLines(logs.resolve(name + ".log")).size() >= from.get(name) + handed;
            }
            if (done) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "no progress for a minute (a hang)");
            Thread.sleep(10);
        }
    }

    private static List<String> allReaders() {
        List<String> names = new ArrayList<>(List.of(CrashChild.READERS));
        names.add("own");
        return names;
    }

    private static long lastProduced(Path log) throws IOException {
        long last = -1;
        for (String line : completeLines(log)) {
            assertTrue(line.startsWith("P "), "producer: " + line);
            last = Math.max(last, Long.parseLong(line.substring(2)));
        }
        return last;
    }

    /** Lines ended by a newline; a line cut short by the kill is dropped. */
    static List<String> completeLines(Path log) throws IOException {
        List<String> lines = new ArrayList<>();
        if (!Files.exists(log)) {
            return lines;
        }
        String all = new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
        int from = 0;
        for (int nl = all.indexOf('\n'); nl >= 0; nl = all.indexOf('\n', from)) {
            String line = all.substring(from, nl);
            if (!line.isEmpty()) {
                lines.add(line);
            }
            from = nl + 1;
        }
        return lines;
    }

    /** One consumer's log across all runs, checked against the resume rules. */
    private static final class History {
        private final Path log;
        private final String name;
        private final String context;
        private final boolean manual;
        /** Highest offset handed out so far, -1 if none. */
        private long maxHanded = -1;
        /** First offset the last logged read call handed out, -1 if none. */
        private long lastCallFirst = -1;
        /** Highest committed position logged (MANUAL). */
        private long committed;
        /** Runs that logged their start. */
        private int runs;

        History(Path log, String name, String context) {
            this.log = log;
            this.name = name;
            this.context = context;
            this.manual = name.equals("manual");
        }

        void check() throws IOException {
            long expected = -1;
            for (String line : completeLines(log)) {
                long value;
                try {
                    value = Long.parseLong(line.substring(2));
                } catch (RuntimeException e) {
                    fail(name + ": malformed or failed line '" + line + "'; " + context);
                    return;
                }
                switch (line.charAt(0)) {
                    case 'S':
                        checkResume(value);
                        expected = value;
                        runs++;
                        break;
                    case 'B':
                        assertEquals(expected, value, name + " run " + runs + ": a batch out of order; " + context);
                        lastCallFirst = value;
                        break;
                    case 'H':
                        assertEquals(expected, value, name + " run " + runs + ": handed out of order, or skipped; "
                                + context);
                        expected++;
                        maxHanded = Math.max(maxHanded, value);
                        break;
                    case 'C':
                        assertTrue(manual && value <= expected && value >= committed, name + ": commit of " + value
                                + " after handing up to " + (expected - 1) + ", previous commit " + committed + "; "
                                + context);
                        committed = value;
                        break;
                    default:
                        fail(name + ": unexpected line '" + line + "'; " + context);
                }
            }
        }

        /** A run (or the final check) that starts at {@code start} skips nothing and repeats only what it may. */
        void checkResume(long start) {
            assertTrue(start <= maxHanded + 1, name + " resumed at " + start + " but had only been handed up to "
                    + maxHanded + ": it skipped messages; " + context);
            if (manual) {
                assertTrue(start >= committed, name + " resumed at " + start + " before its commit of " + committed
                        + ": committed messages came again; " + context);
            } else if (lastCallFirst >= 0) {
                // AUTO commits what a read call hands out at the next call: a dequeue's one message, or a
                // drainTo's whole batch, may come again, nothing before it.
                assertTrue(start >= lastCallFirst, name + " resumed at " + start + " but AUTO had committed up to"
                        + " the first offset of the last read call, " + lastCallFirst + "; " + context);
            }
        }
    }
}
