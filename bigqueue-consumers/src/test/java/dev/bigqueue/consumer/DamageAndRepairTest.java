package dev.bigqueue.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.QueueCorruptedException;
import dev.bigqueue.QueueFullException;
import dev.bigqueue.RepairReport;
import dev.bigqueue.WhenFull;
import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.testing.QueueFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Named consumers at the edges of the log: a consumer whose messages vanished without a rule that
 * dropped them is damage, reported naming the arena, never a silent jump forward (guarantee 4);
 * repair moves it, saying how many it misses; and a requeue that could only wait for its own
 * consumer to make room fails at once instead of waiting for ever (guarantee 11).
 */
class DamageAndRepairTest {
    private static final int ARENA = 4096;

    @TempDir
    Path dir;

    private static QueueConfig.Builder config() {
        return QueueConfig.builder().arenaSize(ARENA).flushInterval(Duration.ZERO).gcInterval(Duration.ZERO)
                .pretouch(false);
    }

    private static byte[] message(int i) {
        byte[] b = new byte[200];
        Arrays.fill(b, (byte) i);
        return b;
    }

    @Test
    void consumerBehindTheStart_withoutADrop_isDamage_thenRepairMovesIt_sayingHowManyItMisses() throws IOException {
        int[] sizes = new int[80];
        Arrays.fill(sizes, 200);
        long[] pos = QueueFiles.positions(sizes);
        try (BigQueue q = BigQueue.open(dir, config().ownConsumer(false).build())) {
            Consumers.of(q).open("audit").close(); // at offset 0, never reads
            for (int i = 0; i < 80; i++) {
                q.enqueue(message(i));
            }
        }
        int first = 0;
        while (pos[first] < FileFormat.dataBytes(ARENA)) {
            first++;
        }
        // Arena 0 gone by hand, and a start that agrees: the queue itself opens, the consumer may not.
        Files.delete(FileFormat.arenaFile(dir, 0));
        QueueFiles.writeSlot(dir, FileFormat.META_START_SLOTS, first, pos[first], 100);
        try (BigQueue q = BigQueue.open(dir, config().ownConsumer(false).build())) {
            QueueCorruptedException e = assertThrows(QueueCorruptedException.class,
                    () -> Consumers.of(q).open("audit"));
            assertEquals(FileFormat.arenaFileName(0), e.file().getFileName().toString(), e.getMessage());
            assertTrue(e.getMessage().contains("no rule dropped"), e.getMessage());
        }
        RepairReport r = BigQueue.repair(dir);
        assertTrue(r.toString().contains("consumer 'audit' was at offset 0, before the start: it moves to offset "
                + first) && r.toString().contains("misses " + first + " message(s)"), r.toString());
        try (BigQueue q = BigQueue.open(dir, config().ownConsumer(false).build())) {
            Consumer audit = Consumers.of(q).open("audit");
            assertEquals(first, audit.position());
            assertArrayEquals(message(first), audit.dequeue());
        }
    }

    @Test
    void requeueAtMaxDiskBytes_whenOnlyItsOwnConsumerCouldMakeRoom_failsAtOnce_insteadOfWaitingForEver() {
        QueueConfig.Builder c = config().maxDiskBytes(4L * ARENA).ownConsumer(false);
        try (BigQueue q = BigQueue.open(dir, c.whenFull(WhenFull.FAIL).build())) {
            Consumers.of(q).open("only").close(); // at offset 0: it holds every arena
            assertThrows(QueueFullException.class, () -> {
                for (int i = 0; i < 1000; i++) {
                    q.enqueue(message(i));
                }
            });
        }
        try (BigQueue q = BigQueue.open(dir, c.whenFull(WhenFull.BLOCK).build())) {
            Consumer only = Consumers.of(q).open("only");
            long tail = q.tailOffset();
            // Requeue appends before it commits, and only this consumer moving on could make room.
            QueueFullException e = assertThrows(QueueFullException.class, () -> only.requeue(m -> m));
            assertTrue(e.getMessage().contains("cannot wait for room") && e.getMessage().contains("'only'"),
                    e.getMessage());
            assertEquals(0, only.position(), "nothing was consumed");
            assertEquals(tail, q.tailOffset(), "nothing was appended");
            assertArrayEquals(message(0), only.dequeue(), "the consumer goes on");
        }
    }

    /**
     * A consumer committed past the tail that recovery cut must be moved back to it, or it skips
     * the messages appended there next. A damaged file of another consumer used to stop that for
     * every consumer: here "c" then read new-15, never seeing new-10..14.
     */
    @Test
    void consumersPastARecoveredTail_areMovedBack_evenWhenAnotherConsumerFileIsDamaged() throws IOException {
        int n = 20;
        try (BigQueue q = BigQueue.open(dir, config().build())) {
            Consumers consumers = Consumers.of(q);
            Consumer c = consumers.open("c");
            consumers.open("other").close();
            for (int i = 0; i < n; i++) {
                q.enqueueString(String.format("old-%04d", i)); // one size: positions line up
            }
            for (int i = 0; i < 15; i++) {
                c.dequeue();
            }
        }
        int[] sizes = new int[n];
        Arrays.fill(sizes, "old-0000".length());
        long[] pos = QueueFiles.positions(sizes);
        // A power loss kept records 0..9 and c's commit at 15, and lost 10..19 (a damaged record 10).
        QueueFiles.forgeCrashAfterFlush(dir, 5, pos[5]);
        Path arena = QueueFiles.arenaFileAt(dir, ARENA, pos[10]);
        QueueFiles.flipByte(arena, QueueFiles.indexInArena(ARENA, pos[10]) + 20);
        QueueFiles.flipByte(FileFormat.consumerFile(dir, "other"), 3);
        try (BigQueue q = BigQueue.open(dir, config().build())) {
            assertEquals(10, q.tailOffset(), "recovery cut at the damaged record");
            for (int i = 10; i < n; i++) {
                q.enqueueString(String.format("new-%04d", i));
            }
            Consumers consumers = Consumers.of(q);
            assertEquals("new-0010", consumers.open("c").dequeueString(), "c skipped what was appended at the cut");
            assertThrows(QueueCorruptedException.class, () -> consumers.open("other"), "the damage is still reported");
        }
    }
}
