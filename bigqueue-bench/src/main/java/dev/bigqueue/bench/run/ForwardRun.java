package dev.bigqueue.bench.run;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.kafka.KafkaForwarder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * One run of the forward benchmark: the same records either through a queue and a
 * {@link KafkaForwarder} (local enqueue to local commit, which follows Kafka's acknowledgement)
 * or straight through a plain {@link KafkaProducer} (send to acknowledgement), with the same
 * producer settings. A rate of 0 sends as fast as each side can; a positive rate paces the
 * producer, and latency is taken from each record's scheduled time (no coordinated omission).
 */
public final class ForwardRun {
    /** Throughput and latency of one run. */
    public record Result(String side, long messages, long elapsedNs, Histogram latencyNs) {
        public double messagesPerSecond() {
            return messages * 1e9 / elapsedNs;
        }

        public double micros(double percentile) {
            return latencyNs.getValueAtPercentile(percentile) / 1000.0;
        }
    }

    private final Properties producerProperties;
    private final int messages;
    private final int size;
    private final long ratePerSecond;

    public ForwardRun(Properties producerProperties, int messages, int size, long ratePerSecond) {
        this.producerProperties = producerProperties;
        this.messages = messages;
        this.size = size;
        this.ratePerSecond = ratePerSecond;
    }

    private long scheduled(long start, int i) {
        return ratePerSecond == 0 ? 0 : start + i * 1_000_000_000L / ratePerSecond;
    }

    private static void waitUntil(long at) {
        for (long left = at - System.nanoTime(); left > 0; left = at - System.nanoTime()) {
            if (left > 50_000) {
                LockSupport.parkNanos(left - 20_000);
            } else {
                Thread.onSpinWait();
            }
        }
    }

    /** A plain idempotent KafkaProducer, acks=all: send to acknowledgement. */
    public Result direct(String topic) throws InterruptedException {
        Properties p = new Properties();
        p.putAll(producerProperties);
        p.put("acks", "all");
        p.put("enable.idempotence", "true");
        p.put("key.serializer", ByteArraySerializer.class.getName());
        p.put("value.serializer", ByteArraySerializer.class.getName());
        Histogram h = new Histogram(3);
        CountDownLatch done = new CountDownLatch(messages);
        AtomicLong lastAck = new AtomicLong();
        long[] sentAt = new long[messages];
        long start;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            start = System.nanoTime();
            for (int i = 0; i < messages; i++) {
                long at = scheduled(start, i);
                waitUntil(at);
                sentAt[i] = ratePerSecond == 0 ? System.nanoTime() : at;
                int index = i;
                producer.send(new ProducerRecord<>(topic, null, null, null, payload(i)), (md, e) -> {
                    if (e != null) {
                        throw new IllegalStateException("direct send failed: " + e, e);
                    }
                    long now = System.nanoTime();
                    h.recordValue(Math.max(0, now - sentAt[index]));
                    lastAck.set(now);
                    done.countDown();
                });
            }
            if (!done.await(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException("the broker acknowledged " + (messages - done.getCount()) + " of "
                        + messages + " records in 10 minutes");
            }
        }
        return new Result("KafkaProducer", messages, lastAck.get() - start, h);
    }

    /** A queue in {@code dir} forwarded by a KafkaForwarder: local enqueue to local commit. */
    public Result forwarded(Path dir, String topic) throws InterruptedException {
        Histogram h = new Histogram(3);
        long[] enqueuedAt = new long[messages];
        AtomicLong lastCommit = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        long[] seen = {0};
        long start;
        try (BigQueue q = BigQueue.open(dir, QueueConfig.builder().ownConsumer(false).build());
                KafkaForwarder f = KafkaForwarder.builder().queue(q).consumer("bench").topic(topic)
                        .producerProperties(producerProperties).onCommit(committed -> {
                            long now = System.nanoTime();
                            for (long o = seen[0]; o < committed; o++) {
                                h.recordValue(Math.max(0, now - enqueuedAt[(int) o]));
                            }
                            seen[0] = committed;
                            if (committed >= messages) {
                                lastCommit.set(now);
                                done.countDown();
                            }
                        }).build()) {
            f.start();
            start = System.nanoTime();
            for (int i = 0; i < messages; i++) {
                long at = scheduled(start, i);
                waitUntil(at);
                // Written before the enqueue publishes the record: the forwarder thread reads it after its commit.
                enqueuedAt[i] = ratePerSecond == 0 ? System.nanoTime() : at;
                q.enqueue(payload(i));
            }
            if (!done.await(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException("the forwarder committed " + f.committedOffset() + " of " + messages
                        + " in 10 minutes; last error: " + f.lastError());
            }
        }
        return new Result("bigqueue + KafkaForwarder", messages, lastCommit.get() - start, h);
    }

    private byte[] payload(int i) {
        byte[] b = new byte[size];
        Arrays.fill(b, (byte) ('a' + i % 26));
        return b;
    }
}
