package dev.bigqueue.bench.run;

import dev.bigqueue.bench.peer.PeerOptions;
import dev.bigqueue.bench.peer.PeerType;
import dev.bigqueue.bench.peer.QueuePeer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * End-to-end latency: one producer thread enqueues at a fixed rate, one consumer thread spins on
 * dequeue, and each message's latency runs from the time the schedule said it should be sent to
 * the time the consumer has it. Measuring from the schedule, not from the actual send, keeps a
 * stalled producer from hiding its stall (coordinated omission). The first part of the run warms
 * the JIT and is left out of the histogram.
 *
 * <p>A peer that cannot keep up is not waited for: the producer stops at the end of the run's
 * time, the consumer a short while later, and the result says how many messages were sent and
 * received.
 */
public final class LatencyRun {
    private static final long DRAIN_NS = TimeUnit.SECONDS.toNanos(2);

    private final Path dir;
    private final PeerType peer;
    private final int messageBytes;
    private final long ratePerSecond;
    private final long durationNs;
    private final long warmupNs;
    private final boolean syncOnWrite;
    private long flushIntervalMs = -1;

    /**
     * @param dir           a directory that does not exist yet or is empty; the caller deletes it.
     * @param peer          the queue.
     * @param messageBytes  payload bytes per message, at least 16 (send time and sequence).
     * @param ratePerSecond messages per second.
     * @param durationNs    measured time.
     * @param warmupNs      time before it, not recorded.
     * @param syncOnWrite   bigqueue syncs every enqueue.
     */
    public LatencyRun(Path dir, PeerType peer, int messageBytes, long ratePerSecond, long durationNs, long warmupNs,
                      boolean syncOnWrite) {
        if (messageBytes < 16) {
            throw new IllegalArgumentException("latency messages carry a time and a sequence: at least 16 bytes, got "
                    + messageBytes);
        }
        if (ratePerSecond <= 0) {
            throw new IllegalArgumentException("rate must be positive, got " + ratePerSecond);
        }
        this.dir = dir;
        this.peer = peer;
        this.messageBytes = messageBytes;
        this.ratePerSecond = ratePerSecond;
        this.durationNs = durationNs;
        this.warmupNs = warmupNs;
        this.syncOnWrite = syncOnWrite;
    }

    /**
     * bigqueue's {@code flushInterval} for this run, in ms: -1 (the default) keeps bigqueue's
     * own, 0 turns the periodic flush off, as the peers run.
     */
    public LatencyRun withFlushIntervalMs(long ms) {
        this.flushIntervalMs = ms;
        return this;
    }

    /** Runs the producer and the consumer and waits for both. */
    public LatencyResult run() throws InterruptedException {
        double intervalNs = 1e9 / ratePerSecond;
        long warmupMessages = (long) (warmupNs / intervalNs);
        long planned = warmupMessages + Math.max(1, (long) (durationNs / intervalNs));
        long budgetBytes = planned * (messageBytes + 8L);
        PeerOptions options = ThroughputRun.optionsFor(Math.min(budgetBytes, 1L << 30), messageBytes, syncOnWrite)
                .withFlushIntervalMs(flushIntervalMs);
        Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
        AtomicLong sent = new AtomicLong();
        AtomicLong received = new AtomicLong();
        AtomicBoolean producerDone = new AtomicBoolean();
        Throwable[] failure = new Throwable[2];

        try (QueuePeer queue = QueuePeer.open(peer, dir, options)) {
            long startNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
            long stopSendingNs = startNs + warmupNs + durationNs;
            Thread producer = new Thread(() -> {
                try {
                    produce(queue, planned, intervalNs, startNs, stopSendingNs, sent);
                } catch (Throwable t) {
                    failure[0] = t;
                } finally {
                    producerDone.set(true);
                }
            }, "latency-producer");
            Thread consumer = new Thread(() -> {
                try {
                    consume(queue, planned, warmupMessages, stopSendingNs + DRAIN_NS, producerDone, sent, received,
                            histogram);
                } catch (Throwable t) {
                    failure[1] = t;
                }
            }, "latency-consumer");
            consumer.start();
            producer.start();
            producer.join();
            consumer.join();
        }
        for (Throwable t : failure) {
            if (t != null) {
                throw new IllegalStateException(peer.label() + " latency run failed: " + t, t);
            }
        }
        return new LatencyResult(peer, messageBytes, ratePerSecond, planned, sent.get(), received.get(), histogram);
    }

    private void produce(QueuePeer queue, long planned, double intervalNs, long startNs, long stopSendingNs,
                         AtomicLong sent) {
        byte[] message = new byte[messageBytes];
        ByteBuffer header = ByteBuffer.wrap(message).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < planned; i++) {
            long scheduledNs = startNs + (long) (i * intervalNs);
            long now;
            while ((now = System.nanoTime()) < scheduledNs) {
                Thread.onSpinWait();
            }
            if (now > stopSendingNs) {
                return;
            }
            header.putLong(0, scheduledNs);
            header.putLong(8, i);
            queue.enqueue(message);
            sent.set(i + 1);
        }
    }

    private void consume(QueuePeer queue, long planned, long warmupMessages, long deadlineNs,
                         AtomicBoolean producerDone, AtomicLong sent, AtomicLong received, Histogram histogram) {
        long got = 0;
        while (got < planned) {
            byte[] message = queue.dequeue();
            long now = System.nanoTime();
            if (message == null) {
                if (now > deadlineNs || (producerDone.get() && got >= sent.get())) {
                    return;
                }
                Thread.onSpinWait();
                continue;
            }
            ByteBuffer header = ByteBuffer.wrap(message).order(ByteOrder.LITTLE_ENDIAN);
            long scheduledNs = header.getLong(0);
            long sequence = header.getLong(8);
            if (sequence != got) {
                throw new IllegalStateException(peer.label() + " delivered message " + sequence + " when " + got
                        + " was next");
            }
            got++;
            received.set(got);
            if (sequence >= warmupMessages) {
                histogram.recordValue(Math.min(histogram.getHighestTrackableValue(), Math.max(0, now - scheduledNs)));
            }
        }
    }
}
