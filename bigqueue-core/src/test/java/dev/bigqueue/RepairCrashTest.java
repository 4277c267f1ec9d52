package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.bigqueue.internal.ConsumerFile;
import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.QueueFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link BigQueue#repair} killed with {@code kill -9} in a child JVM at each of its steps (the
 * pause hook {@code bigqueue.repair.pauseAt}): the queue must never open as if nothing happened
 * (its {@code queue.meta} still says what it said before the repair, while the log may already be
 * cut), and a repair run again must keep every message an uninterrupted repair keeps, and leave
 * every consumer where that repair does (guarantees 2 and 4).
 */
class RepairCrashTest {
    private static final int ARENA = RepairTest.ARENA;
    private static final int COUNT = RepairTest.COUNT;
    private static final int SIZE = RepairTest.SIZE;
    /** Damaged; it starts in the last arena, so that the old clean tail's arena is still there after the cut. */
    private static final int VICTIM = 77;
    private static final int HEAD = 10;
    /** A named consumer past the damage: repair moves it back to the new tail. */
    private static final long AUDIT = 79;
    private static final Duration CHILD_TIMEOUT = Duration.ofMinutes(2);
    private static final List<String> STEPS = List.of("begin", "scanned", "copied", "cut", "positions",
            "start-written", "tail-written", "synced");

    @TempDir
    Path tmp;

    /** Repairs args[0], pausing at the step args[1] until killed. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            System.setProperty("bigqueue.repair.pauseAt", args[1]);
            ChildJvm.betweenStartAndDone(() -> BigQueue.repair(Path.of(args[0])));
        }
    }

    /** The same queue as RepairTest's, so that the two compare like with like. */
    private static QueueConfig config() {
        return RepairTest.config();
    }

    private static byte[] message(long i) {
        return RepairTest.message(i);
    }

    /**
     * A queue of COUNT messages, the own consumer at HEAD, consumer 'audit' at AUDIT, one byte of
     * message VICTIM flipped; closed cleanly, or left as by a process killed after a flush of all.
     */
    private Path damagedQueue(String name, boolean clean) throws IOException {
        Path dir = tmp.resolve(name);
        try (BigQueue q = BigQueue.open(dir, config())) {
            for (int i = 0; i < COUNT; i++) {
                q.enqueue(message(i));
            }
            for (int i = 0; i < HEAD; i++) {
                q.dequeue();
            }
        }
        int[] sizes = new int[COUNT];
        Arrays.fill(sizes, SIZE);
        long[] pos = QueueFiles.positions(sizes);
        assertEquals(pos[COUNT - 1] / FileFormat.dataBytes(ARENA), pos[VICTIM] / FileFormat.dataBytes(ARENA),
                "the damage is in the last arena");
        try (ConsumerFile audit = ConsumerFile.create(FileFormat.consumerFile(dir, "audit"), AUDIT, pos[(int) AUDIT],
                0)) {
            audit.force();
        }
        Path arena = QueueFiles.arenaFileAt(dir, ARENA, pos[VICTIM]);
        QueueFiles.flipByte(arena, QueueFiles.indexInArena(ARENA, pos[VICTIM]) + FileFormat.RECORD_HEADER_SIZE + 3);
        if (!clean) {
            QueueFiles.markUnclean(dir); // the durable point stays at the old tail, past the cut to come
        }
        return dir;
    }

    private static void killRepairAt(Path dir, String step) throws Exception {
        try (ChildJvm child = ChildJvm.start(Child.class, dir.toString(), step)) {
            child.awaitLine("PAUSED " + step, CHILD_TIMEOUT);
            child.kill();
        }
    }

    /** What a repaired queue holds and where its consumers are. */
    private record Outcome(long earliest, long tail, long head, long audit, List<String> messages) {
        static Outcome of(Path dir) throws IOException {
            List<String> messages = new ArrayList<>();
            long earliest;
            long tail;
            long head;
            try (BigQueue q = BigQueue.open(dir, config())) {
                earliest = q.earliestOffset();
                tail = q.tailOffset();
                head = q.headOffset();
                for (byte[] m = q.dequeue(); m != null; m = q.dequeue()) {
                    messages.add(m.length + " bytes of " + m[0]);
                }
            }
            long audit = ConsumerFile.readAll(dir.resolve(FileFormat.CONSUMERS_DIR)).get("audit")[0];
            return new Outcome(earliest, tail, head, audit, messages);
        }
    }

    /**
     * Killed after the cut, before the index writes: before, {@code queue.meta} still said
     * "closed cleanly" with the old tail (or "open" with the old durable point), both past the
     * zeroed end of the log; open trusted it and appended after the hole, and the next repair
     * ended the log at the hole, losing the message that open had acknowledged. Now open refuses,
     * naming the directory and the repair to run again.
     */
    @Test
    void killedAfterTheCut_openRefusesToAppendAfterTheHole_andARepairRunAgainFinishes() throws Exception {
        for (boolean clean : new boolean[] {true, false}) {
            Path reference = damagedQueue("reference-" + clean, clean);
            BigQueue.repair(reference);
            Outcome expected = Outcome.of(reference);
            assertEquals(VICTIM, expected.tail(), "the uninterrupted repair ends the log at the damage");

            Path dir = damagedQueue("cut-" + clean, clean);
            killRepairAt(dir, "cut");
            QueueCorruptedException refused = null;
            long acked = -1;
            try (BigQueue q = BigQueue.open(dir, config())) {
                acked = q.enqueue(message(100));
            } catch (QueueCorruptedException e) {
                refused = e;
            }
            if (refused == null) {
                // The open trusted the index: show what that costs the message it acknowledged.
                RepairReport again = BigQueue.repair(dir);
                Outcome after = Outcome.of(dir);
                assertTrue(after.tail() > acked && after.messages().contains(SIZE + " bytes of 100"),
                        (clean ? "clean" : "unclean") + " queue: an open after a repair killed after its cut"
                        + " acknowledged a message at offset " + acked + ", after the zeroed end of the log at "
                        + VICTIM + "; the next repair lost it: " + again.lost() + "; the queue now ends at "
                        + after.tail());
                fail("an open after a repair killed after its cut succeeded (" + (clean ? "clean" : "unclean")
                        + " queue), acknowledging offset " + acked + " past the zeroed end of the log at " + VICTIM);
            }
            String text = refused.getMessage();
            assertTrue(text.contains(dir.toAbsolutePath().toString()), text);
            assertTrue(text.contains("a repair was cut short"), text);
            assertTrue(text.contains("bigqueue repair " + dir.toAbsolutePath()), text);
            assertTrue(text.contains("BigQueue.repair"), text);
            QueueCorruptedException readOnly = null;
            try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().readOnly(true).build())) {
                fail("a read-only open of a queue whose repair was cut short succeeded, tail " + q.tailOffset());
            } catch (QueueCorruptedException e) {
                readOnly = e;
            }
            assertTrue(readOnly.getMessage().contains("a repair was cut short"), readOnly.getMessage());

            RepairReport finished = BigQueue.repair(dir);
            assertEquals(expected, Outcome.of(dir), "clean " + clean + ": " + finished);
            // The report the run cut short never gave still says what was given up.
            assertEquals(1, finished.lost().size(), finished.toString());
            assertTrue(finished.lost().get(0).startsWith((clean ? "offsets " : "offsets from ") + VICTIM)
                    && finished.lost().get(0).contains("cut short"), finished.toString());
            try (BigQueue q = BigQueue.open(dir, config())) {
                assertEquals(VICTIM, q.enqueue(message(100)), "appends where the log ends");
            }
            try (BigQueue q = BigQueue.open(dir, config())) {
                assertEquals(VICTIM + 1, q.tailOffset());
            }
        }
    }

    /**
     * Killed at each step, for a queue closed cleanly and one whose writer died: a repair run again
     * gives what an uninterrupted repair gives (nothing more lost, consumers in the same place), and
     * no open in between appends anywhere but at the end of the log.
     */
    @Test
    void killedAtEveryStep_aRepairRunAgainGivesWhatAnUninterruptedOneGives() throws Exception {
        for (boolean clean : new boolean[] {true, false}) {
            Path reference = damagedQueue("reference-" + clean, clean);
            RepairReport uninterrupted = BigQueue.repair(reference);
            Outcome expected = Outcome.of(reference);
            for (String step : STEPS) {
                Path dir = damagedQueue(step + "-" + clean, clean);
                killRepairAt(dir, step);
                QueueCorruptedException refused = null;
                try (BigQueue q = BigQueue.open(dir, config())) {
                    fail("killed at " + step + " (clean " + clean + "): open succeeded, tail " + q.tailOffset());
                } catch (QueueCorruptedException e) {
                    refused = e;
                }
                assertNotNull(refused);
                assertTrue(refused.getMessage().contains("a repair was cut short"), step + ": " + refused.getMessage());
                RepairReport again = BigQueue.repair(dir);
                assertEquals(expected, Outcome.of(dir), "killed at " + step + " (clean " + clean + "); uninterrupted: "
                        + uninterrupted + "; run again: " + again);
            }
        }
    }
}
