package dev.bigqueue.bench.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Every peer adapter moves messages through unchanged and in order; the durable ones keep them across a reopen. */
class QueuePeerTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(PeerType.class)
    void roundTripsMessagesInOrder(PeerType type) {
        if (type == PeerType.CHRONICLE) {
            ChronicleAvailable.assume();
        }
        try (QueuePeer queue = QueuePeer.open(type, dir, PeerOptions.defaults().withRawCapacity(1 << 20))) {
            assertEquals(type, queue.type());
            assertNull(queue.dequeue(), "a new queue is empty");
            byte[] big = new byte[100_000];
            Arrays.fill(big, (byte) 7);
            for (int i = 0; i < 50; i++) {
                queue.enqueue(("message-" + i).getBytes(StandardCharsets.UTF_8));
            }
            queue.enqueue(big);
            queue.enqueueString("text é");
            for (int i = 0; i < 20; i++) {
                assertEquals("message-" + i, new String(queue.dequeue(), StandardCharsets.UTF_8));
            }
            List<byte[]> batch = new ArrayList<>();
            assertEquals(0, queue.drainTo(batch, 0));
            assertEquals(30, queue.drainTo(batch, 30));
            for (int i = 20; i < 50; i++) {
                assertEquals("message-" + i, new String(batch.get(i - 20), StandardCharsets.UTF_8));
            }
            assertArrayEquals(big, queue.dequeue());
            assertEquals("text é", queue.dequeueString());
            assertNull(queue.dequeue());
            assertNull(queue.dequeueString());
            assertEquals(0, queue.drainTo(batch, 10));
            queue.flush();
        }
    }

    @ParameterizedTest
    @EnumSource(value = PeerType.class, names = {"BIGQUEUE", "CHRONICLE", "TAPE"})
    void durablePeersKeepMessagesAcrossReopen(PeerType type) {
        if (type == PeerType.CHRONICLE) {
            ChronicleAvailable.assume();
        }
        try (QueuePeer queue = QueuePeer.open(type, dir)) {
            queue.enqueue(new byte[] {1, 2, 3});
            queue.enqueue(new byte[] {4});
        }
        try (QueuePeer queue = QueuePeer.open(type, dir)) {
            assertArrayEquals(new byte[] {1, 2, 3}, queue.dequeue());
            assertArrayEquals(new byte[] {4}, queue.dequeue());
            assertNull(queue.dequeue());
        }
    }

    @Test
    void rawPeerWrapsAroundItsBuffer() {
        try (QueuePeer queue = QueuePeer.open(PeerType.RAW_MAPPED, dir, PeerOptions.defaults().withRawCapacity(4096))) {
            for (int i = 0; i < 1000; i++) {
                byte[] message = new byte[1 + i % 700];
                Arrays.fill(message, (byte) i);
                queue.enqueue(message);
                assertArrayEquals(message, queue.dequeue(), "message " + i);
            }
            assertNull(queue.dequeue());
        }
    }

    @Test
    void rawPeerDiscardsUnreadContentWhenFull() {
        try (QueuePeer queue = QueuePeer.open(PeerType.RAW_MAPPED, dir, PeerOptions.defaults().withRawCapacity(4096))) {
            for (int i = 0; i < 100; i++) {
                queue.enqueue(new byte[100]);
            }
            int read = 0;
            while (queue.dequeue() != null) {
                read++;
            }
            assertEquals(true, read > 0 && read < 100, "read " + read + " of 100 after a restart at the front");
            assertThrows(IllegalArgumentException.class, () -> queue.enqueue(new byte[5000]));
        }
    }

    @Test
    void parsesLabelsAndNames() {
        for (PeerType type : EnumSet.allOf(PeerType.class)) {
            assertEquals(type, PeerType.parse(type.label()));
            assertEquals(type, PeerType.parse(type.name().toLowerCase()));
        }
        assertThrows(IllegalArgumentException.class, () -> PeerType.parse("kafka"));
    }
}
