package dev.bigqueue.kafka;

import dev.bigqueue.BigQueue;
import dev.bigqueue.consumer.CommitMode;
import dev.bigqueue.consumer.Consumer;
import dev.bigqueue.consumer.Consumers;
import java.time.Duration;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;

/**
 * Forwards a queue to a Kafka topic through a {@code MANUAL}-commit named consumer: each message
 * is sent with an idempotent producer ({@code acks=all}), and the consumer commits a message only
 * once Kafka acknowledged it and every message before it. So every message reaches Kafka at least
 * once, in queue order per partition; a {@code kill -9} of the process resends at most what was
 * in flight ({@link Builder#maxInFlight}), and a broker that goes away, for seconds or hours,
 * costs a back-off and a resend from the last commit, never a message.
 *
 * <pre>{@code
 * Properties props = new Properties();
 * props.put("bootstrap.servers", "kafka-1:9092");
 * try (KafkaForwarder f = KafkaForwarder.builder().queue(queue).consumer("to-kafka")
 *         .topic("events").producerProperties(props).build()) {
 *     f.start();
 *     ...
 * }
 * }</pre>
 *
 * <p><b>Threads and lifetime.</b> {@link #start()} opens the consumer and starts one thread,
 * {@code bigqueue-kafka-forwarder-NAME}, which does all the work (see {@code Forwarding}) until
 * {@link #close()}, which ends it and waits for it. Nothing is started by the builder. The
 * lifecycle is an {@link AtomicInteger} state (NEW, STARTING, RUNNING, CLOSED) changed by
 * compare-and-set, so no lock is held while the consumer opens or the thread is joined; the
 * thread and its work are published through volatile fields. Every method is safe from any
 * thread, and close() may race any of them. If the queue is closed first, the forwarder stops
 * by itself (its {@link #lastError()} says so) and close() still ends cleanly.
 *
 * <p><b>Who owns the thread.</b> start() creates and starts it while the state is still
 * STARTING; from {@code Thread.start()} on, the thread owns the consumer (it closes it when it
 * ends, however it ends). close() owns the ending: it first waits for a start() under way to
 * return or throw (the {@code startDone} latch, counted down in start()'s {@code finally}, or by
 * a close() that came first, after which no start() can begin), then reads {@code thread} and
 * joins it. So once any close() returns, no thread of this forwarder runs, whatever order
 * start() and close() ran in; a start() that lost the race throws, its thread having seen the
 * closing latch and ended.
 */
public final class KafkaForwarder implements AutoCloseable {
    private static final int NEW = 0;
    private static final int STARTING = 1;
    private static final int RUNNING = 2;
    private static final int CLOSED = 3;

    private final BigQueue queue;
    private final Builder settings;
    private final Properties producerProperties;
    private final AtomicInteger state = new AtomicInteger(NEW);
    private final CountDownLatch closing = new CountDownLatch(1);
    private final CountDownLatch startDone = new CountDownLatch(1);
    private volatile Forwarding work;
    private volatile Thread thread;

    /**
     * From {@link Builder#build()}, which checked {@code b}. Package-private only so that a test can
     * make {@link #start()} fail after the consumer opened (a window too large to allocate).
     */
    KafkaForwarder(Builder b, Properties producerProperties) {
        this.queue = b.queue;
        this.settings = b;
        this.producerProperties = producerProperties;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Opens the consumer (MANUAL) and starts forwarding from its committed offset. If it throws
     * for any other reason than the two below, the consumer is closed again and the forwarder is
     * closed (build a new one to try again).
     *
     * @throws IllegalStateException if started before, or closed.
     */
    public void start() {
        if (!state.compareAndSet(NEW, STARTING)) {
            throw new IllegalStateException("forwarder of consumer '" + settings.consumer + "' was "
                    + (state.get() == CLOSED ? "closed" : "started already") + "; build a new one to start again");
        }
        try {
            Consumer consumer;
            try {
                consumer = Consumers.of(queue).open(settings.consumer, CommitMode.MANUAL);
            } catch (RuntimeException e) {
                state.set(CLOSED);
                throw e;
            }
            Thread t;
            try {
                // Until Thread.start() returns the consumer is this method's: whatever fails closes it.
                Forwarding f = new Forwarding(consumer, settings, producerProperties, closing);
                t = new Thread(f, "bigqueue-kafka-forwarder-" + settings.consumer);
                t.setDaemon(true);
                work = f;
                t.start();
            } catch (RuntimeException | Error e) {
                state.set(CLOSED);
                work = null;
                try {
                    consumer.close();
                } catch (RuntimeException again) {
                    e.addSuppressed(again);
                }
                throw e;
            }
            thread = t;
            if (!state.compareAndSet(STARTING, RUNNING)) {
                // close() ran meanwhile: the thread saw (or will see) the closing latch and ends; close()
                // waits for it once this start() is done
                throw new IllegalStateException("forwarder of consumer '" + settings.consumer
                        + "' was closed while it started");
            }
        } finally {
            startDone.countDown();
        }
    }

    /**
     * Stops forwarding: waits up to {@link Builder#closeTimeout} for what is in flight, commits
     * what Kafka acknowledged, closes the producer and the consumer, and returns once the
     * forwarder thread has ended. What was not acknowledged is sent again by the next start.
     * Idempotent; safe from any thread.
     */
    @Override
    public void close() {
        int before = state.getAndSet(CLOSED);
        closing.countDown();
        if (before == NEW) {
            startDone.countDown(); // no start() can begin any more: nothing for a later close() to wait for
            return;
        }
        boolean interrupted = false;
        while (startDone.getCount() > 0) {
            try {
                startDone.await(); // start() only opens the consumer and starts the thread: it returns soon
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        Thread t = thread;
        if (t == null || t == Thread.currentThread()) {
            // no thread (start() failed), or from an onCommit listener: the thread ends by itself when it returns
            restoreInterrupt(interrupted);
            return;
        }
        Forwarding f = work;
        if (f != null) {
            f.interrupt(t); // cuts short a wait in the queue or the producer; the latch says why
        }
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true; // the forwarder ends within closeTimeout + max.block.ms: wait for it
            }
        }
        restoreInterrupt(interrupted);
    }

    private static void restoreInterrupt(boolean interrupted) {
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Messages Kafka acknowledged and the consumer committed since {@link #start()}. */
    public long forwarded() {
        Forwarding f = work;
        return f == null ? 0 : f.forwarded();
    }

    /**
     * Messages in the queue that Kafka has not acknowledged yet: the queue's tail offset minus
     * the consumer's committed offset (in-flight messages included).
     *
     * @throws IllegalStateException if the forwarder was not started, or the queue is closed.
     */
    public long lag() {
        Forwarding f = work;
        if (f == null) {
            throw new IllegalStateException("forwarder of consumer '" + settings.consumer + "' was not started:"
                    + " call start() first");
        }
        return Math.max(0, queue.tailOffset() - f.committed());
    }

    /** Messages sent to Kafka and not yet acknowledged (0 before start). */
    public long inFlight() {
        Forwarding f = work;
        return f == null ? 0 : f.inFlight();
    }

    /** The consumer's committed offset as the forwarder last set it: the next start resumes there. */
    public long committedOffset() {
        Forwarding f = work;
        if (f == null) {
            throw new IllegalStateException("forwarder of consumer '" + settings.consumer + "' was not started");
        }
        return f.committed();
    }

    /** The last failure (a send, the producer, the queue closing), or null if there was none. */
    public Exception lastError() {
        Forwarding f = work;
        return f == null ? null : f.lastError();
    }

    /** Whether the forwarder thread runs: false before start, after close, and once it stopped on its own. */
    public boolean isRunning() {
        Thread t = thread;
        return t != null && t.isAlive() && state.get() == RUNNING;
    }

    @Override
    public String toString() {
        return "KafkaForwarder[" + settings.consumer + " -> " + settings.topic + "]";
    }

    /** Settings of a {@link KafkaForwarder}; {@link #build()} checks them. */
    public static final class Builder {
        /**
         * The largest {@link #maxInFlight}: 2^20 records. The window allocates 4 bytes a slot at
         * start() (4 MiB here). Kafka's idempotent producer keeps at most 5 requests in flight per
         * broker, each with one batch per partition of {@code batch.size} (16 KiB by default), a few
         * hundred small records: a larger window only holds memory and widens what a kill -9 resends.
         */
        static final int MAX_IN_FLIGHT = 1 << 20;
        BigQueue queue;
        String consumer = "to-kafka";
        String topic;
        Properties producerProperties;
        int maxInFlight = 10_000;
        Duration initialBackoff = Duration.ofMillis(100);
        Duration maxBackoff = Duration.ofSeconds(30);
        Duration closeTimeout = Duration.ofSeconds(5);
        LongConsumer onCommit;

        private Builder() {
        }

        /** The queue to forward (required; it stays the application's to close). */
        public Builder queue(BigQueue queue) {
            this.queue = Objects.requireNonNull(queue, "queue must not be null");
            return this;
        }

        /** The named consumer that keeps the forwarder's place; default {@code to-kafka}. */
        public Builder consumer(String name) {
            this.consumer = Objects.requireNonNull(name, "consumer name must not be null");
            return this;
        }

        /** The topic to send to (required). */
        public Builder topic(String topic) {
            this.topic = Objects.requireNonNull(topic, "topic must not be null");
            return this;
        }

        /**
         * Kafka producer properties (required: {@code bootstrap.servers}). {@code acks=all} and
         * {@code enable.idempotence=true} are forced, and contradicting them is an error; the
         * serializers are the forwarder's; {@code transactional.id}, {@code partitioner.class} and
         * {@code partitioner.ignore.keys=true} are refused (a resent record could change
         * partition); {@code max.block.ms} defaults to 10 s.
         */
        public Builder producerProperties(Properties props) {
            Objects.requireNonNull(props, "producerProperties must not be null");
            this.producerProperties = new Properties();
            this.producerProperties.putAll(props);
            return this;
        }

        /**
         * Messages sent and not yet acknowledged, at most; default 10,000, at most 1,048,576 (2^20:
         * the window takes 4 bytes a message, allocated at start, and Kafka's own in-flight requests
         * hold far fewer records). A kill -9 resends at most these.
         */
        public Builder maxInFlight(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxInFlight must be at least 1, was " + n);
            }
            this.maxInFlight = n;
            return this;
        }

        /** The wait after a first failure (default 100 ms), doubled after each further one up to {@code max} (30 s). */
        public Builder retryBackoff(Duration initial, Duration max) {
            Objects.requireNonNull(initial, "initial back-off must not be null");
            Objects.requireNonNull(max, "max back-off must not be null");
            if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("retryBackoff needs 0 < initial <= max, was initial " + initial
                        + ", max " + max);
            }
            this.initialBackoff = initial;
            this.maxBackoff = max;
            return this;
        }

        /** How long close() waits for in-flight messages to be acknowledged; default 5 s. */
        public Builder closeTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "closeTimeout must not be null");
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("closeTimeout must not be negative, was " + timeout);
            }
            this.closeTimeout = timeout;
            return this;
        }

        /**
         * Called on the forwarder thread after each local commit with the new committed offset
         * (every offset below it is acknowledged by Kafka, or was dropped by the queue under
         * DROP_OLDEST or retention; a WARN names those Kafka did not acknowledge); for progress and
         * latency measurements. Every move is reported, jumps past dropped records included, and the
         * offset only grows. Keep it short: it delays forwarding.
         */
        public Builder onCommit(LongConsumer listener) {
            this.onCommit = listener;
            return this;
        }

        /**
         * A forwarder with these settings, not started.
         *
         * @throws IllegalArgumentException if the queue, topic or producer properties are missing,
         *     maxInFlight is above its limit, or a producer property contradicts the forwarder's guarantees.
         */
        public KafkaForwarder build() {
            if (maxInFlight > MAX_IN_FLIGHT) {
                throw new IllegalArgumentException("maxInFlight must be at most " + MAX_IN_FLIGHT + ", was "
                        + maxInFlight + ": the in-flight window takes 4 bytes a message, allocated at start(), and"
                        + " Kafka's idempotent producer (at most 5 requests in flight per broker, one batch.size"
                        + " batch per partition each) holds far fewer records; the default is 10000");
            }
            if (queue == null) {
                throw new IllegalArgumentException("queue is required: KafkaForwarder.builder().queue(queue)");
            }
            if (topic == null || topic.isBlank()) {
                throw new IllegalArgumentException("topic is required: KafkaForwarder.builder().topic(\"events\")");
            }
            if (producerProperties == null) {
                throw new IllegalArgumentException("producerProperties are required, with bootstrap.servers at"
                        + " least: KafkaForwarder.builder().producerProperties(props)");
            }
            Properties resolved = ProducerSettings.resolve(producerProperties, "bigqueue-forwarder-" + consumer);
            Builder copy = new Builder();
            copy.queue = queue;
            copy.consumer = consumer;
            copy.topic = topic;
            copy.producerProperties = resolved;
            copy.maxInFlight = maxInFlight;
            copy.initialBackoff = initialBackoff;
            copy.maxBackoff = maxBackoff;
            copy.closeTimeout = closeTimeout;
            copy.onCommit = onCommit;
            return new KafkaForwarder(copy, resolved);
        }
    }
}
