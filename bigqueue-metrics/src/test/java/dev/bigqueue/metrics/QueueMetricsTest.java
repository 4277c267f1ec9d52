package dev.bigqueue.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.consumer.CommitMode;
import dev.bigqueue.consumer.Consumer;
import dev.bigqueue.consumer.Consumers;
import dev.bigqueue.internal.FileFormat;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MockClock;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The meters read back from a {@link SimpleMeterRegistry} bound to a real queue. */
class QueueMetricsTest {
    private static final long ARENA_SIZE = 64 * 1024;

    @TempDir
    Path dir;

    private final MockClock clock = new MockClock();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry(SimpleConfig.DEFAULT, clock);
    private BigQueue queue;

    @BeforeEach
    void open() {
        queue = BigQueue.open(dir, QueueConfig.builder().arenaSize(ARENA_SIZE).gcInterval(Duration.ZERO)
                // No background arena creation: the files on disk change only in this thread.
                .pretouch(false).build());
    }

    @AfterEach
    void closeQueue() {
        queue.close();
    }

    private double gauge(String name) {
        return registry.get(name).gauge().value();
    }

    private double consumerGauge(String name, String consumer) {
        return registry.get(name).tag(QueueMetrics.CONSUMER_TAG, consumer).gauge().value();
    }

    private static long arenaFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> FileFormat.arenaIdOf(f.getFileName().toString()) >= 0).count();
        }
    }

    @Test
    void queueMetersFollowEnqueueAndDequeue() {
        QueueMetrics.builder(queue).maxScanAge(Duration.ZERO).bind(registry);
        for (int i = 0; i < 10; i++) {
            queue.enqueueString("message " + i);
        }
        for (int i = 0; i < 3; i++) {
            queue.dequeue();
        }
        assertEquals(10, gauge("bigqueue.tail.offset"));
        assertEquals(0, gauge("bigqueue.earliest.offset"));
        assertEquals(10, gauge("bigqueue.messages"));
        assertEquals(3, gauge("bigqueue.head.offset"));
        assertEquals(7, gauge("bigqueue.size"));
        FunctionCounter enqueued = registry.get("bigqueue.enqueued").functionCounter();
        assertEquals(10, enqueued.count());
        assertEquals("messages", enqueued.getId().getBaseUnit());
        assertEquals(3, registry.get("bigqueue.dequeued").functionCounter().count());
        assertEquals(ARENA_SIZE, gauge("bigqueue.arena.size"));
        assertEquals(dir.toAbsolutePath().toString(),
                registry.get("bigqueue.tail.offset").gauge().getId().getTag(QueueMetrics.QUEUE_TAG));
    }

    @Test
    void arenasAndDiskComeFromTheDirectory() throws IOException {
        QueueMetrics.builder(queue).maxScanAge(Duration.ZERO).bind(registry);
        byte[] message = new byte[1000];
        while (arenaFiles(dir) < 3) {
            queue.enqueue(message);
        }
        assertEquals(arenaFiles(dir), gauge("bigqueue.arenas"));
        long diskBytes;
        try (Stream<Path> files = Files.walk(dir)) {
            diskBytes = files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
        assertEquals(diskBytes, gauge("bigqueue.disk.used"));
        assertTrue(gauge("bigqueue.disk.used") >= 3 * ARENA_SIZE, "three preallocated arenas");
    }

    @Test
    void directoryIsListedAtMostOncePerScanAge() throws IOException {
        QueueMetrics.builder(queue).maxScanAge(Duration.ofSeconds(5)).bind(registry);
        queue.enqueueString("first");
        double before = gauge("bigqueue.arenas");
        while (arenaFiles(dir) <= before) {
            queue.enqueue(new byte[1000]);
        }
        assertEquals(before, gauge("bigqueue.arenas"), "the scan is younger than 5 s by the registry's clock");
        clock.add(5, TimeUnit.SECONDS);
        assertEquals(arenaFiles(dir), gauge("bigqueue.arenas"));
    }

    @Test
    void consumerMetersReadCommittedPositionsWithoutOpeningConsumers() throws InterruptedException {
        for (int i = 0; i < 10; i++) {
            queue.enqueueString("message " + i);
        }
        Consumers consumers = Consumers.of(queue);
        consumers.open("audit").close();                       // persisted, not open
        Consumer ledger = consumers.open("ledger", CommitMode.MANUAL);
        for (int i = 0; i < 4; i++) {
            ledger.dequeue();
        }
        ledger.commit();
        ledger.dequeue();                                      // read, not committed

        QueueMetrics.builder(queue).consumers(consumers).maxScanAge(Duration.ZERO).bind(registry);
        assertEquals(2, gauge("bigqueue.consumers"));
        assertEquals(4, consumerGauge("bigqueue.consumer.position", "ledger"), "the committed offset");
        assertEquals(6, consumerGauge("bigqueue.consumer.lag", "ledger"));
        assertEquals(0, consumerGauge("bigqueue.consumer.position", "audit"));
        assertEquals(10, consumerGauge("bigqueue.consumer.lag", "audit"));

        // The meters took nothing from the application: its MANUAL consumer reads and commits on.
        assertEquals("message 5", ledger.dequeueString());
        ledger.commit();
        assertEquals(6, consumerGauge("bigqueue.consumer.position", "ledger"));
        queue.enqueueString("message 10");
        assertEquals(5, consumerGauge("bigqueue.consumer.lag", "ledger"));
    }

    @Test
    void consumersComeAndGoOnRefresh() {
        queue.enqueueString("m");
        Consumers consumers = Consumers.of(queue);
        consumers.open("billing").close();
        QueueMetrics metrics = QueueMetrics.builder(queue).consumers(consumers).maxScanAge(Duration.ZERO)
                .bind(registry);
        consumers.open("reports").close();
        assertNull(registry.find("bigqueue.consumer.lag").tag(QueueMetrics.CONSUMER_TAG, "reports").gauge(),
                "a consumer created after bind waits for refreshConsumers()");
        assertEquals(2, gauge("bigqueue.consumers"), "the count follows the directory at once");
        consumers.delete("billing");
        assertTrue(Double.isNaN(consumerGauge("bigqueue.consumer.lag", "billing")), "a deleted consumer reads NaN");

        metrics.refreshConsumers();
        assertEquals(1, consumerGauge("bigqueue.consumer.lag", "reports"));
        assertNull(registry.find("bigqueue.consumer.lag").tag(QueueMetrics.CONSUMER_TAG, "billing").gauge());
    }

    @Test
    void closeRemovesEveryMeter_andAClosedQueueReadsNaN() {
        Consumers consumers = Consumers.of(queue);
        consumers.open("billing").close();
        QueueMetrics metrics = QueueMetrics.builder(queue).consumers(consumers).tags(Tags.of("app", "orders"))
                .maxScanAge(Duration.ZERO).bind(registry);
        assertEquals("orders", registry.get("bigqueue.arenas").gauge().getId().getTag("app"));
        Gauge tail = registry.get("bigqueue.tail.offset").gauge();
        queue.close();
        assertTrue(Double.isNaN(tail.value()));
        assertTrue(Double.isNaN(registry.get("bigqueue.enqueued").functionCounter().count()));

        metrics.close();
        assertTrue(registry.getMeters().isEmpty(), registry.getMeters().toString());
        metrics.close();
    }

    @Test
    void durableOffsetFollowsFlush() {
        QueueMetrics.bind(queue, null, registry);
        queue.enqueueString("a");
        queue.enqueueString("b");
        queue.flush();
        assertEquals(2, gauge("bigqueue.durable.offset"));
    }

    @Test
    void withoutTheOwnConsumerThereAreNoHeadMeters() {
        queue.close();
        queue = BigQueue.open(dir, QueueConfig.builder().ownConsumer(false).build());
        QueueMetrics.bind(queue, null, registry);
        assertNull(registry.find("bigqueue.size").gauge());
        assertNull(registry.find("bigqueue.dequeued").functionCounter());
        assertNull(registry.find("bigqueue.consumers").gauge());
        assertNotNull(registry.find("bigqueue.tail.offset").gauge());
    }

    @Test
    void syncLatencyTimesTheCoresSyncEvents() {
        try (QueueMetrics metrics = QueueMetrics.builder(queue).syncLatency(true).bind(registry)) {
            Timer syncs = registry.get("bigqueue.sync").timer();
            DistributionSummary bytes = registry.get("bigqueue.sync.bytes").summary();
            // JFR hands events to the stream about once a second: flush until one arrives. The
            // stream's thread records the timer, then the summary, each its count before its total:
            // wait for the last of them, the summary's total (a count alone was seen with a total of 0).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (bytes.totalAmount() == 0) {
                assertTrue(System.nanoTime() < deadline, "no dev.bigqueue.Sync event reached the summary in 120 s");
                queue.enqueueString("sync me");
                queue.flush();
                Thread.onSpinWait();
            }
            assertTrue(syncs.count() > 0 && syncs.totalTime(TimeUnit.NANOSECONDS) > 0);
        }
        assertTrue(registry.find("bigqueue.sync").timers().isEmpty(), "close removes the timer");
    }
}
