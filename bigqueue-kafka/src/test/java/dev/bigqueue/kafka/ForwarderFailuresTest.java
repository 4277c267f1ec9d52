package dev.bigqueue.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.WhenFull;
import dev.bigqueue.consumer.CommitMode;
import dev.bigqueue.consumer.Consumer;
import dev.bigqueue.consumer.Consumers;
import dev.bigqueue.testing.CapturedLog;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failures other than a broker outage, against a real broker: records that the queue drops under
 * the forwarder (DROP_OLDEST at maxDiskBytes), and records that Kafka refuses for good. Every wait
 * is on a condition; the limits are hang detectors only.
 */
class ForwarderFailuresTest extends OneBroker {
    @TempDir
    Path dir;

    private KafkaForwarder.Builder forwarder(BigQueue q, String topic) {
        return KafkaForwarder.builder().queue(q).consumer("to-kafka").topic(topic)
                .producerProperties(broker.producerProperties())
                .retryBackoff(Duration.ofMillis(50), Duration.ofSeconds(1));
    }

    /**
     * The broker is away while the queue, at maxDiskBytes with DROP_OLDEST, drops the arena that
     * holds the forwarder's committed offset (the very situation DROP_OLDEST is for: the queue
     * buffers an outage). The first failed send rewinds the consumer to its committed offset; a
     * seek there threw IllegalArgumentException (before earliestOffset()) and the forwarder
     * stopped for good instead of resuming at the earliest message when the broker came back.
     */
    @Test
    void dropOldestDropsTheCommittedOffsetWhileTheBrokerIsAway_forwarderResumesAtTheEarliest() throws Exception {
        broker.createTopic("drop-committed", 1);
        QueueConfig config = QueueConfig.builder().arenaSize(64 << 10).maxDiskBytes(4 * (64 << 10))
                .whenFull(WhenFull.DROP_OLDEST).ownConsumer(false).build();
        try (BigQueue q = BigQueue.open(dir, config)) {
            KafkaForwarderTest.enqueue(q, 100);
            try (KafkaForwarder f = forwarder(q, "drop-committed").build()) {
                f.start();
                Await.until(() -> f.committedOffset() >= 100, () -> "committed " + f.committedOffset());
            }
            broker.kill();
            // the queue buffers the outage: at the cap, DROP_OLDEST drops the oldest arenas
            KafkaForwarderTest.enqueue(q, 10_000);
            long earliest = q.earliestOffset();
            assertTrue(earliest > 100, "precondition: the committed offset 100 was dropped; earliest " + earliest);
            Properties shortBlock = broker.producerProperties();
            shortBlock.put("max.block.ms", "1000"); // each attempt while the broker is away fails sooner
            try (KafkaForwarder f = forwarder(q, "drop-committed").producerProperties(shortBlock).build()) {
                f.start();
                Await.until(() -> f.lastError() != null, () -> "no failure while the broker is away");
                Exception whileAway = f.lastError();
                broker.restart();
                KafkaForwarderTest.enqueue(q, 10);
                long tail = q.tailOffset();
                Await.until(() -> f.committedOffset() >= tail || !f.isRunning(), () -> "committed "
                        + f.committedOffset() + " of " + tail + ", last error " + f.lastError());
                assertTrue(f.isRunning(), "the forwarder stopped for good after an outage; first failure: " + whileAway
                        + "; last error: " + f.lastError());
            }
            long tail = q.tailOffset();
            BitSet seen = read("drop-committed", earliest, tail);
            assertEquals(tail - earliest, seen.get((int) earliest, (int) tail).cardinality(), "offsets arrived");
        }
    }

    /**
     * A writer outpaces Kafka at maxDiskBytes with DROP_OLDEST: the queue drops arenas whose
     * records are in flight (read and sent, not yet acknowledged). The core then moves the
     * consumer's committed offset to earliestOffset() itself (the dequeue that skips the dropped
     * records commits it); an acknowledged prefix below it is already committed. Committing it
     * anyway threw IllegalArgumentException and stopped the forwarder for good.
     */
    @Test
    void dropOldestDropsRecordsInFlight_acknowledgementsStillCommit() throws Exception {
        QueueConfig config = QueueConfig.builder().arenaSize(64 << 10).maxDiskBytes(4 * (64 << 10))
                .whenFull(WhenFull.DROP_OLDEST).ownConsumer(false).build();
        // Whether acknowledgements straddle a drop is up to the machine: up to 5 rounds, each must pass.
        for (int round = 0; round < 5; round++) {
            String topic = "drop-in-flight-" + round;
            broker.createTopic(topic, 1);
            try (BigQueue q = BigQueue.open(dir.resolve("round-" + round), config);
                    KafkaForwarder f = forwarder(q, topic).build()) {
                f.start();
                KafkaForwarderTest.enqueue(q, 10_000); // faster than Kafka acknowledges: drops offsets in flight
                long earliest = q.earliestOffset();
                assertTrue(earliest > 1_000, "precondition: dropped up to " + earliest);
                long tail = q.tailOffset();
                Await.until(() -> f.committedOffset() >= tail || !f.isRunning(), () -> "committed "
                        + f.committedOffset() + " of " + tail + ", last error " + f.lastError());
                assertTrue(f.isRunning(), "round " + round + ": the forwarder stopped while the queue dropped records"
                        + " in flight (earliest " + earliest + "): " + f.lastError());
                assertEquals(0, f.lag(), "round " + round + ": lag counts from the consumer's committed offset");
            }
        }
    }

    /**
     * A message whose timestamp is more than an hour ahead of the broker's clock (Kafka 4's default
     * message.timestamp.after.max.ms) is refused with InvalidTimestampException, a non-retriable
     * error no retry can cure. The forwarder took it as retriable: it never stopped, never got past
     * the message, and each attempt resent (and duplicated) every record after it that Kafka had
     * already acknowledged in the other partition.
     */
    @Test
    void timestampBeyondTheBrokersLimit_stopsTheForwarder_insteadOfResendingForever() throws Exception {
        createTopic("future", 2, Map.of());
        try (BigQueue q = BigQueue.open(dir, KafkaForwarderTest.config())) {
            // offset 0: keyless, partition (0 / 1024) % 2 = 0, two hours in the future
            q.enqueue(Message.builder().timestamp(Instant.now().plus(Duration.ofHours(2)))
                    .value(Delivered.payload(0)).build());
            KafkaForwarderTest.enqueue(q, 2 * KafkaRecords.STRIPE - 1); // 1..2047: partition 0, then partition 1
            Exception e = assertStopsAtOffsetZero(q, "future", new TopicPartition("future", 1));
            assertInstanceOf(InvalidTimestampException.class, e);
        }
    }

    /**
     * A keyless message sent to a compacted topic is refused with InvalidRecordException ("Compacted
     * topic cannot accept message without key"): non-retriable, yet it was retried forever, as above.
     */
    @Test
    void keylessMessageToACompactedTopic_stopsTheForwarder_insteadOfResendingForever() throws Exception {
        createTopic("compacted", 2, Map.of("cleanup.policy", "compact"));
        try (BigQueue q = BigQueue.open(dir, KafkaForwarderTest.config())) {
            q.enqueueString(Delivered.payload(0)); // keyless: partition 0, refused
            for (long i = 1; i < 2 * KafkaRecords.STRIPE; i++) {
                // keyed ones are accepted; they land where the key's hash says
                q.enqueue(Message.builder().key("k" + i).value(Delivered.payload(i)).build());
            }
            Exception e = assertStopsAtOffsetZero(q, "compacted", null);
            assertInstanceOf(InvalidRecordException.class, e);
        }
    }

    /**
     * A timestamp before 1970 cannot become a Kafka record's (ProducerRecord throws): the forwarder
     * stopped with the IllegalArgumentException, without committing what Kafka had acknowledged
     * before it. Now it stops at that message, everything before it committed, and says how to
     * get past it.
     */
    @Test
    void timestampBefore1970_stopsTheForwarderAtThatMessage_withEverythingBeforeItCommitted() throws Exception {
        broker.createTopic("before-1970", 1);
        try (BigQueue q = BigQueue.open(dir, KafkaForwarderTest.config())) {
            KafkaForwarderTest.enqueue(q, 100);
            q.enqueue(Message.builder().timestamp(Instant.ofEpochMilli(-1)).value(Delivered.payload(100)).build());
            KafkaForwarderTest.enqueue(q, 10);
            try (KafkaForwarder f = forwarder(q, "before-1970").build()) {
                f.start();
                Await.until(() -> !f.isRunning(), () -> "still running, committed " + f.committedOffset());
                assertEquals(100, f.committedOffset(), "stopped at the message, after its predecessors: "
                        + f.lastError());
                assertInstanceOf(InvalidTimestampException.class, f.lastError());
                assertTrue(f.lastError().getMessage().contains("offset 100"), f.lastError().getMessage());
            }
        }
    }

    /**
     * Waits until the forwarder stopped (right: a permanent failure) or reported four distinct
     * failures in a row without committing anything (retrying a failure no retry can cure), and
     * returns the failure it stopped with.
     */
    private Exception assertStopsAtOffsetZero(BigQueue q, String topic, TopicPartition other) throws Exception {
        try (KafkaForwarder f = forwarder(q, topic).build()) {
            f.start();
            List<Exception> distinct = new ArrayList<>();
            Await.until(() -> {
                Exception e = f.lastError();
                if (e != null && (distinct.isEmpty() || distinct.get(distinct.size() - 1) != e)) {
                    distinct.add(e);
                }
                return !f.isRunning() || distinct.size() >= 4;
            }, () -> "failures seen " + distinct.size() + ", committed " + f.committedOffset());
            String copies = other == null ? "" : "; partition " + other.partition() + " holds " + endOffset(other)
                    + " records for " + KafkaRecords.STRIPE + " offsets";
            assertEquals(0, f.committedOffset(), "nothing can be committed past offset 0");
            assertFalse(f.isRunning(), "the forwarder retries a failure no retry can cure (" + distinct.size()
                    + " attempts so far" + copies + "): " + f.lastError());
            return f.lastError();
        }
    }

    private void createTopic(String topic, int partitions, Map<String, String> configs) throws Exception {
        try (Admin admin = broker.admin()) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1).configs(configs))).all()
                    .get(2, TimeUnit.MINUTES);
        }
    }

    private long endOffset(TopicPartition tp) throws Exception {
        try (Admin admin = broker.admin()) {
            return admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get(1, TimeUnit.MINUTES)
                    .offset();
        }
    }

    /**
     * Other code committing through the forwarder's consumer (Consumers.open hands out the same
     * instance for the same name) while records are in flight: the forwarder once took that commit
     * for acknowledged, and after the sends failed it resumed past records Kafka never had.
     */
    @Test
    void aCommitByOtherCodeWhileRecordsAreInFlight_doesNotCountAsAcknowledged() throws Exception {
        broker.createTopic("foreign-commit", 1);
        try (BigQueue q = BigQueue.open(dir.resolve("foreign"), KafkaForwarderTest.config());
                KafkaForwarder f = forwarder(q, "foreign-commit").build()) {
            f.start();
            KafkaForwarderTest.enqueue(q, 1);
            Await.until(() -> f.committedOffset() >= 1, () -> "committed " + f.committedOffset());
            // Paused, not killed: the producer keeps its connection and metadata, so the forwarder reads
            // and sends the next records at once, and they stay in flight until delivery.timeout.ms.
            broker.pause();
            try {
                KafkaForwarderTest.enqueue(q, 100);
                Consumer shared = Consumers.of(q).open("to-kafka", CommitMode.MANUAL);
                Await.until(() -> shared.position() == 101, () -> "position " + shared.position());
                shared.commit();
                Await.until(() -> f.lastError() != null, () -> "no send failed yet");
                assertEquals(1, f.committedOffset(), "a commit by other code counted as acknowledged by Kafka");
            } finally {
                broker.resume();
            }
            KafkaForwarderTest.enqueue(q, 10);
            Await.until(() -> f.committedOffset() >= 111, () -> "committed " + f.committedOffset());
        }
        // At least once: the paused broker may have written the first attempts too.
        assertEquals(111, read("foreign-commit", 0, 111).get(0, 111).cardinality(), "offsets missing in the topic");
    }

    private static QueueConfig dropOldest() {
        return QueueConfig.builder().arenaSize(64 << 10).maxDiskBytes(4 * (64 << 10))
                .whenFull(WhenFull.DROP_OLDEST).ownConsumer(false).build();
    }

    /** Producer properties with {@link HoldingInterceptor}. */
    private static Properties holding() {
        Properties p = broker.producerProperties();
        p.put("interceptor.classes", HoldingInterceptor.class.getName());
        return p;
    }

    /**
     * With the broker paused, holds the forwarder in the send of offset 1 (so offsets from 1 are in
     * flight, or about to be, and stay unacknowledged) while the queue drops them and more at
     * DROP_OLDEST; lets it go on, and returns once the queue moved the forwarder's committed offset to
     * the earliest record, past the offsets Kafka never acknowledged. The broker stays paused.
     */
    private static long dropRecordsInFlight(BigQueue q, KafkaForwarder f) throws Exception {
        KafkaForwarderTest.enqueue(q, 1);
        Await.until(() -> f.committedOffset() >= 1, () -> "committed " + f.committedOffset());
        HoldingInterceptor.arm();
        broker.pause();
        KafkaForwarderTest.enqueue(q, 10);
        HoldingInterceptor.awaitHeld(); // in the send of offset 1: the forwarder noted it in flight
        KafkaForwarderTest.enqueue(q, 10_000);
        long earliest = q.earliestOffset();
        assertTrue(earliest > 11, "precondition: the records in flight were dropped; earliest " + earliest);
        HoldingInterceptor.release();
        // The forwarder reads on: the consumer skips to the earliest record, committing it.
        Await.until(() -> f.committedOffset() >= earliest, () -> "committed " + f.committedOffset() + ", earliest "
                + earliest + ", last error " + f.lastError());
        return earliest;
    }

    private static void assertWarnedOfLoss(CapturedLog log, long from, long to) {
        String range = "offsets " + from + ".." + to + " ";
        List<String> warnings = log.warnings("dev.bigqueue.kafka.");
        assertTrue(warnings.stream().anyMatch(l -> l.contains(range)), "no WARN of the forwarder names the "
                + (to - from + 1) + " offset(s) Kafka never acknowledged (" + range + "); its WARNs: " + warnings);
    }

    /**
     * DROP_OLDEST drops records that are in flight (sent, not acknowledged); the queue moves the
     * forwarder's consumer to the earliest record, committing it. The sends then fail: the loss is
     * what DROP_OLDEST means, but the forwarder resumed at that offset without a word about the
     * records Kafka never had (the rewind warned only when the committed offset itself was gone).
     */
    @Test
    void recordsInFlightDroppedAndTheirSendsFail_theForwarderWarnsNamingThem() throws Exception {
        broker.createTopic("drop-unacknowledged", 1);
        try (BigQueue q = BigQueue.open(dir, dropOldest());
                CapturedLog log = new CapturedLog();
                KafkaForwarder f = forwarder(q, "drop-unacknowledged").producerProperties(holding()).build()) {
            f.start();
            long earliest;
            try {
                earliest = dropRecordsInFlight(q, f);
                // delivery.timeout.ms fails the sends of offsets 1..10; the session ends and rewinds
                Await.until(() -> f.lastError() != null, () -> "no send failed yet");
                assertWarnedOfLoss(log, 1, earliest - 1);
            } finally {
                HoldingInterceptor.release();
                broker.resume();
            }
            long tail = q.tailOffset();
            Await.until(() -> f.committedOffset() >= tail, () -> "committed " + f.committedOffset() + " of " + tail);
        }
    }

    /** As above, but the forwarder closes before Kafka acknowledged them: the next start resumes past them. */
    @Test
    void recordsInFlightDroppedAndUnacknowledgedAtClose_theForwarderWarnsNamingThem() throws Exception {
        broker.createTopic("drop-unacknowledged-close", 1);
        try (BigQueue q = BigQueue.open(dir, dropOldest());
                CapturedLog log = new CapturedLog()) {
            KafkaForwarder f = forwarder(q, "drop-unacknowledged-close").producerProperties(holding())
                    .closeTimeout(Duration.ZERO).build();
            long earliest;
            try {
                f.start();
                earliest = dropRecordsInFlight(q, f);
                f.close(); // fails what is in flight: offsets 1..10 never reach Kafka
            } finally {
                HoldingInterceptor.release();
                broker.resume();
                f.close();
            }
            assertEquals(earliest, Consumers.of(q).open("to-kafka", CommitMode.MANUAL).committedPosition(),
                    "the next start resumes at the earliest record");
            assertWarnedOfLoss(log, 1, earliest - 1);
        }
    }

    /**
     * As above, but the queue is closed under the running forwarder: the forwarder stopped (the
     * queue closed) and closed the producer, failing what was in flight, without the WARN that a
     * failed send or the forwarder's close gives: offsets 1..10 were lost silently.
     */
    @Test
    void recordsInFlightDroppedAndUnacknowledgedWhenTheQueueCloses_theForwarderWarnsNamingThem()
            throws Exception {
        broker.createTopic("drop-unacknowledged-queue-close", 1);
        try (CapturedLog log = new CapturedLog()) {
            BigQueue q = BigQueue.open(dir, dropOldest());
            KafkaForwarder f = forwarder(q, "drop-unacknowledged-queue-close").producerProperties(holding())
                    .closeTimeout(Duration.ZERO).build();
            long earliest;
            try {
                f.start();
                earliest = dropRecordsInFlight(q, f);
                q.close(); // the forwarder stops; what is in flight never reaches Kafka
                Await.until(() -> !KafkaForwarderTest.forwarderThreadAlive(), () -> "the forwarder still runs, last"
                        + " error " + f.lastError());
            } finally {
                HoldingInterceptor.release();
                broker.resume();
                f.close();
                q.close();
            }
            assertWarnedOfLoss(log, 1, earliest - 1);
        }
    }

    /**
     * onCommit is called "after each local commit with the new committed offset". With the window
     * full of records in flight (the broker paused), the queue drops them and the committed offset;
     * the sends fail and the rewind commits the earliest record: the listener was not told, its last
     * value stayed behind the forwarder's committed offset.
     */
    @Test
    void rewindPastDroppedRecords_isReportedToOnCommit() throws Exception {
        broker.createTopic("commit-listener-rewind", 1);
        List<Long> seen = new CopyOnWriteArrayList<>();
        try (BigQueue q = BigQueue.open(dir, dropOldest());
                KafkaForwarder f = forwarder(q, "commit-listener-rewind").maxInFlight(10).onCommit(seen::add)
                        .build()) {
            f.start();
            KafkaForwarderTest.enqueue(q, 1);
            Await.until(() -> f.committedOffset() >= 1, () -> "committed " + f.committedOffset());
            broker.pause();
            try {
                KafkaForwarderTest.enqueue(q, 10);
                Await.until(() -> f.inFlight() == 10, () -> "in flight " + f.inFlight()); // the window is full
                KafkaForwarderTest.enqueue(q, 10_000);
                long earliest = q.earliestOffset();
                assertTrue(earliest > 11, "precondition: the records in flight were dropped; earliest " + earliest);
                Await.until(() -> f.lastError() != null, () -> "no send failed yet"); // after the rewind
                assertEquals(earliest, f.committedOffset(), "the rewind resumes at the earliest record");
                assertEquals(earliest, seen.get(seen.size() - 1), "onCommit saw " + seen);
            } finally {
                broker.resume();
            }
        }
    }

    /**
     * As above for the jump past records dropped before they were read: with nothing in flight the
     * forwarder commits the earliest record at once, and the listener was not told (nor would it be
     * until Kafka acknowledged that record; the broker is paused).
     */
    @Test
    void jumpPastRecordsDroppedBeforeTheyWereRead_isReportedToOnCommit() throws Exception {
        broker.createTopic("commit-listener-jump", 1);
        List<Long> seen = new CopyOnWriteArrayList<>();
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        LongConsumer listener = c -> {
            seen.add(c);
            if (c == 1) { // hold the forwarder thread, nothing in flight, while the queue drops what follows
                held.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        try (BigQueue q = BigQueue.open(dir, dropOldest());
                KafkaForwarder f = forwarder(q, "commit-listener-jump").onCommit(listener).build()) {
            f.start();
            KafkaForwarderTest.enqueue(q, 1);
            Await.until(() -> held.getCount() == 0, () -> "committed " + f.committedOffset());
            broker.pause();
            try {
                KafkaForwarderTest.enqueue(q, 10_000);
                long earliest = q.earliestOffset();
                assertTrue(earliest > 1, "precondition: records not read yet were dropped; earliest " + earliest);
                release.countDown();
                // the jump is done once the record after it is in flight
                Await.until(() -> f.inFlight() > 0, () -> "in flight " + f.inFlight() + ", committed "
                        + f.committedOffset());
                assertEquals(earliest, f.committedOffset(), "the forwarder jumped to the earliest record");
                assertTrue(seen.contains(earliest), "onCommit saw " + seen + ", not the jump to " + earliest);
            } finally {
                release.countDown();
                broker.resume();
            }
        }
    }

    /**
     * An Error on the forwarder thread (here an onCommit listener's AssertionError) stopped the
     * forwarder without closing its producer: session() closed it for RuntimeExceptions only, and
     * the producer's I/O thread ran on after close() returned, holding its connection and buffers.
     */
    @Test
    void anErrorOnTheForwarderThread_stopsIt_andClosesTheProducer() throws Exception {
        broker.createTopic("listener-error", 1);
        try (BigQueue q = BigQueue.open(dir, KafkaForwarderTest.config())) {
            KafkaForwarder f = forwarder(q, "listener-error").onCommit(c -> {
                throw new AssertionError("listener failed at " + c);
            }).build();
            f.start();
            KafkaForwarderTest.enqueue(q, 1);
            Await.until(() -> !f.isRunning(), () -> "still running, committed " + f.committedOffset());
            f.close();
            assertTrue(f.lastError().getCause() instanceof AssertionError, String.valueOf(f.lastError()));
            List<String> producers = Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                    .map(Thread::getName).filter(n -> n.startsWith("kafka-producer-network-thread")).toList();
            assertTrue(producers.isEmpty(), "producer threads outlived close(): " + producers);
        }
    }

    /** Queue offsets found in the topic, reading until every one of [from, to) arrived or the hang limit. */
    private static BitSet read(String topic, long from, long to) {
        BitSet seen = new BitSet();
        try (KafkaConsumer<byte[], byte[]> c = Delivered.fromTheBeginning(broker.bootstrap(), topic)) {
            long deadline = System.nanoTime() + Await.HANG.toNanos();
            while (seen.get((int) from, (int) to).cardinality() < to - from && System.nanoTime() - deadline < 0) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    seen.set((int) Delivered.offsetOf(r.value()));
                }
            }
        }
        return seen;
    }
}
