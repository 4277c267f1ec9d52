package dev.bigqueue.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.consumer.Consumers;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MockClock;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code bind} registers, refuses and leaves behind: one binding per name and tags. */
class QueueMetricsBindingTest {
    @TempDir
    Path dir;
    @TempDir
    Path dir2;

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry(SimpleConfig.DEFAULT, new MockClock());

    private static BigQueue open(Path dir) {
        return BigQueue.open(dir, QueueConfig.builder().arenaSize(64 * 1024).gcInterval(Duration.ZERO)
                .pretouch(false).build());
    }

    private List<Meter.Id> ids() {
        return registry.getMeters().stream().map(Meter::getId).toList();
    }

    @Test
    void twoQueuesGivenTheSameTagsAreRefused_andTheFirstKeepsReportingItsQueue() {
        try (BigQueue q1 = open(dir); BigQueue q2 = open(dir2)) {
            q1.enqueueString("a");
            q2.enqueueString("b");
            q2.enqueueString("b");
            QueueMetrics first = QueueMetrics.builder(q1).tags(Tags.of("queue", "orders")).bind(registry);
            List<Meter.Id> before = ids();

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> QueueMetrics.builder(q2).tags(Tags.of("queue", "orders")).bind(registry));
            assertTrue(e.getMessage().contains("[queue=orders]"), e.getMessage());
            assertTrue(e.getMessage().contains("distinguishing tag"), e.getMessage());
            assertEquals(before, ids());
            assertEquals(1, registry.get("bigqueue.tail.offset").gauge().value());
            first.close();
        }
    }

    @Test
    void theSameQueueBoundTwiceIsRefused_soClosingNeitherRemovesTheOthersMeters() {
        try (BigQueue q = open(dir)) {
            QueueMetrics first = QueueMetrics.bind(q, Consumers.of(q), registry);
            assertThrows(IllegalArgumentException.class, () -> QueueMetrics.bind(q, null, registry));
            assertEquals(0, registry.get("bigqueue.tail.offset").gauge().value());
            first.close();
            assertTrue(registry.getMeters().isEmpty(), ids().toString());
        }
    }

    @Test
    void twoQueuesWithADistinguishingTagEachReportTheirOwn() {
        try (BigQueue q1 = open(dir); BigQueue q2 = open(dir2)) {
            q2.enqueueString("b");
            QueueMetrics first = QueueMetrics.builder(q1).tags(Tags.of("queue", "orders", "shard", "1"))
                    .bind(registry);
            QueueMetrics second = QueueMetrics.builder(q2).tags(Tags.of("queue", "orders", "shard", "2"))
                    .bind(registry);
            assertEquals(0, registry.get("bigqueue.tail.offset").tag("shard", "1").gauge().value());
            assertEquals(1, registry.get("bigqueue.tail.offset").tag("shard", "2").gauge().value());
            first.close();
            assertEquals(1, registry.get("bigqueue.tail.offset").gauge().value());
            second.close();
        }
    }

    /** A bind that throws hands back no binding, so nothing else could ever remove its meters. */
    @Test
    void aBindThatFailsPartWayLeavesNoMeters() {
        BigQueue q = open(dir);
        Consumers consumers = Consumers.of(q);
        q.close();
        // The queue meters register lazily; listing the consumers is what fails on a closed queue.
        assertThrows(IllegalStateException.class, () -> QueueMetrics.bind(q, consumers, registry));
        assertTrue(registry.getMeters().isEmpty(), ids().toString());
    }
}
