package dev.bigqueue.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A queue directory with named consumers captured with format version 1
 * (src/test/resources/golden/v1-consumers: arenaSize 4096, twelve messages {@code golden-i}, the
 * fifth 5009 bytes long; "billing" (AUTO) read five and was closed; "ledger" (MANUAL) read three
 * and committed two; "idle.v2-x_y" never read) must open and resume the same with today's code.
 * If this fails, the consumer file format changed: bump FileFormat.VERSION and keep reading 1.
 */
class GoldenFileTest {
    @TempDir
    Path dir;

    @Test
    void version1Consumers_resumeWhereTheyWereCaptured() throws IOException {
        dev.bigqueue.testing.QueueFiles.copyTree(Path.of("src", "test", "resources", "golden", "v1-consumers"), dir);
        org.junit.jupiter.api.Assertions.assertThrows(dev.bigqueue.QueueFormatException.class,
                () -> BigQueue.open(dir));
        assertEquals(3, BigQueue.upgrade(dir).consumers());
        try (BigQueue q = BigQueue.open(dir)) {
            Consumers consumers = Consumers.of(q);
            assertEquals(Set.of("billing", "idle.v2-x_y", "ledger"), consumers.names());
            Consumer billing = consumers.open("billing");
            Consumer ledger = consumers.open("ledger", CommitMode.MANUAL);
            Consumer idle = consumers.open("idle.v2-x_y");
            assertEquals(5, billing.position());
            assertEquals(2, ledger.position());
            assertEquals(0, idle.position());
            ledger.seek(4);
            String big = ledger.dequeueString();
            assertTrue(big.startsWith("golden-4|") && big.length() == 5009, "the record spanning arenas");
            for (int i = 5; i < 12; i++) {
                assertEquals("golden-" + i, billing.dequeueString());
            }
            assertNull(billing.dequeue());
            assertEquals("golden-0", idle.dequeueString());
        }
    }

}
