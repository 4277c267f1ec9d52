package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.bigqueue.internal.ConsumerFile;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A queue directory captured with format version 1 (src/test/resources/golden/v1-queue: arenaSize
 * 4096, ten messages, one spanning three arenas, two dequeued, a consumer "billing" at offset 3)
 * is refused by format 2 (never misread) and, once upgraded with {@link BigQueue#upgrade}, reads
 * exactly as captured.
 */
class GoldenFileTest {
    @TempDir
    Path dir;

    @Test
    void version1Queue_opensAndReadsAsCaptured() throws IOException {
        Path golden = Path.of("src", "test", "resources", "golden", "v1-queue");
        dev.bigqueue.testing.QueueFiles.copyTree(golden, dir);
        // The version-1 consumer file, read raw: slot A at byte 16 holds offset 3, position 9032.
        java.nio.ByteBuffer v1 = java.nio.ByteBuffer.wrap(java.nio.file.Files.readAllBytes(
                dir.resolve("consumers/billing.consumer"))).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, v1.getInt(8));
        assertEquals(3, v1.getLong(16));
        assertEquals(9032, v1.getLong(24));
        QueueFormatException refused = org.junit.jupiter.api.Assertions.assertThrows(QueueFormatException.class,
                () -> BigQueue.open(dir));
        assertEquals(1, refused.foundVersion());
        UpgradeReport report = BigQueue.upgrade(dir);
        assertEquals(10, report.messages());
        assertEquals(1, report.consumers());
        assertEquals(3, ConsumerFile.readAll(dir.resolve("consumers")).get("billing")[0], "same offset after upgrade");
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
