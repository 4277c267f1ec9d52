package dev.bigqueue.consumer;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.QueueFiles;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link BigQueue#repair} beside a read-only open in another process (guarantee 8): a reader takes
 * no directory lock, only the lock of each named consumer it has open, so repair must ask those
 * too. It refuses, naming the consumer and the reader's pid, and changes nothing; before, it went
 * on and rewrote (or moved aside) the file of a consumer the reader still held, which the reader's
 * next commit then overwrote with a position the repair had just cut away.
 */
class RepairBesideAReaderTest {
    private static final int ARENA = 4096;

    @TempDir
    Path tmp;

    @Test
    void repair_refusesWhileAReaderInAnotherProcessHoldsAConsumer_changingNothing() throws Exception {
        Path dir = tmp.resolve("q");
        QueueConfig config = QueueConfig.builder().arenaSize(ARENA).flushInterval(Duration.ZERO)
                .gcInterval(Duration.ZERO).pretouch(false).ownConsumer(false).build();
        try (BigQueue q = BigQueue.open(dir, config)) {
            byte[] m = new byte[200];
            for (int i = 0; i < 40; i++) {
                Arrays.fill(m, (byte) i);
                q.enqueue(m);
            }
            Consumer reader = Consumers.of(q).open("reader");
            for (int i = 0; i < 30; i++) {
                reader.dequeue();
            }
            reader.close();
        }
        // Record 20 damaged: a repair cuts the log there and moves the consumer (at 30) back to 20.
        int[] sizes = new int[40];
        Arrays.fill(sizes, 200);
        long victim = QueueFiles.positions(sizes)[20];
        QueueFiles.flipByte(QueueFiles.arenaFileAt(dir, ARENA, victim), QueueFiles.indexInArena(ARENA, victim)
                + FileFormat.RECORD_HEADER_SIZE + 3);
        try (ChildJvm child = ChildJvm.start(ReadOnlyChild.class, "hold", dir.toString(), "reader")) {
            child.awaitLine("READY", Duration.ofSeconds(60));
            TreeMap<String, byte[]> before = QueueFiles.snapshot(dir);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> BigQueue.repair(dir));
            assertTrue(e.getMessage().contains("consumer 'reader'") && e.getMessage().contains("pid "
                    + child.pid()), e.getMessage());
            QueueFiles.assertUnchanged(before, dir, "a repair refused beside a reader");
        }
        // Once the reader has gone, the same repair goes ahead.
        assertTrue(BigQueue.repair(dir).toString().contains("consumer 'reader' was at offset 30"));
    }
}
