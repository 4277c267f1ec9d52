package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.internal.ConsumerFile;
import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.testing.Poll;
import dev.bigqueue.testing.Threads;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Guarantee 6 (disk) with {@code maxDiskBytes}, for records that span arenas: whether a message
 * fits under the cap depends only on its size, never on where the tail is; and once every
 * consumer has read everything, an enqueue always gets room, even when the last record started in
 * the arena before the tail's (which a collection otherwise keeps).
 */
class DiskCapSpanTest {
    /** Only a hang reaches it: the waits end on conditions. */
    private static final Duration HANG = Duration.ofMinutes(2);
    private static final int ARENA = 8192;
    /** Data bytes per arena of {@link #ARENA} bytes: 8,096 (a 64-byte header and one time-index entry). */
    private static final long DATA = FileFormat.dataBytes(ARENA);
    /**
     * The largest message under a cap of two arenas: a record may start as late as 8 bytes before
     * its arena's data ends, and must then end within the next arena, so it is at most DATA + 8
     * bytes, 16 of them the header: 8,088 bytes.
     */
    private static final int LIMIT = (int) (DATA + 8 - FileFormat.RECORD_HEADER_SIZE);

    @TempDir
    Path dir;

    private static QueueConfig.Builder twoArenaCap(WhenFull whenFull) {
        return QueueConfig.builder().arenaSize(ARENA).gcInterval(Duration.ZERO).maxDiskBytes(2 * ARENA)
                .whenFull(whenFull);
    }

    private static byte[] msg(long id, int size) {
        byte[] b = new byte[size];
        ByteBuffer.wrap(b).putLong(id);
        return b;
    }

    private static long idOf(byte[] m) {
        return ByteBuffer.wrap(m).getLong();
    }

    /**
     * Leaves a queue whose last record (offset 1) starts in arena 0 and ends in arena 1: two
     * messages of 5,000 bytes (records of 5,016), the tail at 10,032, in arena 1.
     */
    private static void writeARecordThatSpansArenas0And1(BigQueue q) {
        q.enqueue(msg(0, 5_000));
        q.enqueue(msg(1, 5_000));
        assertEquals(2 * FileFormat.recordBytes(5_000), 10_032);
    }

    @Test
    void fail_queueEmptiedAfterARecordSpanningArenas_makesRoomForTheNext() throws IOException {
        // Without pretouch: no arena made ahead, so the arena files are exact.
        QueueConfig c = twoArenaCap(WhenFull.FAIL).pretouch(false).build();
        try (BigQueue q = BigQueue.open(dir, c)) {
            writeARecordThatSpansArenas0And1(q);
            assertEquals(0, idOf(q.dequeue()));
            assertEquals(1, idOf(q.dequeue()));
            assertNull(q.dequeue()); // commits past message 1: until then a restart hands it out again
            // Needs arena 2: arena 0, where the last record starts, must go although nothing starts in arena 1.
            q.enqueue(msg(2, 8_000));
            assertEquals("[arena-000000000001.dat, arena-000000000002.dat]", DiskTest.arenaFileNames(dir));
            assertEquals(2, q.earliestOffset(), "the start is the tail the room was made at");
            // A read-only open reads the start from queue.meta, written before arena 0 was deleted.
            try (BigQueue reader = BigQueue.open(dir, QueueConfig.builder().readOnly(true).build())) {
                assertEquals(2, reader.earliestOffset());
                assertEquals(3, reader.tailOffset());
            }
            assertEquals(2, idOf(q.dequeue()));
        }
        try (BigQueue q = BigQueue.open(dir, c)) {
            assertEquals(2, q.earliestOffset());
            assertEquals(3, q.tailOffset());
            assertNull(q.dequeue());
            q.enqueue(msg(3, 10));
            assertEquals(3, idOf(q.dequeue()));
        }
    }

    @Test
    void fail_namedConsumerExactlyAtTheTail_letsTheNextRecordIn_oneBehindItDoesNot() throws IOException {
        QueueConfig c = twoArenaCap(WhenFull.FAIL).pretouch(false).ownConsumer(false).build();
        Path consumer = FileFormat.consumerFile(dir, "audit");
        try (BigQueue q = BigQueue.open(dir, c)) {
            writeARecordThatSpansArenas0And1(q);
            // A consumer (as bigqueue-consumers persists one) that has read message 0 only.
            try (ConsumerFile f = ConsumerFile.create(consumer, 1, FileFormat.recordBytes(5_000), 0)) {
                QueueFullException full = assertThrows(QueueFullException.class, () -> q.enqueue(msg(2, 8_000)));
                assertTrue(full.getMessage().contains("a consumer has not read"), full.getMessage());
                assertEquals(2, q.tailOffset(), "nothing was written");
                // It reads message 1 and commits: its position is now exactly the tail.
                f.commit(2, 10_032);
            }
            q.enqueue(msg(2, 8_000));
            assertEquals(2, q.earliestOffset());
            assertEquals("[arena-000000000001.dat, arena-000000000002.dat]", DiskTest.arenaFileNames(dir));
        }
    }

    @Test
    void block_queueEmptiedAfterARecordSpanningArenas_producerFinishes() throws Exception {
        QueueConfig c = twoArenaCap(WhenFull.BLOCK).pretouch(false).build();
        try (BigQueue q = BigQueue.open(dir, c)) {
            writeARecordThatSpansArenas0And1(q);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread producer = new Thread(() -> {
                try {
                    q.enqueue(msg(2, 8_000));
                } catch (Throwable t) {
                    failed.set(t);
                }
            }, "producer");
            producer.start();
            // Nothing is read yet: no room. (Or, wrongly, it ended: either ends the wait.)
            Poll.until(() -> !producer.isAlive() || Threads.waitingIn(producer, "DiskSpace", "awaitRoom"), null,
                    HANG, () -> "producer at " + Arrays.toString(producer.getStackTrace()));
            assertTrue(producer.isAlive(), "the producer did not wait for room: " + failed.get());
            assertEquals(0, idOf(q.dequeue()));
            assertEquals(1, idOf(q.dequeue()));
            assertNull(q.dequeue());
            // Everything is read: the producer's next look finds room.
            try {
                Poll.until(() -> !producer.isAlive(), null, HANG,
                        () -> "the producer still waits for room in a queue every consumer has emptied, at "
                                + Arrays.toString(producer.getStackTrace()));
            } finally {
                if (producer.isAlive()) {
                    q.close(); // ends the blocked enqueue, so the thread does not outlive a failed run
                    producer.join();
                }
            }
            assertNull(failed.get());
            assertEquals(2, idOf(q.dequeue()));
        }
    }

    /**
     * A message of {@link #LIMIT} bytes is accepted, and one of {@code LIMIT + 1} refused, wherever
     * the tail is: at an arena's start, after a small message, 8 bytes before an arena's data ends
     * (the latest a record can start), and at an arena boundary (with pretouch on, the tail's
     * arena may have been made ahead of need, or not), the messages before it consumed. Once it is
     * consumed too, the next one gets room.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void messageAtTheLimit_isAcceptedWhereverTheTailIs_andOneByteMoreIsRefused(boolean pretouch) throws IOException {
        int[][] prefixes = {{}, {10}, {(int) DATA - 8 - FileFormat.RECORD_HEADER_SIZE},
            {(int) DATA - FileFormat.RECORD_HEADER_SIZE}, {LIMIT, 10}};
        for (int[] prefix : prefixes) {
            String where = "after messages of " + Arrays.toString(prefix) + " bytes, pretouch " + pretouch;
            Path d = dir.resolve("p" + pretouch + "-" + Arrays.toString(prefix).replaceAll("\\D+", "_"));
            try (BigQueue q = BigQueue.open(d, twoArenaCap(WhenFull.FAIL).pretouch(pretouch).build())) {
                long id = 0;
                for (int size : prefix) {
                    q.enqueue(msg(id, size));
                    assertEquals(id++, idOf(q.dequeue()), where);
                }
                // The own consumer commits the last message it handed out when it next finds none.
                assertNull(q.dequeue());
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> q.enqueue(new byte[LIMIT + 1]), where);
                assertTrue(e.getMessage().contains("message of " + (LIMIT + 1) + " bytes")
                        && e.getMessage().contains("at most " + LIMIT + " bytes")
                        && e.getMessage().contains("maxDiskBytes"), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> q.enqueue(ByteBuffer.allocate(LIMIT + 1)), where);
                assertEquals(id, q.tailOffset(), "nothing was written " + where);
                q.enqueue(msg(id++, LIMIT));
                assertTrue(DiskTest.arenaBytes(d) <= 2 * ARENA, where + ": " + DiskTest.arenaFileNames(d));
                assertEquals(id - 1, idOf(q.dequeue()), where);
                assertNull(q.dequeue());
                // Every consumer has read everything: room for another one at the limit, wherever the tail is now.
                q.enqueue(msg(id, LIMIT));
                assertTrue(DiskTest.arenaBytes(d) <= 2 * ARENA, where + ": " + DiskTest.arenaFileNames(d));
                byte[] m = q.dequeue();
                assertEquals(id, idOf(m), where);
                assertEquals(LIMIT, m.length, where);
            }
        }
    }

    @Test
    void messageOverTheLimit_isRefusedEvenAtTheStartOfAnArena() {
        // Where a record starts decides how many arenas it spans; the rule must not: at the start of
        // an arena this message would fit in two, after a small one it would need three.
        int size = 16_150;
        try (BigQueue q = BigQueue.open(dir, twoArenaCap(WhenFull.DROP_OLDEST).build())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> q.enqueue(new byte[size]));
            assertTrue(e.getMessage().contains("message of 16150 bytes") && e.getMessage().contains("maxDiskBytes")
                    && e.getMessage().contains("arenaSize"), e.getMessage());
            assertEquals(0, q.tailOffset());
            q.enqueue(new byte[10]);
            assertThrows(IllegalArgumentException.class, () -> q.enqueue(new byte[size]));
            assertEquals(1, q.tailOffset());
        }
    }
}
