package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.bigqueue.internal.ConsumerFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A queue directory captured with format version 1 (src/test/resources/golden/v1-queue: arenaSize
 * 4096, ten messages, one spanning three arenas, two dequeued, a consumer "billing" at offset 3)
 * must open and read the same with today's code. If this fails, the on-disk format changed: bump
 * FileFormat.VERSION and keep reading version 1.
 */
class GoldenFileTest {
    @TempDir
    Path dir;

    @Test
    void version1Queue_opensAndReadsAsCaptured() throws IOException {
        Path golden = Path.of("src", "test", "resources", "golden", "v1-queue");
        dev.bigqueue.testing.QueueFiles.copyTree(golden, dir);
        Map<String, long[]> consumers = ConsumerFile.readAll(dir.resolve("consumers"));
        assertEquals(3, consumers.get("billing")[0]);
        assertEquals(9032, consumers.get("billing")[1]);
        try (BigQueue q = BigQueue.open(dir)) {
            assertEquals(4096, q.config().arenaSize(), "the persisted arena size is adopted");
            assertEquals(2, q.headOffset());
            assertEquals(10, q.tailOffset());
            assertEquals(0, q.earliestOffset());
            byte[] big = q.dequeue();
            assertEquals(9000, big.length);
            for (int i = 0; i < big.length; i++) {
                assertEquals((byte) (i * 31), big[i]);
            }
            for (int i = 3; i < 10; i++) {
                assertEquals("golden-" + i, q.dequeueString());
            }
            assertNull(q.dequeue());
            assertEquals(10, q.enqueueString("after"));
        }
        try (BigQueue q = BigQueue.open(dir)) {
            assertArrayEquals("after".getBytes(), q.dequeue());
        }
    }

}
