package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Misuse gets a clear error that says what to do, and never damages data already stored. */
class BadInputTest {
    @TempDir
    Path dir;

    @Test
    void nullArguments_areRejectedWithAHint_andNothingIsWritten() {
        try (BigQueue q = BigQueue.open(dir)) {
            q.enqueueString("kept");
            NullPointerException e = assertThrows(NullPointerException.class, () -> q.enqueue((byte[]) null));
            assertTrue(e.getMessage().contains("empty"), e.getMessage());
            assertThrows(NullPointerException.class, () -> q.enqueue((ByteBuffer) null));
            assertThrows(NullPointerException.class, () -> q.enqueue(null, 0, 0));
            assertThrows(NullPointerException.class, () -> q.enqueueString(null));
            assertThrows(NullPointerException.class, () -> q.dequeue((Duration) null));
            e = assertThrows(NullPointerException.class, () -> q.drainTo(null, 1));
            assertTrue(e.getMessage().contains("sink"), e.getMessage());
            assertThrows(NullPointerException.class, () -> q.drainTo(new ArrayList<>(), 1, null));
            IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                    () -> q.drainTo(new ArrayList<>(), -1));
            assertTrue(negative.getMessage().contains("max") && negative.getMessage().contains("-1"),
                    negative.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> q.enqueue(new byte[4], 2, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> q.enqueue(new byte[4], -1, 1));
            assertEquals(1, q.tailOffset());
            assertEquals("kept", q.dequeueString());
        }
        assertThrows(NullPointerException.class, () -> BigQueue.open(null));
        assertThrows(NullPointerException.class, () -> BigQueue.open(dir, null));
    }

    @Test
    void closedQueue_everyOperationSaysItIsClosed_closeIsIdempotent() {
        BigQueue q = BigQueue.open(dir);
        q.enqueueString("a");
        q.close();
        q.close();
        for (Runnable op : new Runnable[] {() -> q.enqueueString("b"), q::dequeue, q::peek, q::size, q::isEmpty,
            q::flush, q::gc, q::tailOffset, q::headOffset, q::earliestOffset,
            () -> q.drainTo(new ArrayList<>(), 1)}) {
            QueueClosedException e = assertThrows(QueueClosedException.class, op::run);
            assertTrue(e.getMessage().contains("closed") && e.getMessage().contains("BigQueue.open"), e.getMessage());
        }
        try (BigQueue again = BigQueue.open(dir)) {
            assertEquals("a", again.dequeueString());
        }
    }

    @Test
    void foreignDirectory_isRefused_andLeftUntouched() throws Exception {
        Files.writeString(dir.resolve("notes.txt"), "my notes");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BigQueue.open(dir));
        assertTrue(e.getMessage().contains("notes.txt") && e.getMessage().contains("not a bigqueue"), e.getMessage());
        assertEquals("my notes", Files.readString(dir.resolve("notes.txt")));
        assertTrue(!Files.exists(dir.resolve("queue.meta")));
    }

    @Test
    void pathThatIsAFile_isRefused() throws Exception {
        Path file = Files.writeString(dir.resolve("plain"), "x");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BigQueue.open(file));
        assertTrue(e.getMessage().contains("not a directory"), e.getMessage());
    }

    @Test
    void strayFileInsideAQueue_isIgnoredWithAWarning_dataIntact() throws Exception {
        try (BigQueue q = BigQueue.open(dir)) {
            q.enqueueString("a");
        }
        Files.writeString(dir.resolve("README.txt"), "someone's note");
        try (BigQueue q = BigQueue.open(dir)) {
            assertEquals("a", q.dequeueString());
        }
        assertEquals("someone's note", Files.readString(dir.resolve("README.txt")));
    }

    @Test
    void leftoverTempFileFromACrashedArenaCreation_isRemoved() throws Exception {
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(4096).build())) {
            q.enqueueString("a");
        }
        Files.write(dir.resolve("arena-000000000001.dat.tmp"), new byte[100]);
        try (BigQueue q = BigQueue.open(dir)) {
            assertEquals("a", q.dequeueString());
        }
        assertTrue(!Files.exists(dir.resolve("arena-000000000001.dat.tmp")));
    }

    @Test
    void hugeMessage_severalArenas_roundTrips() {
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().arenaSize(64 * 1024).build())) {
            byte[] big = new byte[5 << 20];
            big[0] = 1;
            big[big.length - 1] = 2;
            q.enqueue(big);
            byte[] got = q.dequeue();
            assertEquals(big.length, got.length);
            assertEquals(1, got[0]);
            assertEquals(2, got[got.length - 1]);
        }
    }
}
