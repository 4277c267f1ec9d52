package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.testing.QueueFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantee 4 at the edges of the log: open verifies every arena file it registers (header id,
 * size, place in the sequence, no gap at either end that queue.meta does not explain) and every
 * field of queue.meta it trusts. Damage there is an error naming the file, never a silent skip of
 * unread messages, and a refused open changes no file.
 */
class OpenVerificationTest {
    private static final int ARENA = 4096;
    private static final int COUNT = 80;
    private static final int SIZE = 200;

    @TempDir
    Path dir;

    private static QueueConfig config() {
        return QueueConfig.builder().arenaSize(ARENA).flushInterval(Duration.ZERO).gcInterval(Duration.ZERO)
                .pretouch(false).build();
    }

    private static byte[] message(long i) {
        byte[] b = new byte[SIZE];
        java.util.Arrays.fill(b, (byte) i);
        return b;
    }

    /** COUNT messages over several arenas, closed cleanly; returns how many arena files there are. */
    private long fill() throws IOException {
        try (BigQueue q = BigQueue.open(dir, config())) {
            for (int i = 0; i < COUNT; i++) {
                q.enqueue(message(i));
            }
        }
        try (var files = Files.list(dir)) {
            return files.filter(p -> FileFormat.arenaIdOf(p.getFileName().toString()) >= 0).count();
        }
    }

    private QueueCorruptedException refusedUnchanged(String what) throws IOException {
        TreeMap<String, byte[]> before = QueueFiles.snapshot(dir);
        QueueCorruptedException e = assertThrows(QueueCorruptedException.class, () -> BigQueue.open(dir, config()),
                what);
        QueueFiles.assertUnchanged(before, dir, what);
        // Shown to users as it is: the damage first, no Java class name in front of it.
        assertTrue(!e.getMessage().startsWith("java."), e.getMessage());
        return e;
    }

    @Test
    void lowestArenaDeleted_openFailsNamingIt_noConsumerSkipsAhead() throws IOException {
        fill();
        Path arena0 = FileFormat.arenaFile(dir, 0);
        Path aside = dir.resolveSibling("arena0-aside");
        Files.move(arena0, aside);
        QueueCorruptedException e = refusedUnchanged("a missing lowest arena");
        assertEquals(arena0.getFileName(), e.file().getFileName(), e.getMessage());
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
        Files.move(aside, arena0);
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(0, q.headOffset(), "nothing was skipped");
            assertArrayEquals(message(0), q.dequeue());
        }
    }

    @Test
    void highestArenaDeleted_cleanTailInIt_openFailsNamingIt() throws IOException {
        long arenas = fill();
        Path last = FileFormat.arenaFile(dir, arenas - 1);
        Files.delete(last);
        QueueCorruptedException e = refusedUnchanged("a missing last arena");
        assertEquals(last.getFileName(), e.file().getFileName(), e.getMessage());
    }

    @Test
    void arenasSwapped_openFailsNamingTheIdMismatch() throws IOException {
        fill();
        Path one = FileFormat.arenaFile(dir, 1);
        Path two = FileFormat.arenaFile(dir, 2);
        Path tmp = dir.resolveSibling("swap");
        Files.move(one, tmp);
        Files.move(two, one);
        Files.move(tmp, two);
        QueueCorruptedException e = refusedUnchanged("swapped arenas");
        assertTrue(e.getMessage().contains("header says id"), e.getMessage());
    }

    @Test
    void arenaDuplicated_openFailsNamingTheIdMismatch() throws IOException {
        fill();
        Files.copy(FileFormat.arenaFile(dir, 1), FileFormat.arenaFile(dir, 2), StandardCopyOption.REPLACE_EXISTING);
        QueueCorruptedException e = refusedUnchanged("a duplicated arena");
        assertEquals(FileFormat.arenaFileName(2), e.file().getFileName().toString(), e.getMessage());
    }

    @Test
    void arenaSizeInMetaDamaged_isReportedAsDamageOfQueueMeta_notAsTheCallersConfig() throws IOException {
        fill();
        QueueFiles.flipByte(QueueFiles.meta(dir), FileFormat.META_ARENA_SIZE_OFFSET + 1);
        QueueCorruptedException e = refusedUnchanged("a damaged arenaSize");
        assertEquals(FileFormat.META_FILE, e.file().getFileName().toString());
        assertFalse(e.getMessage().contains("QueueConfig"), "not blamed on the caller: " + e.getMessage());
    }

    @Test
    void strayArenaWithRecordsPastTheCleanTail_isReportedAtOpen_notOverwritten() throws IOException {
        long arenas = fill();
        // A copy of arena 1 made to look like the next arena (header id patched): records past the tail.
        Path stray = FileFormat.arenaFile(dir, arenas);
        Files.copy(FileFormat.arenaFile(dir, 1), stray);
        java.nio.ByteBuffer id = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        id.putLong(0, arenas);
        long position = arenas * FileFormat.dataBytes(ARENA) + 16;
        java.nio.ByteBuffer slot = java.nio.ByteBuffer.allocate(FileFormat.SLOT_SIZE)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        slot.putLong(FileFormat.SLOT_OFFSET, COUNT + 7).putLong(FileFormat.SLOT_POSITION, position)
                .putLong(FileFormat.SLOT_SEQUENCE, 1)
                .putLong(FileFormat.SLOT_CHECK, FileFormat.slotCheck(COUNT + 7, position, 1));
        try (var ch = java.nio.channels.FileChannel.open(stray, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(id, FileFormat.ARENA_ID_OFFSET);
            ch.write(slot, FileFormat.ARENA_FIRST_RECORD_SLOT);
        }
        QueueCorruptedException e = refusedUnchanged("a stray arena");
        assertEquals(stray.getFileName(), e.file().getFileName(), e.getMessage());
        assertTrue(e.getMessage().contains("past the queue's tail"), e.getMessage());
    }

    @Test
    void bothHeadSlotsDamaged_isReported_neverARewindToTheStart() throws IOException {
        fill();
        try (BigQueue q = BigQueue.open(dir, config())) {
            for (int i = 0; i < 10; i++) {
                q.dequeue();
            }
        }
        QueueFiles.flipByte(QueueFiles.meta(dir), FileFormat.META_HEAD_SLOTS + 3);
        QueueFiles.flipByte(QueueFiles.meta(dir), FileFormat.META_HEAD_SLOTS + FileFormat.SLOT_SIZE + 3);
        QueueCorruptedException e = refusedUnchanged("damaged head slots");
        assertEquals(FileFormat.META_HEAD_SLOTS, e.fileOffset(), e.getMessage());
    }

    @Test
    void ownConsumerBehindTheStart_withoutADropByRule_isDamage() throws IOException {
        fill();
        // A start moved past the head, as if arenas had gone without any consumer reading them.
        long arenaStart1 = FileFormat.dataBytes(ARENA);
        long[] pos = QueueFiles.positions(sizes());
        int firstInArena1 = 0;
        while (pos[firstInArena1] < arenaStart1) {
            firstInArena1++;
        }
        QueueFiles.writeSlot(dir, FileFormat.META_START_SLOTS, firstInArena1, pos[firstInArena1], 100);
        QueueCorruptedException e = refusedUnchanged("a head before the start");
        assertEquals(FileFormat.arenaFileName(0), e.file().getFileName().toString(), e.getMessage());
        assertTrue(e.getMessage().contains("no rule dropped"), e.getMessage());
    }

    @Test
    void arenasBelowTheStart_leftByACollectionCutShort_areDeletedOnOpen() throws IOException {
        fill();
        long[] pos = QueueFiles.positions(sizes());
        int firstInArena1 = 0;
        while (pos[firstInArena1] < FileFormat.dataBytes(ARENA)) {
            firstInArena1++;
        }
        // The collector recorded the new start (and the head had passed it), then died before deleting.
        QueueFiles.writeSlot(dir, FileFormat.META_START_SLOTS, firstInArena1, pos[firstInArena1], 100);
        QueueFiles.writeSlot(dir, FileFormat.META_HEAD_SLOTS, firstInArena1, pos[firstInArena1], 100);
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertFalse(Files.exists(FileFormat.arenaFile(dir, 0)));
            assertEquals(firstInArena1, q.earliestOffset());
            assertArrayEquals(message(firstInArena1), q.dequeue());
        }
    }

    /**
     * An open deletes the temporary files a crash left of the queue's own ({@code <its file>.tmp}),
     * and nothing else: it used to delete any {@code *.tmp} in the directory, and to fail on a
     * directory named so.
     */
    @Test
    void onlyTheQueuesOwnTemporaryFiles_areDeletedOnOpen() throws IOException {
        fill();
        Path own = dir.resolve(FileFormat.arenaFileName(7) + ".tmp");
        Path users = dir.resolve("important.tmp");
        Path usersDir = dir.resolve("notes.tmp");
        Files.write(own, new byte[100]);
        Files.write(users, new byte[] {1, 2, 3});
        Files.createDirectories(usersDir);
        Files.write(usersDir.resolve("note"), new byte[] {4});
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertArrayEquals(message(0), q.dequeue());
        }
        assertFalse(Files.exists(own), "a creation cut short by a crash is cleaned up");
        assertTrue(Files.exists(users) && Files.exists(usersDir.resolve("note")), "not the queue's to delete");
    }

    @Test
    void aDirectoryNamedLikeTheWriteBackMarker_failsTheOpenNamingIt_andChangesNothing() throws IOException {
        fill();
        Path stray = dir.resolve(FileFormat.WRITEBACK_FAILED_FILE);
        Files.createDirectories(stray);
        TreeMap<String, byte[]> before = QueueFiles.snapshot(dir);
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> BigQueue.open(dir, config()));
        assertTrue(e.getMessage().contains(stray.toAbsolutePath() + " is a directory"), e.getMessage());
        QueueFiles.assertUnchanged(before, dir, "a refused open");
        Files.delete(stray);
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertArrayEquals(message(0), q.dequeue());
        }
    }

    private static int[] sizes() {
        int[] s = new int[COUNT];
        java.util.Arrays.fill(s, SIZE);
        return s;
    }
}
