package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code read(MessageHandler, max)}: messages in order with their offsets, as read-only views;
 * max and the empty queue; a handler that throws leaves its message for the next read; messages
 * that span arenas or exceed the reused buffer; keyed messages and tombstones; a handler that
 * reads the queue again; closed queues and bad arguments.
 */
class ReadHandlerTest {
    @TempDir
    Path tmp;

    private static QueueConfig small() {
        return QueueConfig.builder().arenaSize(4096).flushInterval(Duration.ZERO).gcInterval(Duration.ZERO).build();
    }

    private static byte[] copy(ByteBuffer view) {
        byte[] m = new byte[view.remaining()];
        view.get(m);
        return m;
    }

    @Test
    void handsEveryMessage_inOrder_withItsOffset_asReadOnlyViews() {
        try (BigQueue q = BigQueue.open(tmp.resolve("q"), small())) {
            List<byte[]> sent = new ArrayList<>();
            Random r = new Random(7);
            for (int i = 0; i < 300; i++) {
                byte[] m = new byte[i % 50 == 0 ? 0 : r.nextInt(2000)];
                r.nextBytes(m);
                sent.add(m);
                q.enqueue(m);
            }
            assertEquals(0, q.read((o, v) -> { }, 0), "max 0 reads nothing");
            List<byte[]> got = new ArrayList<>();
            int total = 0;
            for (int n; (n = q.read((offset, view) -> {
                assertEquals(got.size(), offset);
                assertTrue(view.isReadOnly());
                assertThrows(ReadOnlyBufferException.class, () -> view.put(0, (byte) 1));
                got.add(copy(view));
            }, 64)) > 0;) {
                assertTrue(n <= 64);
                total += n;
            }
            assertEquals(300, total);
            for (int i = 0; i < 300; i++) {
                assertArrayEquals(sent.get(i), got.get(i), "offset " + i);
            }
            assertTrue(q.isEmpty());
            assertEquals(300, q.headOffset(), "everything handled is consumed");
            assertEquals(0, q.read((o, v) -> { }, 10), "empty: 0");
        }
    }

    @Test
    void aHandlerThatThrows_leavesItsMessageAndTheRestUnconsumed() {
        try (BigQueue q = BigQueue.open(tmp.resolve("q"), small())) {
            for (int i = 0; i < 10; i++) {
                q.enqueueString("m" + i);
            }
            List<Long> seen = new ArrayList<>();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> q.read((offset, view) -> {
                seen.add(offset);
                if (offset == 4) {
                    throw new IllegalStateException("handler refused 4");
                }
            }, 10));
            assertEquals("handler refused 4", e.getMessage());
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L), seen);
            assertEquals(4, q.headOffset());
            assertEquals("m4", q.dequeueString(), "the refused message comes next");
        }
    }

    @Test
    void messagesSpanningArenas_andBiggerThanTheReusedBuffer_comeWhole() {
        // 64 KiB arenas: the 1.5 MiB message spans 25 of them (4 KiB arenas would make hundreds of files).
        QueueConfig config = QueueConfig.builder().arenaSize(1 << 16).flushInterval(Duration.ZERO)
                .gcInterval(Duration.ZERO).build();
        try (BigQueue q = BigQueue.open(tmp.resolve("q"), config)) {
            Random r = new Random(3);
            int[] sizes = {100_000, 5, 3 << 19, 70_000, 1 << 20, 12};
            List<byte[]> sent = new ArrayList<>();
            for (int size : sizes) {
                byte[] m = new byte[size];
                r.nextBytes(m);
                sent.add(m);
                q.enqueue(m);
            }
            List<byte[]> got = new ArrayList<>();
            assertEquals(sizes.length, q.read((offset, view) -> got.add(copy(view)), 100));
            for (int i = 0; i < sizes.length; i++) {
                assertArrayEquals(sent.get(i), got.get(i), "message " + i + " of " + sizes[i] + " bytes");
            }
        }
    }

    @Test
    void keyedMessages_handTheirValue_tombstonesAnEmptyBuffer() {
        try (BigQueue q = BigQueue.open(tmp.resolve("q"), small())) {
            q.enqueue(Message.builder().key("k1").header("h", new byte[] {1, 2}).value("v1".getBytes(
                    StandardCharsets.UTF_8)).build());
            q.enqueue(Message.builder().key("k1").value((byte[]) null).build());
            q.enqueueString("plain");
            List<String> got = new ArrayList<>();
            assertEquals(3, q.read((offset, view) -> got.add(StandardCharsets.UTF_8.decode(view).toString()), 3));
            assertEquals(List.of("v1", "", "plain"), got);
        }
    }

    /**
     * A handler must not read the consumer running it: the nested read is refused and changes
     * nothing, so the handler's view still holds its message and the batch goes on in order.
     */
    @Test
    void aHandlerThatReadsTheQueueAgain_isRefused_andKeepsItsView() {
        try (BigQueue q = BigQueue.open(tmp.resolve("q"), small())) {
            for (int i = 0; i < 6; i++) {
                q.enqueueString("m" + i);
            }
            List<String> outer = new ArrayList<>();
            List<String> refusals = new ArrayList<>();
            assertEquals(3, q.read((offset, view) -> {
                try {
                    q.read((o, v) -> fail("a nested read handed out a message"), 1);
                } catch (IllegalStateException e) {
                    refusals.add(e.getMessage());
                }
                outer.add(StandardCharsets.UTF_8.decode(view).toString());
            }, 3));
            assertEquals(List.of("m0", "m1", "m2"), outer);
            assertEquals(3, refusals.size());
            assertTrue(refusals.get(0).contains("inside its own read handler"), refusals.get(0));
            assertEquals("m3", q.dequeueString());
        }
    }

    @Test
    void theViewIsReused_nothingIsAllocatedPerMessage() {
        try (BigQueue q = BigQueue.open(tmp.resolve("q"), small())) {
            for (int i = 0; i < 50; i++) {
                q.enqueue(new byte[100]);
            }
            ByteBuffer[] first = new ByteBuffer[1];
            q.read((offset, view) -> {
                if (first[0] == null) {
                    first[0] = view;
                }
                assertSame(first[0], view, "one view, reused: valid only during the call");
            }, 50);
        }
    }

    @Test
    void badArguments_andClosedQueue() {
        BigQueue q = BigQueue.open(tmp.resolve("q"), small());
        q.enqueueString("x");
        NullPointerException npe = assertThrows(NullPointerException.class, () -> q.read(null, 1));
        assertTrue(npe.getMessage().contains("handler"), npe.getMessage());
        IllegalArgumentException iae = assertThrows(IllegalArgumentException.class, () -> q.read((o, v) -> { }, -1));
        assertTrue(iae.getMessage().contains("max"), iae.getMessage());
        q.close();
        assertThrows(IllegalStateException.class, () -> q.read((o, v) -> { }, 1));
    }

    @Test
    void aHandlerThatClosesTheQueue_endsTheBatch_andNothingIsLost() {
        Path dir = tmp.resolve("q");
        BigQueue q = BigQueue.open(dir, small());
        for (int i = 0; i < 5; i++) {
            q.enqueueString("m" + i);
        }
        assertThrows(IllegalStateException.class, () -> q.read((offset, view) -> {
            if (offset == 1) {
                q.close();
            }
        }, 5));
        try (BigQueue again = BigQueue.open(dir, small())) {
            String next = again.dequeueString();
            assertTrue("m0".equals(next) || "m1".equals(next) || "m2".equals(next), "resumes at or before where it"
                    + " was, never past what the handler saw: " + next);
            assertEquals(5, again.tailOffset());
        }
    }
}
