package dev.bigqueue.metrics;

import dev.bigqueue.BigQueue;
import dev.bigqueue.consumer.Consumers;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/**
 * Micrometer meters for one open {@link BigQueue} and its named consumers, for the application's
 * dashboards: how far the queue has come, how far behind each consumer is, and what it holds on
 * disk.
 *
 * <pre>{@code
 * QueueMetrics metrics = QueueMetrics.bind(queue, Consumers.of(queue), registry);
 * // or, with options:
 * QueueMetrics metrics = QueueMetrics.builder(queue).consumers(Consumers.of(queue))
 *         .tags(Tags.of("app", "orders")).syncLatency(true).bind(registry);
 * }</pre>
 *
 * <p>Every meter is tagged {@code queue=<directory>} (replace it with {@link Builder#tags}):
 * <table>
 * <caption>Meters</caption>
 * <tr><th>name</th><th>type</th><th>what</th></tr>
 * <tr><td>{@code bigqueue.tail.offset}</td><td>gauge</td><td>offset the next enqueue gets</td></tr>
 * <tr><td>{@code bigqueue.earliest.offset}</td><td>gauge</td><td>oldest message still on disk</td></tr>
 * <tr><td>{@code bigqueue.messages}</td><td>gauge</td><td>messages on disk: tail − earliest</td></tr>
 * <tr><td>{@code bigqueue.durable.offset}</td><td>gauge</td><td>every offset below it is on disk:
 *     it survives an OS crash or power loss ({@link BigQueue#durableOffset()}; not for a read-only
 *     open)</td></tr>
 * <tr><td>{@code bigqueue.enqueued}</td><td>function counter</td><td>messages enqueued since the queue
 *     was created (the tail offset): its rate is the enqueue rate</td></tr>
 * <tr><td>{@code bigqueue.head.offset}, {@code bigqueue.size}</td><td>gauges</td><td>the queue's own
 *     consumer: the offset {@code dequeue()} returns next, and what it has not dequeued (only when
 *     {@code ownConsumer} is on)</td></tr>
 * <tr><td>{@code bigqueue.dequeued}</td><td>function counter</td><td>the head offset: its rate is the
 *     own consumer's dequeue rate (only when {@code ownConsumer} is on)</td></tr>
 * <tr><td>{@code bigqueue.arena.size}</td><td>gauge, bytes</td><td>bytes of one arena file, all
 *     preallocated when the arena is created</td></tr>
 * <tr><td>{@code bigqueue.arenas}</td><td>gauge</td><td>arena files on disk</td></tr>
 * <tr><td>{@code bigqueue.disk.used}</td><td>gauge, bytes</td><td>bytes of every file in the queue
 *     directory</td></tr>
 * <tr><td>{@code bigqueue.consumers}</td><td>gauge</td><td>named consumers persisted in the
 *     directory</td></tr>
 * <tr><td>{@code bigqueue.consumer.position}</td><td>gauge, tag {@code consumer}</td><td>a named
 *     consumer's committed offset, or the earliest offset if the queue dropped what it had not read
 *     (DROP_OLDEST, retention): where a restart resumes</td></tr>
 * <tr><td>{@code bigqueue.consumer.lag}</td><td>gauge, tag {@code consumer}</td><td>tail offset −
 *     that position: messages the consumer has still to read (and commit), as
 *     {@code Consumer.lag()}</td></tr>
 * <tr><td>{@code bigqueue.sync}, {@code bigqueue.sync.bytes}</td><td>timer, summary</td><td>each sync
 *     of record bytes to disk and the bytes it covered, from the core's JFR event
 *     {@code dev.bigqueue.Sync}; off unless {@link Builder#syncLatency(boolean)}</td></tr>
 * </table>
 *
 * <p><b>Where it stops.</b> The consumer meters read each consumer's committed position from its
 * file, without opening the consumer (opening would take it from the application): an AUTO
 * consumer commits each message on its next call, a MANUAL one on {@code commit()}, so a consumer
 * open in this process may be up to that much ahead of its meters. Consumers created or deleted after
 * {@code bind} appear or go at the next {@link #refreshConsumers()}; until then a deleted one reads
 * NaN, as does one whose file is damaged (the others keep reading). The directory is listed at
 * most once per {@link Builder#maxScanAge(Duration)} (default 1 s) however many meters a scrape
 * reads. A meter of a closed queue reads NaN; {@link #close()} removes
 * them all. Counts of bytes enqueued and dequeued, the arenas mapped, and flush latency are not
 * here: the core's public API does not give them yet.
 *
 * <p><b>One binding per tags.</b> Micrometer identifies a meter by its name and tags, and hands
 * back the one already registered for a second registration: two bindings with the same tags would
 * share meters, one reporting the other's queue and removing its meters on close. So {@code bind}
 * throws {@link IllegalArgumentException} when the registry already holds this binding's meters
 * under the same tags (the same queue bound twice, or two queues given the same {@code queue} tag):
 * add a distinguishing tag with {@link Builder#tags}. A bind that fails leaves no meter behind.
 *
 * <p><b>Threads:</b> every method is safe from any thread, as are the meters' reads.
 */
public final class QueueMetrics implements AutoCloseable {
    /** Tag naming the queue on every meter: its directory, unless the builder's tags replace it. */
    public static final String QUEUE_TAG = "queue";
    /** Tag naming the consumer on the per-consumer meters. */
    public static final String CONSUMER_TAG = "consumer";

    private final BigQueue queue;
    private final Consumers consumers;
    private final MeterRegistry registry;
    private final Tags tags;
    private final QueueFiles files;
    private final List<Meter> meters = new ArrayList<>();
    /** Null without consumers (and, to {@link #removeMeters} after a failed bind, until assigned). */
    private final MultiGauge consumerPositions;
    private final MultiGauge consumerLags;
    private final SyncLatency syncLatency;
    private final Object lock = new Object();
    /** Guarded by {@link #lock}. */
    private boolean closed;

    private QueueMetrics(Builder b, MeterRegistry registry) {
        this.queue = b.queue;
        this.consumers = b.consumers;
        this.registry = registry;
        this.tags = Tags.of(QUEUE_TAG, queue.directory().toString()).and(b.tags);
        this.files = new QueueFiles(queue.directory(), registry.config().clock(), b.maxScanAge.toNanos());
        // Micrometer hands back the meter already registered under the same name and tags, so a
        // second binding with these tags would report the first queue and remove its meters on close.
        refuseClash();
        SyncLatency sync = null;
        try {
            registerQueueMeters();
            if (consumers != null) {
                fileGauge("bigqueue.consumers", "named consumers persisted in the queue directory", null,
                        s -> s.committedOffsets().size());
                consumerPositions = MultiGauge.builder("bigqueue.consumer.position")
                        .description("a named consumer's committed offset, or the earliest offset if that is"
                                + " later: where a restart resumes").tags(tags).register(registry);
                consumerLags = MultiGauge.builder("bigqueue.consumer.lag")
                        .description("tail offset - a named consumer's position").tags(tags).register(registry);
            } else {
                consumerPositions = null;
                consumerLags = null;
            }
            if (b.syncLatency) {
                Timer timer = Timer.builder("bigqueue.sync").description("a sync of record bytes to disk (msync"
                        + " or fdatasync), from the JFR event " + SyncLatency.EVENT).tags(tags).register(registry);
                DistributionSummary bytes = DistributionSummary.builder("bigqueue.sync.bytes")
                        .description("record bytes one sync wrote to disk").baseUnit("bytes").tags(tags)
                        .register(registry);
                meters.add(timer);
                meters.add(bytes);
                sync = SyncLatency.start(queue.directory().toString(), timer, bytes);
            }
            this.syncLatency = sync;
            refreshConsumers();
        } catch (RuntimeException | Error e) {
            // No handle reaches the caller, so nothing else could ever remove what was registered.
            try {
                if (sync != null) {
                    sync.close();
                }
            } catch (RuntimeException closing) {
                e.addSuppressed(closing);
            } finally {
                removeMeters();
            }
            throw e;
        }
    }

    private void registerQueueMeters() {
        gauge("bigqueue.tail.offset", "offset the next enqueue gets", null, q -> q.tailOffset());
        gauge("bigqueue.earliest.offset", "oldest message still on disk", null, q -> q.earliestOffset());
        gauge("bigqueue.messages", "messages on disk: tail offset - earliest offset", null,
                q -> q.tailOffset() - q.earliestOffset());
        counter("bigqueue.enqueued", "messages enqueued since the queue was created (its tail offset); its rate"
                + " is the enqueue rate", q -> q.tailOffset());
        // A read-only open has no own consumer (it is the writer's) and syncs nothing of the queue's.
        if (!queue.config().readOnly()) {
            gauge("bigqueue.durable.offset", "every offset below it is on disk (survives a power loss)", null,
                    q -> q.durableOffset());
            if (queue.config().ownConsumer()) {
                gauge("bigqueue.head.offset", "offset the queue's own consumer (dequeue) returns next", null,
                        q -> q.headOffset());
                gauge("bigqueue.size", "messages the queue's own consumer has not dequeued", null, q -> q.size());
                counter("bigqueue.dequeued", "the queue's own consumer's head offset; its rate is the dequeue"
                        + " rate", q -> q.headOffset());
            }
        }
        // config() still answers on a closed queue: tailOffset() is what says it is closed.
        gauge("bigqueue.arena.size", "bytes of one arena file, preallocated when it is created", "bytes",
                q -> q.tailOffset() >= 0 ? q.config().arenaSize() : Double.NaN);
        fileGauge("bigqueue.arenas", "arena files on disk", null, QueueFiles.Snapshot::arenaFiles);
        fileGauge("bigqueue.disk.used", "bytes of every file in the queue directory", "bytes",
                QueueFiles.Snapshot::diskBytes);
    }

    /**
     * Refuses a binding whose meters would be another binding's: every binding registers
     * {@code bigqueue.tail.offset} under exactly its tags, so that one meter tells.
     */
    private void refuseClash() {
        List<Tag> ours = tags.stream().toList();
        boolean taken = registry.find("bigqueue.tail.offset").tags(tags).meters().stream()
                .anyMatch(m -> m.getId().getTags().equals(ours));
        if (taken) {
            String named = ours.stream().map(t -> t.getKey() + "=" + t.getValue()).collect(Collectors.joining(", "));
            throw new IllegalArgumentException("another binding already registered the bigqueue meters tagged ["
                    + named + "] with this registry (the same queue bound twice, or two queues with the same tags);"
                    + " add a distinguishing tag with QueueMetrics.builder(queue).tags(..), or close the other"
                    + " binding first");
        }
    }

    /**
     * Binds the meters of {@code queue} and, if {@code consumers} is not null, of its named
     * consumers, to {@code registry}, with the defaults: sync latency off, the directory listed at
     * most once a second.
     *
     * @param consumers {@code Consumers.of(queue)}, or null for no consumer meters.
     * @return the binding; {@link #close()} removes its meters.
     */
    public static QueueMetrics bind(BigQueue queue, Consumers consumers, MeterRegistry registry) {
        return builder(queue).consumers(consumers).bind(registry);
    }

    /** Options for the meters of {@code queue}; {@link Builder#bind} registers them. */
    public static Builder builder(BigQueue queue) {
        return new Builder(queue);
    }

    /**
     * Registers the consumer meters of the consumers persisted now and removes those of the ones
     * deleted since the last call. {@code bind} calls it once; call it after creating or deleting
     * consumers, or on a schedule. Does nothing without consumers or after {@link #close()}.
     */
    public void refreshConsumers() {
        synchronized (lock) {
            if (closed || consumers == null) {
                return;
            }
            List<MultiGauge.Row<?>> positions = new ArrayList<>();
            List<MultiGauge.Row<?>> lags = new ArrayList<>();
            for (String name : consumers.names()) {
                Tags consumer = Tags.of(CONSUMER_TAG, name);
                positions.add(MultiGauge.Row.of(consumer, () -> position(name)));
                lags.add(MultiGauge.Row.of(consumer, () -> lag(name)));
            }
            consumerPositions.register(positions, true);
            consumerLags.register(lags, true);
        }
    }

    /** Removes every meter of this binding from the registry and stops the sync latency stream. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            if (syncLatency != null) {
                syncLatency.close();
            }
        } finally {
            removeMeters();
        }
    }

    private void removeMeters() {
        if (consumerPositions != null) {
            consumerPositions.register(List.of(), true);
        }
        if (consumerLags != null) {
            consumerLags.register(List.of(), true);
        }
        for (Meter meter : meters) {
            registry.remove(meter);
        }
        meters.clear();
    }

    /**
     * Where {@code name} resumes: its committed offset, or the earliest offset if the queue dropped
     * (DROP_OLDEST, retention) what it had not read, as {@code Consumer.position()} says once open.
     * NaN for a consumer gone or unreadable, or a closed queue.
     */
    private double position(String name) {
        Long committed = files.snapshot().committedOffsets().get(name);
        return committed == null ? Double.NaN : read(queue, q -> Math.max(committed, q.earliestOffset()));
    }

    private double lag(String name) {
        Long committed = files.snapshot().committedOffsets().get(name);
        return committed == null ? Double.NaN
                : read(queue, q -> q.tailOffset() - Math.max(committed, q.earliestOffset()));
    }

    private void gauge(String name, String description, String unit, ToDoubleFunction<BigQueue> value) {
        meters.add(Gauge.builder(name, queue, q -> read(q, value)).description(description).baseUnit(unit)
                .tags(tags).register(registry));
    }

    private void counter(String name, String description, ToDoubleFunction<BigQueue> value) {
        meters.add(FunctionCounter.builder(name, queue, q -> read(q, value)).description(description)
                .baseUnit("messages").tags(tags).register(registry));
    }

    private void fileGauge(String name, String description, String unit,
                           ToDoubleFunction<QueueFiles.Snapshot> value) {
        // Strong: nothing but the registry holds the scanner, and a collected one would read NaN.
        // The files outlive the queue's close, but the javadoc promises NaN for a closed queue's meters.
        meters.add(Gauge.builder(name, files, f -> read(queue, q -> {
            q.tailOffset(); // throws once the queue is closed
            return value.applyAsDouble(f.snapshot());
        })).description(description).baseUnit(unit).tags(tags).strongReference(true).register(registry));
    }

    /** {@code value} of the queue, NaN once it is closed. */
    private static double read(BigQueue queue, ToDoubleFunction<BigQueue> value) {
        try {
            return value.applyAsDouble(queue);
        } catch (IllegalStateException closed) {
            return Double.NaN;
        }
    }

    /** Options of a binding; {@link #bind(MeterRegistry)} makes it. */
    public static final class Builder {
        private final BigQueue queue;
        private Consumers consumers;
        private Iterable<Tag> tags = Tags.empty();
        private boolean syncLatency;
        private Duration maxScanAge = Duration.ofSeconds(1);

        private Builder(BigQueue queue) {
            this.queue = Objects.requireNonNull(queue, "queue must not be null");
        }

        /** The queue's named consumers, {@code Consumers.of(queue)}: one position and lag meter each. */
        public Builder consumers(Consumers consumers) {
            this.consumers = consumers;
            return this;
        }

        /** Tags added to every meter; a {@code queue} tag here replaces the directory. */
        public Builder tags(Iterable<Tag> tags) {
            this.tags = Objects.requireNonNull(tags, "tags must not be null; use Tags.empty()");
            return this;
        }

        /**
         * Whether to time every sync of the queue's records to disk (default false): starts a JDK
         * Flight Recorder stream in this JVM that listens for the core's {@code dev.bigqueue.Sync}
         * event. It costs a JFR recording with that one event enabled (a thread, a repository
         * directory under {@code java.io.tmpdir}), and the timer trails the syncs by about a second,
         * JFR's flush period.
         */
        public Builder syncLatency(boolean on) {
            this.syncLatency = on;
            return this;
        }

        /**
         * How old a listing of the queue directory (arena files, disk bytes, consumer positions) may
         * be when a meter is read (default 1 s, by the registry's clock); {@code ZERO} lists it on
         * every read.
         */
        public Builder maxScanAge(Duration age) {
            Objects.requireNonNull(age, "age must not be null; use Duration.ZERO to list on every read");
            if (age.isNegative()) {
                throw new IllegalArgumentException("maxScanAge must be ZERO or positive, got " + age);
            }
            this.maxScanAge = age;
            return this;
        }

        /** Registers the meters with {@code registry}. */
        public QueueMetrics bind(MeterRegistry registry) {
            Objects.requireNonNull(registry, "registry must not be null");
            return new QueueMetrics(this, registry);
        }
    }
}
