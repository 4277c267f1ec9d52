package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.testing.QueueFiles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Guarantee 4 (integrity): every record carries a checksum and a damaged record is never returned
 * as data; recovery truncates a torn tail (and logs it), while damage anywhere else is reported
 * with the file and the byte offset, never silently skipped. Files are damaged in a closed queue
 * directory, byte by byte, at offsets computed from {@link FileFormat}; every failed open is
 * checked to leave the stored files exactly as they were, and undoing the damage makes the queue
 * whole again.
 */
class IntegrityTest {
    private static final int ARENA = 4096;
    private static final int COUNT = 60;
    private static final int SIZE = 300;

    @TempDir
    Path dir;

    private static QueueConfig config() {
        return QueueConfig.builder().arenaSize(ARENA).flushInterval(java.time.Duration.ZERO)
                .gcInterval(java.time.Duration.ZERO).build();
    }

    private static byte[] message(long offset, int size) {
        byte[] b = new byte[size];
        new SplittableRandom(offset * 31 + size).nextBytes(b);
        return b;
    }

    private static int[] sizes(int count) {
        int[] s = new int[count];
        Arrays.fill(s, SIZE);
        return s;
    }

    /** Writes the messages, closes cleanly, returns their stream positions. */
    private long[] fill(int[] sizes) {
        try (BigQueue q = BigQueue.open(dir, config())) {
            for (int i = 0; i < sizes.length; i++) {
                assertEquals(i, q.enqueue(message(i, sizes[i])));
            }
        }
        return QueueFiles.positions(sizes);
    }

    private static void assertMessage(long offset, int size, byte[] got) {
        assertArrayEquals(message(offset, size), got, "message " + offset);
    }

    private static void assertNames(QueueCorruptedException e, Path file, long fileOffset) {
        assertEquals(file.getFileName(), e.file().getFileName(), e.getMessage());
        assertEquals(fileOffset, e.fileOffset(), e.getMessage());
        assertTrue(e.getMessage().contains(file.getFileName().toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains("at byte " + fileOffset), "names the offset: " + e.getMessage());
    }

    /** Where in a record the damage goes. */
    enum Damage {
        PAYLOAD, CHECKSUM, LENGTH_LOW_BYTE, LENGTH_HIGH_BYTE, SPANNING_RECORD_SECOND_ARENA
    }

    @ParameterizedTest
    @EnumSource(Damage.class)
    void damagedRecordInTheMiddle_dequeueThrowsNamingFileAndOffset_neverReturnsIt(Damage damage) throws IOException {
        long[] pos = fill(sizes(COUNT));
        int victim = 28; // in the middle of arena 2
        if (damage == Damage.SPANNING_RECORD_SECOND_ARENA) {
            victim = firstSpanning(pos, 20);
        } else {
            long data = FileFormat.dataBytes(ARENA);
            assertEquals(pos[victim] / data, (pos[victim + 1] - 1) / data, "the victim lies within one arena");
        }
        Path arena = QueueFiles.arenaFileAt(dir, ARENA, pos[victim]);
        long header = QueueFiles.indexInArena(ARENA, pos[victim]);
        Path damagedFile = arena;
        long at;
        switch (damage) {
            case PAYLOAD:
                at = header + FileFormat.RECORD_HEADER_SIZE + SIZE / 2;
                break;
            case CHECKSUM:
                at = header + FileFormat.RECORD_CHECKSUM_OFFSET + 1;
                break;
            case LENGTH_LOW_BYTE:
                at = header + FileFormat.RECORD_LENGTH_OFFSET;
                break;
            case LENGTH_HIGH_BYTE:
                at = header + FileFormat.RECORD_LENGTH_OFFSET + 2;
                break;
            default:
                long lastByte = pos[victim] + FileFormat.RECORD_HEADER_SIZE + SIZE - 1;
                damagedFile = QueueFiles.arenaFileAt(dir, ARENA, lastByte);
                assertFalse(damagedFile.equals(arena));
                at = QueueFiles.indexInArena(ARENA, lastByte);
        }
        byte old = QueueFiles.flipByte(damagedFile, at);
        try (BigQueue q = BigQueue.open(dir, config())) {
            for (int i = 0; i < victim; i++) {
                assertMessage(i, SIZE, q.dequeue());
            }
            for (int attempt = 0; attempt < 2; attempt++) {
                QueueCorruptedException e = assertThrows(QueueCorruptedException.class, q::dequeue);
                assertNames(e, arena, header);
                assertTrue(e.getMessage().contains("offset " + victim), e.getMessage());
                assertThrows(QueueCorruptedException.class, q::peek);
            }
            assertEquals(victim, q.headOffset(), "a failed dequeue consumes nothing");
        }
        // Repair the byte: everything is there again, starting with the damaged message.
        QueueFiles.writeByte(damagedFile, at, old);
        try (BigQueue q = BigQueue.open(dir, config())) {
            for (int i = victim; i < COUNT; i++) {
                assertMessage(i, SIZE, q.dequeue());
            }
            assertNull(q.dequeue());
        }
    }

    private static int firstSpanning(long[] pos, int from) {
        long data = FileFormat.dataBytes(ARENA);
        for (int i = from; i < pos.length - 1; i++) {
            long payloadEnd = pos[i] + FileFormat.RECORD_HEADER_SIZE + SIZE - 1;
            if (pos[i] / data != payloadEnd / data && payloadEnd % data > 16) {
                return i;
            }
        }
        throw new AssertionError("no spanning record");
    }

    @Test
    void tornLastRecordSpanningArenas_recoveryTruncatesIt_earlierIntact_laterWritesSurvive() throws IOException {
        int[] sizes = sizes(COUNT);
        sizes[COUNT - 1] = 10_000; // spans three arenas
        long[] pos = fill(sizes);
        int last = COUNT - 1;
        long cutArena = pos[last] / FileFormat.dataBytes(ARENA);
        long endArena = (pos[last + 1] - 1) / FileFormat.dataBytes(ARENA);
        assertTrue(endArena >= cutArena + 2);
        // The process died while copying the last message: its final part never reached the arena.
        long lastByte = pos[last] + FileFormat.RECORD_HEADER_SIZE + sizes[last] - 1;
        QueueFiles.zero(QueueFiles.arenaFileAt(dir, ARENA, lastByte),
                QueueFiles.indexInArena(ARENA, lastByte) - 99, 100);
        QueueFiles.forgeCrashBefore(dir, last, pos[last]);
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(last, q.tailOffset(), "the torn record is cut");
            // The arenas holding the rest of the torn record are gone; one may be made again ahead
            // of the writer (pretouch), fresh: nothing of the torn record in it.
            for (long id = cutArena + 2; id <= endArena; id++) {
                assertFalse(Files.exists(FileFormat.arenaFile(dir, id)), "arena " + id + " after the cut is deleted");
            }
            Path ahead = FileFormat.arenaFile(dir, cutArena + 1);
            if (Files.exists(ahead)) {
                byte[] b = Files.readAllBytes(ahead);
                for (int i = FileFormat.ARENA_HEADER_SIZE; i < b.length; i++) {
                    assertEquals(0, b[i], "arena " + (cutArena + 1) + " byte " + i + " after the cut");
                }
            }
            for (int i = 0; i < last; i++) {
                assertMessage(i, sizes[i], q.dequeue());
            }
            assertNull(q.dequeue());
            for (int i = 0; i < 5; i++) {
                assertEquals(last + i, q.enqueue(message(1000 + i, 5000)));
            }
        }
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(last, q.headOffset());
            for (int i = 0; i < 5; i++) {
                assertMessage(1000 + i, 5000, q.dequeue());
            }
            assertNull(q.dequeue());
        }
    }

    @Test
    void tornLastRecord_garbledPayload_recoveryTruncatesIt() throws IOException {
        long[] pos = fill(sizes(COUNT));
        int last = COUNT - 1;
        QueueFiles.flipByte(QueueFiles.arenaFileAt(dir, ARENA, pos[last]),
                QueueFiles.indexInArena(ARENA, pos[last]) + FileFormat.RECORD_HEADER_SIZE);
        QueueFiles.forgeCrashBefore(dir, last, pos[last]);
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(last, q.tailOffset());
            for (int i = 0; i < last; i++) {
                assertMessage(i, SIZE, q.dequeue());
            }
            assertNull(q.dequeue());
            assertEquals(last, q.enqueueString("after the cut"));
        }
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals("after the cut", q.dequeueString());
        }
    }

    /**
     * A queue flushed up to record {@code durable} that died later, with {@code victim} (after the
     * durable point) damaged and whole records after it: recovery checks every record past the
     * durable point and the first bad one cuts the tail (guarantee 3: a power loss can leave
     * exactly this, and the queue must come back readable); what was cut had never been flushed.
     */
    private void damagedAfterTheDurablePointOnUncleanOpen(int durable, int victim, long damageWithinRecord)
            throws IOException {
        long[] pos = fill(sizes(COUNT));
        QueueFiles.forgeCrashAfterFlush(dir, durable, pos[durable]);
        Path arena = QueueFiles.arenaFileAt(dir, ARENA, pos[victim]);
        QueueFiles.flipByte(arena, QueueFiles.indexInArena(ARENA, pos[victim]) + damageWithinRecord);
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(victim, q.tailOffset(), "the first bad record after the durable point ends the log");
            for (int i = 0; i < victim; i++) {
                assertMessage(i, SIZE, q.dequeue());
            }
            assertNull(q.dequeue());
            assertEquals(victim, q.enqueueString("after the cut"));
        }
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(victim + 1, q.tailOffset());
            q.gc();
            assertEquals("after the cut", q.dequeueString(), "the cut region was zeroed: nothing of it comes back");
        }
    }

    @Test
    void damagedPayloadAfterTheDurablePoint_withWholeRecordsAfterIt_onUncleanOpen_cutsTheTail() throws IOException {
        damagedAfterTheDurablePointOnUncleanOpen(5, 28, FileFormat.RECORD_HEADER_SIZE + 7);
    }

    @Test
    void damagedLengthAfterTheDurablePoint_withWholeRecordsAfterIt_onUncleanOpen_cutsTheTail() throws IOException {
        damagedAfterTheDurablePointOnUncleanOpen(5, 28, FileFormat.RECORD_LENGTH_OFFSET);
    }

    /**
     * Damage before the durable point is not looked for on open (no full scan, guarantee 9); the
     * read that meets it throws, naming the file and the byte offset, and returns nothing of it.
     */
    @Test
    void damagedPayloadBeforeTheDurablePoint_onUncleanOpen_isReportedWhenRead_namingFileAndOffset() throws IOException {
        long[] pos = fill(sizes(COUNT));
        QueueFiles.forgeCrashAfterFlush(dir, COUNT - 2, pos[COUNT - 2]);
        int victim = 28;
        Path arena = QueueFiles.arenaFileAt(dir, ARENA, pos[victim]);
        long header = QueueFiles.indexInArena(ARENA, pos[victim]);
        byte old = QueueFiles.flipByte(arena, header + FileFormat.RECORD_HEADER_SIZE + 7);
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(COUNT, q.tailOffset());
            for (int i = 0; i < victim; i++) {
                assertMessage(i, SIZE, q.dequeue());
            }
            QueueCorruptedException e = assertThrows(QueueCorruptedException.class, q::dequeue);
            assertNames(e, arena, header);
            assertTrue(e.getMessage().contains("offset " + victim), e.getMessage());
            assertEquals(victim, q.headOffset(), "the damaged record is not consumed");
        }
        QueueFiles.writeByte(arena, header + FileFormat.RECORD_HEADER_SIZE + 7, old);
        try (BigQueue q = BigQueue.open(dir, config())) {
            for (int i = victim; i < COUNT; i++) {
                assertMessage(i, SIZE, q.dequeue());
            }
        }
    }

    @Test
    void truncatedArena_openFails_namingFileAndBothLengths_nothingChanged() throws IOException {
        fill(sizes(COUNT));
        Path arena = FileFormat.arenaFile(dir, 2);
        byte[] whole = Files.readAllBytes(arena);
        try (FileChannel ch = FileChannel.open(arena, StandardOpenOption.WRITE)) {
            ch.truncate(1000);
        }
        TreeMap<String, byte[]> before = QueueFiles.snapshot(dir);
        QueueCorruptedException e = assertThrows(QueueCorruptedException.class, () -> BigQueue.open(dir, config()));
        assertEquals(arena.getFileName(), e.file().getFileName());
        assertTrue(e.getMessage().contains(arena.getFileName().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("1000") && e.getMessage().contains(String.valueOf(ARENA)),
                "names both lengths: " + e.getMessage());
        QueueFiles.assertUnchanged(before, dir, "a refused open");
        Files.write(arena, whole);
        assertAllThere();
    }

    @Test
    void foreignFileWithAnArenaName_openFails_namingIt_nothingChanged() throws IOException {
        fill(sizes(COUNT));
        long next = 0;
        while (Files.exists(FileFormat.arenaFile(dir, next))) {
            next++;
        }
        Path foreign = FileFormat.arenaFile(dir, next);
        byte[] text = new byte[ARENA];
        Arrays.fill(text, (byte) 'x');
        Files.write(foreign, text);
        TreeMap<String, byte[]> before = QueueFiles.snapshot(dir);
        QueueCorruptedException e = assertThrows(QueueCorruptedException.class, () -> BigQueue.open(dir, config()));
        assertEquals(foreign.getFileName(), e.file().getFileName(), e.getMessage());
        assertTrue(e.getMessage().contains(foreign.getFileName().toString()) && e.getMessage().contains("magic"),
                e.getMessage());
        QueueFiles.assertUnchanged(before, dir, "a refused open");

        Files.write(foreign, "a short note".getBytes(StandardCharsets.US_ASCII));
        e = assertThrows(QueueCorruptedException.class, () -> BigQueue.open(dir, config()));
        assertTrue(e.getMessage().contains(foreign.getFileName().toString()) && e.getMessage().contains("12 bytes"),
                e.getMessage());

        Files.delete(foreign);
        // A file that is not named like ours is left alone, and does not stop the queue.
        Path note = dir.resolve("README.txt");
        Files.writeString(note, "hands off");
        assertAllThere();
        assertEquals("hands off", Files.readString(note));
    }

    @Test
    void metaWithBadMagic_openFails_namingIt_nothingChanged() throws IOException {
        fill(sizes(COUNT));
        Path meta = QueueFiles.meta(dir);
        byte old = QueueFiles.flipByte(meta, 3);
        TreeMap<String, byte[]> before = QueueFiles.snapshot(dir);
        QueueCorruptedException e = assertThrows(QueueCorruptedException.class, () -> BigQueue.open(dir, config()));
        assertEquals(FileFormat.META_FILE, e.file().getFileName().toString());
        assertTrue(e.getMessage().contains(FileFormat.META_FILE) && e.getMessage().contains("magic"), e.getMessage());
        QueueFiles.assertUnchanged(before, dir, "a refused open");
        QueueFiles.writeByte(meta, 3, old);
        assertAllThere();
    }

    @Test
    void metaOfUnknownVersion_openFails_namingBothVersions_nothingChanged() throws IOException {
        fill(sizes(COUNT));
        Path meta = QueueFiles.meta(dir);
        QueueFiles.writeInt(meta, FileFormat.META_VERSION_OFFSET, 99);
        TreeMap<String, byte[]> before = QueueFiles.snapshot(dir);
        QueueCorruptedException e = assertThrows(QueueCorruptedException.class, () -> BigQueue.open(dir, config()));
        assertTrue(e.getMessage().contains("version 99") && e.getMessage().contains("version " + FileFormat.VERSION),
                "names both versions: " + e.getMessage());
        assertTrue(e.getMessage().contains(FileFormat.META_FILE), e.getMessage());
        QueueFiles.assertUnchanged(before, dir, "a refused open");
        QueueFiles.writeInt(meta, FileFormat.META_VERSION_OFFSET, FileFormat.VERSION);
        assertAllThere();
    }

    @Test
    void arenaOfUnknownVersion_isReportedNamingBothVersions_atOpen_nothingChanged() throws IOException {
        fill(sizes(COUNT));
        Path arena = FileFormat.arenaFile(dir, 0);
        QueueFiles.writeInt(arena, FileFormat.ARENA_VERSION_OFFSET, 7);
        TreeMap<String, byte[]> before = QueueFiles.snapshot(dir);
        QueueCorruptedException e = assertThrows(QueueCorruptedException.class, () -> BigQueue.open(dir, config()));
        assertTrue(e.getMessage().contains("version 7") && e.getMessage().contains("version " + FileFormat.VERSION)
                && e.getMessage().contains(arena.getFileName().toString()), e.getMessage());
        QueueFiles.assertUnchanged(before, dir, "a refused open");
        QueueFiles.writeInt(arena, FileFormat.ARENA_VERSION_OFFSET, FileFormat.VERSION);
        assertAllThere();
    }

    @Test
    void truncatedMeta_openFails_namingIt_nothingChanged() throws IOException {
        fill(sizes(COUNT));
        Path meta = QueueFiles.meta(dir);
        byte[] whole = Files.readAllBytes(meta);
        Files.write(meta, Arrays.copyOf(whole, 100));
        TreeMap<String, byte[]> before = QueueFiles.snapshot(dir);
        QueueCorruptedException e = assertThrows(QueueCorruptedException.class, () -> BigQueue.open(dir, config()));
        assertTrue(e.getMessage().contains(FileFormat.META_FILE) && e.getMessage().contains("100"), e.getMessage());
        QueueFiles.assertUnchanged(before, dir, "a refused open");
        Files.write(meta, whole);
        assertAllThere();
    }

    /** Opens the queue and dequeues every message {@link #fill} wrote, checking each byte. */
    private void assertAllThere() {
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(COUNT, q.size());
            for (int i = 0; i < COUNT; i++) {
                assertMessage(i, SIZE, q.dequeue());
            }
            assertNull(q.dequeue());
        }
    }
}
