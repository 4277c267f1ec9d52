package dev.bigqueue.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.consumer.Consumers;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MockClock;
import io.micrometer.core.instrument.simple.SimpleConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The class javadoc's promise: a meter of a closed queue reads NaN, none throws. */
class ClosedQueueMetersTest {
    @TempDir
    Path dir;

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry(SimpleConfig.DEFAULT, new MockClock());

    private static QueueConfig.Builder config() {
        return QueueConfig.builder().arenaSize(64 * 1024).gcInterval(Duration.ZERO).pretouch(false);
    }

    /** Every gauge, the file-system ones too: the directory outlives the queue but is no longer its. */
    @Test
    void everyGaugeOfAClosedQueueReadsNaN() {
        BigQueue q = BigQueue.open(dir, config().build());
        q.enqueueString("x");
        Consumers consumers = Consumers.of(q);
        consumers.open("billing").close();
        QueueMetrics metrics = QueueMetrics.builder(q).consumers(consumers).maxScanAge(Duration.ZERO)
                .bind(registry);
        List<Gauge> gauges = registry.getMeters().stream().filter(Gauge.class::isInstance)
                .map(Gauge.class::cast).toList();
        List<String> names = gauges.stream().map(g -> g.getId().getName()).toList();
        assertTrue(names.containsAll(List.of("bigqueue.arena.size", "bigqueue.arenas", "bigqueue.disk.used",
                "bigqueue.consumers", "bigqueue.consumer.position", "bigqueue.durable.offset")), names.toString());
        assertTrue(gauges.stream().noneMatch(g -> Double.isNaN(g.value())), "open: none reads NaN");

        q.close();
        for (Gauge g : gauges) {
            assertTrue(Double.isNaN(g.value()), g.getId() + " of a closed queue reads " + g.value());
        }
        metrics.close();
    }

    @Test
    void readOnlyQueueMetersReadNaNOnceItClosed_thoughTheWriterGoesOn() {
        try (BigQueue writer = BigQueue.open(dir, config().build())) {
            writer.enqueueString("x");
            BigQueue reader = BigQueue.open(dir, config().readOnly(true).build());
            QueueMetrics metrics = QueueMetrics.bind(reader, Consumers.of(reader), registry);
            assertEquals(1, registry.get("bigqueue.tail.offset").gauge().value());
            reader.close();
            writer.enqueueString("y");
            for (String name : List.of("bigqueue.tail.offset", "bigqueue.earliest.offset", "bigqueue.messages",
                    "bigqueue.arenas")) {
                assertTrue(Double.isNaN(registry.get(name).gauge().value()), name);
            }
            metrics.close();
        }
    }
}
