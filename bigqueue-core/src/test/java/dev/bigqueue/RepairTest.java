package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * {@link BigQueue#repair}: the user's way out of damage that open refuses (guarantee 4), which
 * gives up exactly the messages it must and reports them, moves files aside instead of deleting
 * them, and leaves a queue that opens and works.
 */
class RepairTest {
    static final int ARENA = 4096;
    static final int COUNT = 80;
    static final int SIZE = 200;

    @TempDir
    Path tmp;

    private Path dir;

    static QueueConfig config() {
        return QueueConfig.builder().arenaSize(ARENA).flushInterval(Duration.ZERO).gcInterval(Duration.ZERO)
                .pretouch(false).build();
    }

    static byte[] message(long i) {
        byte[] b = new byte[SIZE];
        Arrays.fill(b, (byte) i);
        return b;
    }

    private long[] fill() {
        dir = tmp.resolve("q");
        try (BigQueue q = BigQueue.open(dir, config())) {
            for (int i = 0; i < COUNT; i++) {
                q.enqueue(message(i));
            }
        }
        int[] sizes = new int[COUNT];
        Arrays.fill(sizes, SIZE);
        return QueueFiles.positions(sizes);
    }

    private static int firstIn(long[] pos, long arena) {
        int i = 0;
        while (pos[i] < arena * FileFormat.dataBytes(ARENA)) {
            i++;
        }
        return i;
    }

    @Test
    void aWholeQueue_isLeftAsItWas() throws IOException {
        fill();
        var before = QueueFiles.snapshot(dir);
        RepairReport r = BigQueue.repair(dir);
        assertTrue(r.wasWhole(), r.toString());
        assertTrue(r.lost().isEmpty());
        assertNull(r.movedAsideTo());
        QueueFiles.assertUnchanged(before, dir, "a repair with nothing to do");
    }

    @Test
    void lowestArenaMissing_queueStartsAtTheNextArena_theLostOffsetsAreReported() throws IOException {
        long[] pos = fill();
        Files.delete(FileFormat.arenaFile(dir, 0));
        assertThrows(QueueCorruptedException.class, () -> BigQueue.open(dir, config()));
        int first = firstIn(pos, 1);
        RepairReport r = BigQueue.repair(dir);
        assertEquals(1, r.lost().size(), r.toString());
        assertTrue(r.lost().get(0).startsWith("offsets 0.." + (first - 1) + " "), r.toString());
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(first, q.earliestOffset());
            assertEquals(first, q.headOffset(), "the own consumer moved to the start: " + r);
            for (int i = first; i < COUNT; i++) {
                assertArrayEquals(message(i), q.dequeue());
            }
            assertNull(q.dequeue());
        }
    }

    @Test
    void damagedRecordInTheMiddle_logEndsBeforeIt_theRestIsReportedLost_queueWorks() throws IOException {
        long[] pos = fill();
        int victim = 40;
        Path arena = QueueFiles.arenaFileAt(dir, ARENA, pos[victim]);
        QueueFiles.flipByte(arena, QueueFiles.indexInArena(ARENA, pos[victim]) + FileFormat.RECORD_HEADER_SIZE + 3);
        RepairReport r = BigQueue.repair(dir);
        assertEquals(1, r.lost().size(), r.toString());
        assertTrue(r.lost().get(0).startsWith("offsets from " + victim + " to " + (COUNT - 1)), r.toString());
        assertNotNull(r.movedAsideTo(), "the arena zeroed after the cut was copied aside first");
        assertTrue(Files.exists(Path.of(r.movedAsideTo()).resolve(arena.getFileName() + ".before-cut")));
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(victim, q.tailOffset());
            for (int i = 0; i < victim; i++) {
                assertArrayEquals(message(i), q.dequeue());
            }
            assertNull(q.dequeue());
            assertEquals(victim, q.enqueue(message(999)));
        }
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertArrayEquals(message(999), q.dequeue());
        }
    }

    /**
     * Damage in a record every consumer has already read gives up only read records: the queue
     * starts after it, at the first record of the next arena, and every unread message stays. Before,
     * the log ended at the damage: a repair run for anything (here an unreadable consumer file) found
     * an old bit flip in a record read long ago and gave up every message after it, unread ones
     * included (offsets 10..79 here, with the queue's own consumer at 60).
     */
    @Test
    void damageInRecordsEveryConsumerHasRead_givesUpOnlyReadRecords_theUnreadOnesStay() throws IOException {
        long[] pos = fill();
        int headAt = 60;
        try (BigQueue q = BigQueue.open(dir, config())) {
            for (int i = 0; i < headAt; i++) {
                q.dequeue();
            }
        }
        int victim = 10;
        QueueFiles.flipByte(QueueFiles.arenaFileAt(dir, ARENA, pos[victim]),
                QueueFiles.indexInArena(ARENA, pos[victim]) + FileFormat.RECORD_HEADER_SIZE + 3);
        Files.createDirectories(dir.resolve(FileFormat.CONSUMERS_DIR));
        Files.write(FileFormat.consumerFile(dir, "broken"), new byte[7]); // what the user ran repair for
        RepairReport r = BigQueue.repair(dir);
        int resume = firstIn(pos, pos[victim] / FileFormat.dataBytes(ARENA) + 1);
        assertEquals(java.util.List.of("offsets 0.." + (resume - 1)), r.lost().stream()
                .map(l -> l.substring(0, l.indexOf(" ("))).toList(), r.toString());
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(resume, q.earliestOffset(), r.toString());
            assertEquals(COUNT, q.tailOffset(), r.toString());
            assertEquals(headAt, q.headOffset());
            for (int i = headAt; i < COUNT; i++) {
                assertArrayEquals(message(i), q.dequeue());
            }
            assertNull(q.dequeue());
        }
        assertTrue(BigQueue.repair(dir).wasWhole(), "a second repair finds nothing to do");
    }

    /**
     * Damage every named consumer has read, but the queue's own position is damaged too: it may
     * not have read the damaged records, so none after them may be skipped: the log ends there.
     */
    @Test
    void damageBehindEveryReadablePosition_butTheHeadDamaged_endsTheLogBeforeIt() throws IOException {
        long[] pos = fill();
        try (BigQueue q = BigQueue.open(dir, config())) {
            for (int i = 0; i < 60; i++) {
                q.dequeue();
            }
        }
        int victim = 10;
        QueueFiles.flipByte(QueueFiles.arenaFileAt(dir, ARENA, pos[victim]),
                QueueFiles.indexInArena(ARENA, pos[victim]) + FileFormat.RECORD_HEADER_SIZE + 3);
        QueueFiles.flipByte(QueueFiles.meta(dir), FileFormat.META_HEAD_SLOTS + 3);
        QueueFiles.flipByte(QueueFiles.meta(dir), FileFormat.META_HEAD_SLOTS + FileFormat.SLOT_SIZE + 3);
        RepairReport r = BigQueue.repair(dir);
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(0, q.earliestOffset(), r.toString());
            assertEquals(victim, q.tailOffset(), r.toString());
        }
    }

    /** The same damage before a consumer that has not read it: the log ends there, as before. */
    @Test
    void damageInARecordSomeConsumerHasNotRead_endsTheLogBeforeIt() throws IOException {
        long[] pos = fill();
        try (BigQueue q = BigQueue.open(dir, config())) {
            for (int i = 0; i < 5; i++) {
                q.dequeue();
            }
        }
        int victim = 10;
        QueueFiles.flipByte(QueueFiles.arenaFileAt(dir, ARENA, pos[victim]),
                QueueFiles.indexInArena(ARENA, pos[victim]) + FileFormat.RECORD_HEADER_SIZE + 3);
        RepairReport r = BigQueue.repair(dir);
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(0, q.earliestOffset(), r.toString());
            assertEquals(victim, q.tailOffset(), r.toString());
        }
    }

    @Test
    void damagedArenaHeader_isMovedAside_theLogEndsBeforeIt() throws IOException {
        long[] pos = fill();
        QueueFiles.writeInt(FileFormat.arenaFile(dir, 2), FileFormat.ARENA_VERSION_OFFSET, 99);
        RepairReport r = BigQueue.repair(dir);
        assertTrue(Files.exists(Path.of(r.movedAsideTo()).resolve(FileFormat.arenaFileName(2))), r.toString());
        try (BigQueue q = BigQueue.open(dir, config())) {
            long tail = q.tailOffset();
            assertTrue(tail < firstIn(pos, 2) + 1, "the log ends in arena 1: tail " + tail + "\n" + r);
            for (int i = 0; i < tail; i++) {
                assertArrayEquals(message(i), q.dequeue());
            }
        }
        assertTrue(r.lost().get(0).contains("offsets"), r.toString());
    }

    /**
     * A cut before a damaged record that spans arenas keeps every arena it takes out, the one
     * wholly inside that record included: nothing is deleted. Before, an arena after the tail's
     * with no record starting in it was deleted without a copy, and with it the middle of the
     * damaged record, the bytes a user would salvage by hand.
     */
    @Test
    void cutBeforeADamagedRecordSpanningArenas_movesEveryArenaAfterTheTailAside_noneDeleted() throws IOException {
        dir = tmp.resolve("q");
        int big = 2 * ARENA + 500; // from arena 0 through arena 1 (wholly inside it) into arena 2
        try (BigQueue q = BigQueue.open(dir, config())) {
            q.enqueue(message(0));
            byte[] spanning = new byte[big];
            Arrays.fill(spanning, (byte) 7);
            q.enqueue(spanning);
            q.enqueue(message(2));
        }
        long[] pos = QueueFiles.positions(new int[] {SIZE, big, SIZE});
        assertEquals(FileFormat.arenaFile(dir, 2), QueueFiles.arenaFileAt(dir, ARENA, pos[2]));
        Path first = QueueFiles.arenaFileAt(dir, ARENA, pos[1]);
        QueueFiles.flipByte(first, QueueFiles.indexInArena(ARENA, pos[1]) + FileFormat.RECORD_HEADER_SIZE + 3);
        var before = QueueFiles.snapshot(dir);
        RepairReport r = BigQueue.repair(dir);
        assertTrue(r.lost().get(0).startsWith("offsets from 1 to 2"), r.toString());
        Path aside = Path.of(r.movedAsideTo());
        assertArrayEquals(before.get(FileFormat.arenaFileName(0)),
                Files.readAllBytes(aside.resolve(FileFormat.arenaFileName(0) + ".before-cut")));
        for (long id = 1; id <= 2; id++) {
            Path kept = aside.resolve(FileFormat.arenaFileName(id));
            assertTrue(Files.exists(kept), FileFormat.arenaFileName(id) + " was deleted, not moved aside:\n" + r);
            assertArrayEquals(before.get(FileFormat.arenaFileName(id)), Files.readAllBytes(kept));
        }
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(1, q.tailOffset());
            assertArrayEquals(message(0), q.dequeue());
            assertNull(q.dequeue());
        }
    }

    @Test
    void damagedHeadSlots_ownConsumerRestartsAtTheStart_andSaysSo() throws IOException {
        fill();
        try (BigQueue q = BigQueue.open(dir, config())) {
            for (int i = 0; i < 10; i++) {
                q.dequeue();
            }
        }
        QueueFiles.flipByte(QueueFiles.meta(dir), FileFormat.META_HEAD_SLOTS + 3);
        QueueFiles.flipByte(QueueFiles.meta(dir), FileFormat.META_HEAD_SLOTS + FileFormat.SLOT_SIZE + 3);
        assertThrows(QueueCorruptedException.class, () -> BigQueue.open(dir, config()));
        RepairReport r = BigQueue.repair(dir);
        assertTrue(r.toString().contains("the queue's own consumer's position was unreadable"), r.toString());
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(0, q.headOffset());
        }
    }

    /**
     * An unreadable queue.meta stops the repair with advice that leads somewhere. Before, the
     * message of the repair told the user, twice, to run a repair.
     */
    @Test
    void unreadableQueueMeta_stopsTheRepair_withoutAdvisingARepair_changingNothing() throws IOException {
        fill();
        QueueFiles.writeInt(QueueFiles.meta(dir), FileFormat.META_VERSION_OFFSET, 3);
        var before = QueueFiles.snapshot(dir);
        QueueCorruptedException e = assertThrows(QueueCorruptedException.class, () -> BigQueue.repair(dir));
        assertTrue(e.getMessage().contains("incompatible queue.meta version 3")
                && e.getMessage().contains("restore it from a backup") && !e.getMessage().contains("repair DIR")
                && !e.getMessage().contains("BigQueue.repair"), e.getMessage());
        QueueFiles.assertUnchanged(before, dir, "a refused repair");
    }

    @Test
    void aQueueOpenElsewhere_isNotTouched() throws IOException {
        fill();
        try (BigQueue q = BigQueue.open(dir, config())) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> BigQueue.repair(dir));
            assertTrue(e.getMessage().contains("already open"), e.getMessage());
            assertEquals(COUNT, q.tailOffset());
        }
    }

    /**
     * The directory files are moved aside to is a new one, even when an earlier repair of the same
     * second made one of that name (a repair cut short, run again at once). Before, the copy of the
     * arena to be cut collided with the earlier one's and the repair failed: FileAlreadyExistsException.
     */
    @Test
    void anEarlierRepairsDirectoryOfTheSameSecond_isNotReused_andKeepsItsFiles() throws IOException {
        long[] pos = fill();
        int victim = 40;
        Path arena = QueueFiles.arenaFileAt(dir, ARENA, pos[victim]);
        QueueFiles.flipByte(arena, QueueFiles.indexInArena(ARENA, pos[victim]) + FileFormat.RECORD_HEADER_SIZE + 3);
        java.time.LocalDateTime now = java.time.LocalDateTime.now();
        java.util.List<Path> earlier = new java.util.ArrayList<>();
        for (int s = 0; s < 5; s++) { // the repair below starts within these seconds
            Path d = tmp.resolve("q.repair-" + now.plusSeconds(s).format(
                    java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            Files.createDirectories(d);
            Files.writeString(d.resolve(arena.getFileName() + ".before-cut"), "an earlier repair's copy");
            earlier.add(d);
        }
        RepairReport r = BigQueue.repair(dir);
        assertNotNull(r.movedAsideTo(), r.toString());
        assertTrue(!earlier.contains(Path.of(r.movedAsideTo())), r.movedAsideTo());
        assertTrue(Files.exists(Path.of(r.movedAsideTo()).resolve(arena.getFileName() + ".before-cut")));
        for (Path d : earlier) {
            assertEquals("an earlier repair's copy", Files.readString(d.resolve(arena.getFileName() + ".before-cut")));
        }
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(victim, q.tailOffset());
        }
    }
}
