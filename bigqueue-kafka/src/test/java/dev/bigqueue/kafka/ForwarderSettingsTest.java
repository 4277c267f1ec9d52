package dev.bigqueue.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.consumer.CommitMode;
import dev.bigqueue.consumer.Consumer;
import dev.bigqueue.consumer.Consumers;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnknownProducerIdException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad settings are refused at build() with a message naming the property and what to do; the
 * forwarder's lifecycle (start twice, close before start, a broker that is not there) needs no
 * broker to check.
 */
class ForwarderSettingsTest {
    @TempDir
    Path dir;

    private static Properties props(String... kv) {
        Properties p = new Properties();
        p.put("bootstrap.servers", "127.0.0.1:9");
        for (int i = 0; i < kv.length; i += 2) {
            p.put(kv[i], kv[i + 1]);
        }
        return p;
    }

    private static String refused(BigQueue q, Properties p) {
        return assertThrows(IllegalArgumentException.class, () -> KafkaForwarder.builder().queue(q).topic("t")
                .producerProperties(p).build()).getMessage();
    }

    @Test
    void propertiesThatContradictTheGuarantees_areRefusedNamingThem() {
        try (BigQueue q = BigQueue.open(dir)) {
            Properties none = new Properties();
            assertTrue(refused(q, none).contains("bootstrap.servers"), refused(q, none));
            String acks = refused(q, props("acks", "1"));
            assertTrue(acks.contains("acks=1") && acks.contains("set it to all"), acks);
            String idem = refused(q, props("enable.idempotence", "false"));
            assertTrue(idem.contains("enable.idempotence=false"), idem);
            String inflight = refused(q, props("max.in.flight.requests.per.connection", "6"));
            assertTrue(inflight.contains("max.in.flight.requests.per.connection=6"), inflight);
            String ser = refused(q, props("value.serializer",
                    "org.apache.kafka.common.serialization.StringSerializer"));
            assertTrue(ser.contains("value.serializer"), ser);
            String kafkaCheck = refused(q, props("linger.ms", "soon"));
            assertTrue(kafkaCheck.contains("linger.ms"), kafkaCheck);
            // each would break the order per key when a record is sent again after a failure
            String txn = refused(q, props("transactional.id", "tx-1"));
            assertTrue(txn.contains("transactional.id=tx-1"), txn);
            String partitioner = refused(q, props("partitioner.class", "com.example.MyPartitioner"));
            assertTrue(partitioner.contains("partitioner.class"), partitioner);
            String ignoreKeys = refused(q, props("partitioner.ignore.keys", "true"));
            assertTrue(ignoreKeys.contains("partitioner.ignore.keys=true"), ignoreKeys);
            // what agrees with the guarantees is accepted, spelled as Kafka allows
            KafkaForwarder.builder().queue(q).topic("t").producerProperties(props("acks", "-1",
                    "enable.idempotence", "TRUE", "partitioner.ignore.keys", "false")).build().close();
            assertThrows(IllegalArgumentException.class, () -> KafkaForwarder.builder().topic("t")
                    .producerProperties(props()).build());
            assertThrows(IllegalArgumentException.class, () -> KafkaForwarder.builder().queue(q)
                    .producerProperties(props()).build());
            assertThrows(IllegalArgumentException.class, () -> KafkaForwarder.builder().maxInFlight(0));
        }
    }

    /**
     * delivery.timeout.ms below linger.ms + request.timeout.ms passes ProducerConfig, but
     * KafkaProducer's constructor refuses it: build() accepted it, and the forwarder then retried
     * "Failed to construct kafka producer" forever.
     */
    @Test
    void deliveryTimeoutBelowLingerPlusRequestTimeout_isRefusedAtBuild() {
        try (BigQueue q = BigQueue.open(dir)) {
            String m = refused(q, props("delivery.timeout.ms", "1000", "request.timeout.ms", "30000"));
            assertTrue(m.contains("delivery.timeout.ms=1000") && m.contains("linger.ms + request.timeout.ms"), m);
            // left at its default, Kafka raises delivery.timeout.ms itself
            KafkaForwarder.builder().queue(q).topic("t").producerProperties(props("request.timeout.ms", "200000"))
                    .build().close();
        }
    }

    /**
     * What a retry cannot cure stops the forwarder (a non-retriable Kafka error resent forever
     * duplicated what came after it); what a new producer or the broker's return cures is retried.
     */
    @Test
    void failuresNoRetryCures_areFatal_theOthersAreRetried() {
        assertTrue(Failures.isFatal(new InvalidTimestampException("future")));
        assertTrue(Failures.isFatal(new PolicyViolationException("no")));
        assertTrue(Failures.isFatal(new KafkaException("Failed to construct kafka producer",
                new ConfigException("delivery.timeout.ms should be equal to or larger than ..."))));
        assertFalse(Failures.isFatal(new TimeoutException("broker away")));
        assertFalse(Failures.isFatal(new OutOfOrderSequenceException("producer state lost")));
        assertFalse(Failures.isFatal(new UnknownProducerIdException("producer state lost")));
        assertFalse(Failures.isFatal(new KafkaException("Failed to construct kafka producer",
                new ConfigException("No resolvable bootstrap urls given in bootstrap.servers"))));
        assertFalse(Failures.isFatal(new KafkaException("Failed to construct kafka producer")));
    }

    @Test
    void startTwice_orAfterClose_isAnIllegalStateException() {
        try (BigQueue q = BigQueue.open(dir)) {
            KafkaForwarder f = KafkaForwarder.builder().queue(q).topic("t").producerProperties(props()).build();
            f.close(); // before start: nothing to stop
            IllegalStateException e = assertThrows(IllegalStateException.class, f::start);
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            KafkaForwarder g = KafkaForwarder.builder().queue(q).topic("t").producerProperties(props()).build();
            g.start();
            IllegalStateException twice = assertThrows(IllegalStateException.class, g::start);
            assertTrue(twice.getMessage().contains("started already"), twice.getMessage());
            g.close();
            assertFalse(KafkaForwarderTest.forwarderThreadAlive());
        }
    }

    /**
     * maxInFlight had no upper bound: the window allocates 4 bytes a slot at start(), so
     * maxInFlight(Integer.MAX_VALUE) was built and then start() threw OutOfMemoryError.
     */
    @Test
    void maxInFlightAboveItsLimit_isRefusedAtBuild_namingTheLimitAndWhy() {
        try (BigQueue q = BigQueue.open(dir)) {
            for (int n : new int[] {KafkaForwarder.Builder.MAX_IN_FLIGHT + 1, Integer.MAX_VALUE}) {
                KafkaForwarder.Builder b = KafkaForwarder.builder().queue(q).topic("t").producerProperties(props())
                        .maxInFlight(n);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build);
                assertTrue(e.getMessage().contains("maxInFlight must be at most 1048576, was " + n), e.getMessage());
                assertTrue(e.getMessage().contains("4 bytes a message"), e.getMessage());
            }
            KafkaForwarder.builder().queue(q).topic("t").producerProperties(props())
                    .maxInFlight(KafkaForwarder.Builder.MAX_IN_FLIGHT).build().close();
        }
    }

    /**
     * start() opened the named consumer, then building the forwarder's work threw: the consumer
     * stayed open with nobody to close it, holding its name (an open with the other mode was
     * refused) and every arena from its offset on, and the forwarder stayed STARTING ("started
     * already"). Nothing a built forwarder is given fails there any more (build() refuses a window
     * too large to allocate; the producer is made on the forwarder thread), so the forwarder is made
     * here without build()'s checks, with a window more than an array may hold.
     */
    @Test
    void startFailingAfterTheConsumerOpened_closesTheConsumer_andTheForwarder() {
        try (BigQueue q = BigQueue.open(dir)) {
            KafkaForwarder.Builder b = KafkaForwarder.builder().queue(q).topic("t").producerProperties(props());
            b.maxInFlight = Integer.MAX_VALUE;
            KafkaForwarder f = new KafkaForwarder(b, ProducerSettings.resolve(b.producerProperties, "test"));
            assertThrows(OutOfMemoryError.class, f::start);
            Consumer other = Consumers.of(q).open("to-kafka", CommitMode.AUTO); // refused while the MANUAL one is open
            other.close();
            IllegalStateException again = assertThrows(IllegalStateException.class, f::start);
            assertTrue(again.getMessage().contains("closed"), again.getMessage());
            f.close();
            assertFalse(KafkaForwarderTest.forwarderThreadAlive());
        }
    }

    @Test
    void startRacingClose_andEveryAccessorRacingBoth_leaveNoThreadBehind() throws Exception {
        try (BigQueue q = BigQueue.open(dir)) {
            for (int round = 0; round < 40; round++) {
                KafkaForwarder f = KafkaForwarder.builder().queue(q).topic("t").producerProperties(props())
                        .closeTimeout(Duration.ZERO).build();
                CyclicBarrier go = new CyclicBarrier(3);
                AtomicReference<Throwable> failed = new AtomicReference<>();
                Thread starter = new Thread(() -> {
                    try {
                        go.await();
                        f.start();
                    } catch (IllegalStateException closedFirst) {
                        if (!closedFirst.getMessage().contains("closed")) {
                            failed.set(closedFirst);
                        }
                    } catch (Exception | Error e) {
                        failed.set(e);
                    }
                });
                Thread reader = new Thread(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < 200; i++) {
                            f.forwarded();
                            f.inFlight();
                            f.lastError();
                            f.isRunning();
                            try {
                                f.lag();
                                f.committedOffset();
                            } catch (IllegalStateException notStarted) {
                                // before start() ran: says so
                            }
                        }
                    } catch (Exception | Error e) {
                        failed.set(e);
                    }
                });
                starter.start();
                reader.start();
                go.await();
                f.close(); // whichever won, one close() ends the thread
                assertFalse(KafkaForwarderTest.forwarderThreadAlive(), "round " + round);
                starter.join();
                reader.join();
                if (failed.get() != null) {
                    throw new AssertionError("round " + round, failed.get());
                }
                assertFalse(f.isRunning());
                assertFalse(KafkaForwarderTest.forwarderThreadAlive(), "round " + round);
            }
        }
    }

    /**
     * start() published its work, then moved STARTING to RUNNING, and only then called
     * Thread.start(): a close() in between saw a thread not alive yet, did not wait, and returned;
     * the thread then started and outlived close(). The closer waits until the work is published
     * (committedOffset() stops throwing) to land in that window often; a correct close() never
     * lets this fail.
     */
    @Test
    void closeJustAfterStartPublishedItsWork_returnsOnlyOnceTheThreadIsGone() throws Exception {
        try (BigQueue q = BigQueue.open(dir)) {
            for (int round = 0; round < 50; round++) {
                KafkaForwarder f = KafkaForwarder.builder().queue(q).topic("t").producerProperties(props())
                        .closeTimeout(Duration.ZERO).build();
                Thread starter = new Thread(() -> {
                    try {
                        f.start();
                    } catch (IllegalStateException closedFirst) {
                        // close() won: fine
                    }
                }, "test-starter");
                starter.start();
                while (starter.isAlive()) {
                    try {
                        f.committedOffset();
                        break;
                    } catch (IllegalStateException notYet) {
                        Thread.onSpinWait();
                    }
                }
                f.close();
                boolean aliveAfterClose = KafkaForwarderTest.forwarderThreadAlive();
                starter.join();
                boolean aliveAfterStart = KafkaForwarderTest.forwarderThreadAlive();
                if (aliveAfterClose || aliveAfterStart) {
                    for (Thread t : Thread.getAllStackTraces().keySet()) {
                        if (t.getName().startsWith("bigqueue-kafka-forwarder-")) {
                            t.join(); // let the next test start clean
                        }
                    }
                }
                assertFalse(aliveAfterClose || aliveAfterStart, "round " + round + ": a forwarder thread was alive"
                        + " after close() returned (" + (aliveAfterClose ? "at once" : "once start() returned") + ")");
            }
        }
    }

    @Test
    void noBrokerThere_sendsFail_nothingIsCommitted_andCloseEnds() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // closed again: nobody listens there
        }
        try (BigQueue q = BigQueue.open(dir)) {
            for (int i = 0; i < 100; i++) {
                q.enqueueString(Delivered.payload(i));
            }
            Properties p = props("bootstrap.servers", "127.0.0.1:" + port, "max.block.ms", "500",
                    "delivery.timeout.ms", "1000", "request.timeout.ms", "500");
            KafkaForwarder f = KafkaForwarder.builder().queue(q).topic("t").producerProperties(p)
                    .retryBackoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
            f.start();
            Await.until(() -> f.lastError() != null, () -> "no failure reported");
            assertEquals(0, f.committedOffset());
            assertEquals(100, f.lag());
            f.close();
            assertFalse(f.isRunning());
            assertFalse(KafkaForwarderTest.forwarderThreadAlive());
        }
    }
}
