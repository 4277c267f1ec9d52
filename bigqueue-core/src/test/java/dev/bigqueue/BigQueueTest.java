package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every method of the core API on the queue's own consumer, with edge cases. */
class BigQueueTest {
    @TempDir
    Path dir;

    private static QueueConfig small() {
        return QueueConfig.builder().arenaSize(4096).build();
    }

    @Test
    void emptyQueue_returnsNullAndReportsEmpty() {
        try (BigQueue q = BigQueue.open(dir)) {
            assertTrue(q.isEmpty());
            assertEquals(0, q.size());
            assertNull(q.dequeue());
            assertNull(q.dequeueString());
            assertNull(q.peek());
            assertEquals(0, q.headOffset());
            assertEquals(0, q.tailOffset());
            assertEquals(0, q.earliestOffset());
        }
    }

    @Test
    void enqueueDequeue_keepsOrderAndOffsets() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            for (int i = 0; i < 1000; i++) {
                assertEquals(i, q.enqueueString("m" + i));
            }
            assertEquals(1000, q.size());
            for (int i = 0; i < 1000; i++) {
                assertEquals(i, q.headOffset());
                assertEquals("m" + i, q.dequeueString());
            }
            assertNull(q.dequeue());
            assertTrue(q.isEmpty());
        }
    }

    @Test
    void drainTo_movesUpToMaxInOrder_acrossArenas_andSaysHowMany() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            List<byte[]> got = new ArrayList<>();
            assertEquals(0, q.drainTo(got, 10));
            for (int i = 0; i < 300; i++) {
                q.enqueueString("m" + i);
            }
            byte[] spanning = new byte[10_000];
            new Random(7).nextBytes(spanning);
            q.enqueue(spanning);
            assertEquals(0, q.drainTo(got, 0));
            assertEquals(100, q.drainTo(got, 100));
            assertEquals(100, q.headOffset());
            assertEquals(201, q.size());
            assertEquals(201, q.drainTo(got, 1000));
            assertEquals(301, got.size());
            for (int i = 0; i < 300; i++) {
                assertEquals("m" + i, new String(got.get(i), StandardCharsets.UTF_8));
            }
            assertArrayEquals(spanning, got.get(300));
            assertTrue(q.isEmpty());
            assertEquals(0, q.drainTo(got, 5));
            assertEquals(301, got.size());
        }
    }

    @Test
    void drainTo_aSinkThatRefuses_keepsWhatItTook_andTheRefusedMessageComesNext() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            for (int i = 0; i < 10; i++) {
                q.enqueueString("m" + i);
            }
            List<byte[]> holdsThree = new ArrayList<>() {
                @Override
                public boolean add(byte[] m) {
                    if (size() == 3) {
                        throw new IllegalStateException("full");
                    }
                    return super.add(m);
                }
            };
            assertThrows(IllegalStateException.class, () -> q.drainTo(holdsThree, 10));
            assertEquals(3, holdsThree.size());
            assertEquals(3, q.headOffset());
            assertEquals("m3", q.dequeueString());
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            assertEquals("m4", q.dequeueString(), "what the sink took and m3 were consumed before the close");
        }
    }

    @Test
    void messagesOfEverySize_roundTrip_includingSpanningArenas() {
        Random r = new Random(42);
        int[] sizes = {0, 1, 7, 8, 9, 4000, 4032, 4033, 4096, 10_000, 3 * 4096 + 5, 50_000};
        byte[][] sent = new byte[sizes.length][];
        try (BigQueue q = BigQueue.open(dir, small())) {
            for (int i = 0; i < sizes.length; i++) {
                sent[i] = new byte[sizes[i]];
                r.nextBytes(sent[i]);
                q.enqueue(sent[i]);
            }
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            for (byte[] expected : sent) {
                assertArrayEquals(expected, q.peek());
                assertArrayEquals(expected, q.dequeue());
            }
            assertNull(q.dequeue());
        }
    }

    @Test
    void byteBufferAndSliceVariants() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            byte[] data = "0123456789".getBytes(StandardCharsets.US_ASCII);
            q.enqueue(data, 2, 3);
            ByteBuffer heap = ByteBuffer.wrap(data, 5, 4);
            q.enqueue(heap);
            assertEquals(5, heap.position());
            ByteBuffer direct = ByteBuffer.allocateDirect(3).put((byte) 1).put((byte) 2).put((byte) 3).flip();
            q.enqueue(direct);
            assertEquals("234", q.dequeueString());
            assertEquals("5678", q.dequeueString());
            assertArrayEquals(new byte[] {1, 2, 3}, q.dequeue());
        }
    }

    @Test
    void nonAsciiStrings() {
        try (BigQueue q = BigQueue.open(dir)) {
            String s = "żółć – 日本語 – 🚀";
            q.enqueueString(s);
            q.enqueueString("");
            assertEquals(s, q.dequeueString());
            assertEquals("", q.dequeueString());
        }
    }

    @Test
    void reopen_keepsContentsOffsetsAndHead() {
        try (BigQueue q = BigQueue.open(dir, small())) {
            for (int i = 0; i < 500; i++) {
                q.enqueueString("m" + i);
            }
            for (int i = 0; i < 200; i++) {
                q.dequeue();
            }
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            assertEquals(200, q.headOffset());
            assertEquals(500, q.tailOffset());
            assertEquals(300, q.size());
            assertEquals("m200", q.dequeueString());
            assertEquals(500, q.enqueueString("m500"));
        }
    }
}
