package dev.bigqueue.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.WhenFull;
import dev.bigqueue.consumer.Consumer;
import dev.bigqueue.consumer.Consumers;
import dev.bigqueue.internal.FileFormat;
import io.micrometer.core.instrument.MockClock;
import io.micrometer.core.instrument.simple.SimpleConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The per-consumer meters agree with what the consumer itself reports once opened. */
class ConsumerMetersTest {
    private static final long ARENA_SIZE = 64 * 1024;

    @TempDir
    Path dir;

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry(SimpleConfig.DEFAULT, new MockClock());

    private static QueueConfig.Builder config() {
        return QueueConfig.builder().arenaSize(ARENA_SIZE).gcInterval(Duration.ZERO).pretouch(false);
    }

    private double consumerGauge(String name, String consumer) {
        return registry.get(name).tag(QueueMetrics.CONSUMER_TAG, consumer).gauge().value();
    }

    /**
     * A persisted consumer behind earliestOffset (DROP_OLDEST dropped what it had not read) resumes at
     * earliestOffset, so its position and lag count from there, as Consumer.position() and lag() do.
     */
    @Test
    void aConsumerTheQueueDroppedMessagesPastCountsFromTheEarliestOffset() {
        try (BigQueue q = BigQueue.open(dir, config().maxDiskBytes(4 * ARENA_SIZE).whenFull(WhenFull.DROP_OLDEST)
                .ownConsumer(false).build())) {
            Consumers consumers = Consumers.of(q);
            consumers.open("slow").close(); // committed at offset 0, never reads
            byte[] message = new byte[1000];
            while (q.earliestOffset() == 0) {
                q.enqueue(message);
            }
            QueueMetrics metrics = QueueMetrics.builder(q).consumers(consumers).maxScanAge(Duration.ZERO)
                    .bind(registry);
            double position = consumerGauge("bigqueue.consumer.position", "slow");
            double lag = consumerGauge("bigqueue.consumer.lag", "slow");
            try (Consumer slow = consumers.open("slow")) {
                assertEquals(q.earliestOffset(), slow.position(), "the premise: it resumes at the earliest offset");
                assertEquals(slow.position(), position, "bigqueue.consumer.position");
                assertEquals(slow.lag(), lag, "bigqueue.consumer.lag");
            }
            metrics.close();
        }
    }

    @Test
    void aDamagedConsumerFileReadsNaN_whileTheOtherConsumersKeepReporting() throws IOException {
        try (BigQueue q = BigQueue.open(dir, config().build())) {
            Consumers consumers = Consumers.of(q);
            consumers.open("billing").close();
            consumers.open("reports").close();
            q.enqueueString("x");
            q.enqueueString("y");
            QueueMetrics metrics = QueueMetrics.builder(q).consumers(consumers).maxScanAge(Duration.ZERO)
                    .bind(registry);
            try (FileChannel f = FileChannel.open(FileFormat.consumerFile(dir, "billing"), StandardOpenOption.WRITE)) {
                f.truncate(3);
            }
            assertTrue(Double.isNaN(consumerGauge("bigqueue.consumer.lag", "billing")));
            assertTrue(Double.isNaN(consumerGauge("bigqueue.consumer.position", "billing")));
            assertEquals(2, consumerGauge("bigqueue.consumer.lag", "reports"));
            assertEquals(0, consumerGauge("bigqueue.consumer.position", "reports"));
            metrics.close();
        }
    }
}
