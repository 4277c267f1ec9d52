package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.payload;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.internal.ConsumerFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantee 3 for consumer offsets: the queue's flush schedule and {@code flush()} make every
 * consumer's committed offset durable. Observed from the outside as in the core's PowerLossTest:
 * a commit dirties the consumer file's mapped page ({@code /proc/self/smaps}), and a flush leaves
 * no dirty page, with the file on disk holding the committed offset. What this cannot prove is
 * that the disk honours the kernel's cache flush; that needs a real power cut.
 */
class DurabilityTest {

    @TempDir
    Path dir;

    @BeforeEach
    void needsSmaps() {
        assumeTrue(Files.isReadable(Path.of("/proc/self/smaps")), "needs Linux /proc/self/smaps");
    }

    private static QueueConfig.Builder base() {
        return QueueConfig.builder().arenaSize(Fixtures.ARENA_SIZE).gcInterval(Duration.ZERO)
                .flushInterval(Duration.ZERO);
    }

    private void enqueue(BigQueue q, int count) {
        for (int i = 0; i < count; i++) {
            q.enqueueString(payload(q.tailOffset()));
        }
    }

    @Test
    void flush_writesEveryConsumerFileBack_withItsCommittedOffset() throws IOException {
        try (BigQueue q = BigQueue.open(dir, base().build())) {
            enqueue(q, 50);
            Consumers consumers = Consumers.of(q);
            Consumer auto = consumers.open("auto");
            Consumer manual = consumers.open("manual", CommitMode.MANUAL);
            q.flush();
            assertEquals(0, dirtyConsumerKb());
            for (int i = 0; i < 10; i++) {
                auto.dequeue();
                manual.dequeue();
            }
            manual.commit();
            assertTrue(dirtyConsumerKb() > 0, "a commit dirties the consumer file: the measure can see it");
            q.flush();
            assertEquals(0, dirtyConsumerKb(), "after flush() every consumer file page is written back");
            Map<String, long[]> onDisk = ConsumerFile.readAll(dir.resolve("consumers"));
            assertEquals(auto.committedPosition(), onDisk.get("auto")[0]);
            assertEquals(10, onDisk.get("manual")[0]);
        }
    }

    @Test
    void periodicFlush_writesConsumerFilesBack() throws Exception {
        try (BigQueue q = BigQueue.open(dir, base().flushInterval(Duration.ofMillis(30)).build())) {
            enqueue(q, 50);
            Consumer c = Consumers.of(q).open("periodic");
            for (int round = 0; round < 3; round++) {
                c.dequeue();
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos(); // a hang detector only
                while (dirtyConsumerKb() > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertEquals(0, dirtyConsumerKb(), "the periodic flush did not write the consumer file back");
            }
        }
    }

    @Test
    void flushEveryOps_writesConsumerFilesBackAfterEachDequeue() throws IOException {
        try (BigQueue q = BigQueue.open(dir, base().flushEveryOps(1).build())) {
            enqueue(q, 20);
            Consumer c = Consumers.of(q).open("every-op");
            for (int i = 0; i < 5; i++) {
                c.dequeue();
                assertEquals(0, dirtyConsumerKb(), "dequeue " + i + " left the consumer file dirty");
                assertEquals(i, ConsumerFile.readAll(dir.resolve("consumers")).get("every-op")[0],
                        "AUTO commits the offset of the message just handed out");
            }
        }
    }

    /** Dirty kB of this process's mappings of the queue's consumer files. */
    private long dirtyConsumerKb() throws IOException {
        return dev.bigqueue.testing.QueueFiles.dirtyKb(dir, "consumers/");
    }
}
