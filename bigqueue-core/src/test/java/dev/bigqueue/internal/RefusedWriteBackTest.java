package dev.bigqueue.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The marker a failed write-back leaves, and what the next writer open does with it: the arenas
 * from the one holding the durable point on become new files (new inodes, the same bytes), the
 * ones before stay, the marker goes. The failure itself, on a real failing disk, is
 * {@code WriteBackFailureTest}'s.
 */
class RefusedWriteBackTest {
    private static final long ARENA = 64 * 1024;

    @TempDir
    Path dir;

    private QueueConfig config() {
        return QueueConfig.builder().arenaSize(ARENA).pretouch(false).gcInterval(Duration.ZERO).build();
    }

    private static byte[] message(int i) {
        byte[] m = new byte[1000];
        m[0] = (byte) i;
        m[999] = (byte) (i >> 8);
        return m;
    }

    private int fillThreeArenas() {
        int n = 0;
        try (BigQueue q = BigQueue.open(dir, config())) {
            while (!Files.exists(FileFormat.arenaFile(dir, 2))) {
                q.enqueue(message(n++));
            }
        }
        return n;
    }

    private Object inode(long arena) throws Exception {
        return Files.getAttribute(FileFormat.arenaFile(dir, arena), "unix:ino");
    }

    private void checkAll(int n) {
        try (BigQueue q = BigQueue.open(dir, config())) {
            assertEquals(n, q.tailOffset());
            for (int i = 0; i < n; i++) {
                assertArrayEquals(message(i), q.dequeue(), "message " + i);
            }
            assertNull(q.dequeue());
        }
    }

    @Test
    void theArenasFromTheDurablePointOn_becomeNewFiles_withTheSameBytes() throws Exception {
        int n = fillThreeArenas();
        long dataBytes = FileFormat.dataBytes(ARENA);
        Object[] before = {inode(0), inode(1), inode(2)};
        RefusedWriteBack.record(dir, new StreamPoint(70, dataBytes + 100));
        assertEquals(OptionalLong.of(70), RefusedWriteBack.recordedOffset(dir));

        checkAll(n);
        assertFalse(Files.exists(dir.resolve(FileFormat.WRITEBACK_FAILED_FILE)));
        assertEquals(OptionalLong.empty(), RefusedWriteBack.recordedOffset(dir));
        assertEquals(before[0], inode(0), "arena 0 is before the durable point: left alone");
        assertNotEquals(before[1], inode(1), "arena 1 holds the durable point: rewritten");
        assertNotEquals(before[2], inode(2));
    }

    @Test
    void aDamagedMarker_rewritesEveryArena() throws Exception {
        int n = fillThreeArenas();
        Object[] before = {inode(0), inode(1), inode(2)};
        Files.write(dir.resolve(FileFormat.WRITEBACK_FAILED_FILE), new byte[] {1, 2, 3});
        assertEquals(OptionalLong.of(0), RefusedWriteBack.recordedOffset(dir));
        checkAll(n);
        for (int a = 0; a < 3; a++) {
            assertNotEquals(before[a], inode(a), "arena " + a);
        }
        assertFalse(Files.exists(dir.resolve(FileFormat.WRITEBACK_FAILED_FILE)));
    }

    @Test
    void aReadOnlyOpen_leavesTheMarkerToTheWriter() throws Exception {
        int n = fillThreeArenas();
        RefusedWriteBack.record(dir, new StreamPoint(0, 0));
        Object arena0 = inode(0);
        try (BigQueue reader = BigQueue.open(dir, config().toBuilder().readOnly(true).build())) {
            assertEquals(n, reader.tailOffset());
        }
        assertTrue(Files.exists(dir.resolve(FileFormat.WRITEBACK_FAILED_FILE)));
        assertEquals(arena0, inode(0));
        checkAll(n);
        assertNotEquals(arena0, inode(0));
    }
}
