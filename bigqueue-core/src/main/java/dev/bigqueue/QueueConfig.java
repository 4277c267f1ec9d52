package dev.bigqueue;

import dev.bigqueue.internal.FileFormat;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Objects;
import java.util.Properties;

/**
 * Options of a {@link BigQueue}. Immutable; made by {@link #builder()} or
 * {@link #fromProperties(Properties)}, validated once in {@link Builder#build()}.
 *
 * <p>Only {@code arenaSize} shapes the files on disk: it is persisted in the queue directory and
 * reopening with another value fails. Every other option may change from one open to the next.
 * {@code config/bigqueue.properties} lists every option with its default and valid range.
 */
public final class QueueConfig {
    /** Prefix of every key read by {@link #fromProperties(Properties)}. */
    public static final String PREFIX = "bigqueue.";

    public static final long MIN_ARENA_SIZE = FileFormat.MIN_ARENA_SIZE;
    /** An arena is one mapping; a MappedByteBuffer is indexed by int. */
    public static final long MAX_ARENA_SIZE = FileFormat.MAX_ARENA_SIZE;
    public static final long DEFAULT_ARENA_SIZE = 128L << 20;
    public static final int DEFAULT_MAX_IN_MEMORY_ARENAS = 3;
    public static final Duration DEFAULT_FLUSH_INTERVAL = Duration.ofSeconds(1);
    public static final Duration DEFAULT_GC_INTERVAL = Duration.ofSeconds(10);
    public static final int DEFAULT_ARENA_POOL = 0;
    /** More pooled files than this would only hold disk: a queue rarely frees that many arenas at once. */
    public static final int MAX_ARENA_POOL = 1024;

    private final long arenaSize;
    private final int maxInMemoryArenas;
    private final long flushEveryOps;
    private final Duration flushInterval;
    private final boolean syncOnWrite;
    private final Duration gcInterval;
    private final long maxDiskBytes;
    private final WhenFull whenFull;
    private final boolean arenaSizeSet;
    private final boolean pretouch;
    private final boolean ownConsumer;
    private final Duration retention;
    private final boolean readOnly;
    private final int arenaPool;

    private QueueConfig(Builder b) {
        this.ownConsumer = b.ownConsumer;
        this.retention = b.retention;
        this.readOnly = b.readOnly;
        this.arenaPool = b.arenaPool;
        this.pretouch = b.pretouch;
        this.arenaSizeSet = b.arenaSizeSet;
        this.arenaSize = b.arenaSize;
        this.maxInMemoryArenas = b.maxInMemoryArenas;
        this.flushEveryOps = b.flushEveryOps;
        this.flushInterval = b.flushInterval;
        this.syncOnWrite = b.syncOnWrite;
        this.gcInterval = b.gcInterval;
        this.maxDiskBytes = b.maxDiskBytes;
        this.whenFull = b.whenFull;
    }

    /** A builder holding every default. */
    public static Builder builder() {
        return new Builder();
    }

    /** The defaults. */
    public static QueueConfig defaults() {
        return builder().build();
    }

    /** A builder holding this configuration's values. */
    public Builder toBuilder() {
        Builder b = new Builder()
                .arenaSize(arenaSize)
                .maxInMemoryArenas(maxInMemoryArenas)
                .flushEveryOps(flushEveryOps)
                .flushInterval(flushInterval)
                .syncOnWrite(syncOnWrite)
                .gcInterval(gcInterval)
                .maxDiskBytes(maxDiskBytes)
                .whenFull(whenFull)
                .pretouch(pretouch)
                .ownConsumer(ownConsumer)
                .retention(retention)
                .readOnly(readOnly)
                .arenaPool(arenaPool);
        b.arenaSizeSet = arenaSizeSet;
        return b;
    }

    /**
     * Whether {@code arenaSize} was set explicitly. If not, reopening an existing queue uses the
     * arena size it was created with; if so, a different persisted size is an error.
     */
    public boolean isArenaSizeSet() {
        return arenaSizeSet;
    }

    /**
     * Reads the keys of {@code config/bigqueue.properties} ({@code bigqueue.arenaSize},
     * {@code bigqueue.flushInterval}, ...); a missing key keeps its default. Sizes accept a plain
     * byte count or a suffix {@code k}, {@code m}, {@code g} (powers of 1024); durations accept
     * {@code 250ms}, {@code 10s}, {@code 5m}, {@code 0} or ISO-8601 ({@code PT1S}).
     *
     * @throws IllegalArgumentException naming the key and value that could not be read, or an
     *     option out of range.
     */
    public static QueueConfig fromProperties(Properties p) {
        Objects.requireNonNull(p, "properties must not be null");
        Builder b = builder();
        for (String key : p.stringPropertyNames()) {
            if (key.startsWith(PREFIX) && !Key.isKnown(key.substring(PREFIX.length()))) {
                throw new IllegalArgumentException("unknown option " + key + "; known options are "
                        + Key.list() + " (see config/bigqueue.properties)");
            }
        }
        String v;
        if ((v = value(p, Key.ARENA_SIZE)) != null) {
            b.arenaSize(parseSize(Key.ARENA_SIZE, v));
        }
        if ((v = value(p, Key.MAX_IN_MEMORY_ARENAS)) != null) {
            b.maxInMemoryArenas(parseInt(Key.MAX_IN_MEMORY_ARENAS, v));
        }
        if ((v = value(p, Key.FLUSH_EVERY_OPS)) != null) {
            b.flushEveryOps(parseLong(Key.FLUSH_EVERY_OPS, v));
        }
        if ((v = value(p, Key.FLUSH_INTERVAL)) != null) {
            b.flushInterval(parseDuration(Key.FLUSH_INTERVAL, v));
        }
        if ((v = value(p, Key.SYNC_ON_WRITE)) != null) {
            b.syncOnWrite(parseBoolean(Key.SYNC_ON_WRITE, v));
        }
        if ((v = value(p, Key.GC_INTERVAL)) != null) {
            b.gcInterval(parseDuration(Key.GC_INTERVAL, v));
        }
        if ((v = value(p, Key.MAX_DISK_BYTES)) != null) {
            b.maxDiskBytes(parseSize(Key.MAX_DISK_BYTES, v));
        }
        if ((v = value(p, Key.RETENTION)) != null) {
            b.retention(parseDuration(Key.RETENTION, v));
        }
        if ((v = value(p, Key.OWN_CONSUMER)) != null) {
            b.ownConsumer(parseBoolean(Key.OWN_CONSUMER, v));
        }
        if ((v = value(p, Key.READ_ONLY)) != null) {
            b.readOnly(parseBoolean(Key.READ_ONLY, v));
        }
        if ((v = value(p, Key.ARENA_POOL)) != null) {
            b.arenaPool(parseInt(Key.ARENA_POOL, v));
        }
        if ((v = value(p, Key.PRETOUCH)) != null) {
            b.pretouch(parseBoolean(Key.PRETOUCH, v));
        }
        if ((v = value(p, Key.WHEN_FULL)) != null) {
            try {
                b.whenFull(WhenFull.valueOf(v.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(PREFIX + Key.WHEN_FULL + " must be one of BLOCK, FAIL,"
                        + " DROP_OLDEST, got '" + v + "'", e);
            }
        }
        return b.build();
    }

    /** Option names as used after {@link #PREFIX} in properties. */
    static final class Key {
        static final String ARENA_SIZE = "arenaSize";
        static final String MAX_IN_MEMORY_ARENAS = "maxInMemoryArenas";
        static final String FLUSH_EVERY_OPS = "flushEveryOps";
        static final String FLUSH_INTERVAL = "flushInterval";
        static final String SYNC_ON_WRITE = "syncOnWrite";
        static final String GC_INTERVAL = "gcInterval";
        static final String MAX_DISK_BYTES = "maxDiskBytes";
        static final String WHEN_FULL = "whenFull";
        static final String PRETOUCH = "pretouch";
        static final String OWN_CONSUMER = "ownConsumer";
        static final String RETENTION = "retention";
        static final String READ_ONLY = "readOnly";
        static final String ARENA_POOL = "arenaPool";
        private static final String[] ALL = {ARENA_SIZE, MAX_IN_MEMORY_ARENAS, FLUSH_EVERY_OPS,
            FLUSH_INTERVAL, SYNC_ON_WRITE, GC_INTERVAL, MAX_DISK_BYTES, WHEN_FULL, PRETOUCH, OWN_CONSUMER,
            RETENTION, READ_ONLY, ARENA_POOL};

        static boolean isKnown(String name) {
            for (String k : ALL) {
                if (k.equals(name)) {
                    return true;
                }
            }
            return false;
        }

        static String list() {
            return String.join(", ", ALL);
        }

        private Key() {
        }
    }

    private static String value(Properties p, String key) {
        String v = p.getProperty(PREFIX + key);
        return v == null ? null : v.trim();
    }

    private static long parseLong(String key, String v) {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(PREFIX + key + " must be a whole number, got '" + v + "'", e);
        }
    }

    /** An int option: a number past int is refused, never wrapped (2^32 + 1 would read as 1). */
    private static int parseInt(String key, String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(PREFIX + key + " must be a whole number from " + Integer.MIN_VALUE
                    + " to " + Integer.MAX_VALUE + " (see config/bigqueue.properties for its range), got '" + v + "'",
                    e);
        }
    }

    private static boolean parseBoolean(String key, String v) {
        if (v.equalsIgnoreCase("true") || v.equalsIgnoreCase("false")) {
            return Boolean.parseBoolean(v);
        }
        throw new IllegalArgumentException(PREFIX + key + " must be true or false, got '" + v + "'");
    }

    static long parseSize(String key, String v) {
        String s = v.toLowerCase(Locale.ROOT);
        long unit = 1;
        if (s.endsWith("ib")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("b")) {
            s = s.substring(0, s.length() - 1);
        }
        if (s.endsWith("k")) {
            unit = 1L << 10;
        } else if (s.endsWith("m")) {
            unit = 1L << 20;
        } else if (s.endsWith("g")) {
            unit = 1L << 30;
        }
        if (unit != 1) {
            s = s.substring(0, s.length() - 1);
        }
        try {
            return Math.multiplyExact(Long.parseLong(s.trim()), unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(PREFIX + key + " must be a byte count such as 4096, 64k, 128m"
                    + " or 1g, got '" + v + "'", e);
        }
    }

    static Duration parseDuration(String key, String v) {
        String s = v.toLowerCase(Locale.ROOT);
        try {
            if (s.startsWith("pt") || s.startsWith("p")) {
                return Duration.parse(v);
            }
            if (s.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2).trim()));
            }
            if (s.endsWith("s")) {
                return Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1).trim()));
            }
            if (s.endsWith("m")) {
                return Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1).trim()));
            }
            if (s.equals("0")) {
                return Duration.ZERO;
            }
        } catch (NumberFormatException | DateTimeParseException e) {
            // fall through to the message below
        } catch (ArithmeticException e) {
            // Duration.ofMinutes of a count whose seconds pass a long
            throw new IllegalArgumentException(PREFIX + key + " is too long a duration, got '" + v + "'; use at most "
                    + Long.MAX_VALUE + "s", e);
        }
        throw new IllegalArgumentException(PREFIX + key + " must be a duration such as 250ms, 10s, 5m, 0"
                + " or PT1S, got '" + v + "'");
    }

    /** Bytes per arena file. Persisted: fixed when the queue is created. */
    public long arenaSize() {
        return arenaSize;
    }

    /** At most this many arena files mapped at once; 0 means no cap. */
    public int maxInMemoryArenas() {
        return maxInMemoryArenas;
    }

    /** Flush after every this many enqueues and dequeues; 0 means off. */
    public long flushEveryOps() {
        return flushEveryOps;
    }

    /** Background flush period; {@link Duration#ZERO} means off. */
    public Duration flushInterval() {
        return flushInterval;
    }

    /** Whether an enqueue returns only once its bytes are on disk. */
    public boolean syncOnWrite() {
        return syncOnWrite;
    }

    /** Background arena garbage collection period; {@link Duration#ZERO} means off. */
    public Duration gcInterval() {
        return gcInterval;
    }

    /** Cap on the bytes of arena files on disk; 0 means unbounded. */
    public long maxDiskBytes() {
        return maxDiskBytes;
    }

    /** What an enqueue does when {@link #maxDiskBytes()} is reached. */
    public WhenFull whenFull() {
        return whenFull;
    }

    /** Whether the queue's own consumer is in use (and holds arenas on disk). */
    public boolean ownConsumer() {
        return ownConsumer;
    }

    /**
     * How long messages are kept at least; {@link Duration#ZERO} (the default) keeps them until
     * every consumer has read them. See {@link Builder#retention(Duration)}.
     */
    public Duration retention() {
        return retention;
    }

    /**
     * Whether this open only reads a queue that one writer process (or none) owns: see
     * {@link Builder#readOnly(boolean)}.
     */
    public boolean readOnly() {
        return readOnly;
    }

    /** Consumed arena files kept for reuse as new arenas; 0 means none (they are deleted). */
    public int arenaPool() {
        return arenaPool;
    }

    /** Whether a background thread pre-faults pages and creates arenas ahead of the writer. */
    public boolean pretouch() {
        return pretouch;
    }

    @Override
    public String toString() {
        return "QueueConfig{arenaSize=" + arenaSize + ", maxInMemoryArenas=" + maxInMemoryArenas
                + ", flushEveryOps=" + flushEveryOps + ", flushInterval=" + flushInterval
                + ", syncOnWrite=" + syncOnWrite + ", gcInterval=" + gcInterval
                + ", maxDiskBytes=" + maxDiskBytes + ", whenFull=" + whenFull + ", pretouch=" + pretouch
                + ", ownConsumer=" + ownConsumer + ", retention=" + retention + ", readOnly=" + readOnly
                + ", arenaPool=" + arenaPool + "}";
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof QueueConfig)) {
            return false;
        }
        QueueConfig c = (QueueConfig) o;
        return arenaSize == c.arenaSize && maxInMemoryArenas == c.maxInMemoryArenas
                && flushEveryOps == c.flushEveryOps && flushInterval.equals(c.flushInterval)
                && syncOnWrite == c.syncOnWrite && gcInterval.equals(c.gcInterval)
                && maxDiskBytes == c.maxDiskBytes && whenFull == c.whenFull && pretouch == c.pretouch
                && ownConsumer == c.ownConsumer && retention.equals(c.retention) && readOnly == c.readOnly
                && arenaPool == c.arenaPool;
    }

    @Override
    public int hashCode() {
        return Objects.hash(arenaSize, maxInMemoryArenas, flushEveryOps, flushInterval, syncOnWrite,
                gcInterval, maxDiskBytes, whenFull, pretouch, ownConsumer, retention, readOnly, arenaPool);
    }

    /** Collects options; {@link #build()} validates them all at once. */
    public static final class Builder {
        private long arenaSize = DEFAULT_ARENA_SIZE;
        private int maxInMemoryArenas = DEFAULT_MAX_IN_MEMORY_ARENAS;
        private long flushEveryOps;
        private Duration flushInterval = DEFAULT_FLUSH_INTERVAL;
        private boolean syncOnWrite;
        private Duration gcInterval = DEFAULT_GC_INTERVAL;
        private long maxDiskBytes;
        private WhenFull whenFull = WhenFull.BLOCK;
        private boolean arenaSizeSet;
        private boolean pretouch = true;
        private boolean ownConsumer = true;
        private Duration retention = Duration.ZERO;
        private boolean readOnly;
        private int arenaPool = DEFAULT_ARENA_POOL;

        private Builder() {
        }

        /**
         * Bytes per arena file, 4 KiB to 1 GiB (default 128 MiB). Larger arenas mean fewer files
         * and mappings; smaller ones let the garbage collector free disk in finer steps.
         */
        public Builder arenaSize(long bytes) {
            this.arenaSize = bytes;
            this.arenaSizeSet = true;
            return this;
        }

        /**
         * At most this many arena files mapped at once (default 3; 0 = no cap). A low cap bounds
         * the address space and page cache the queue pins; a reader far behind the writer needs
         * its own mapping, so 3 or more avoids remapping on every switch.
         */
        public Builder maxInMemoryArenas(int n) {
            this.maxInMemoryArenas = n;
            return this;
        }

        /**
         * msync after every {@code n} enqueues and dequeues (default 0 = off). For durability this
         * value should be low; for throughput it should be high or off.
         */
        public Builder flushEveryOps(long n) {
            this.flushEveryOps = n;
            return this;
        }

        /**
         * Background flush period (default 1 s; {@link Duration#ZERO} = off). After a power loss,
         * everything enqueued more than twice this long ago survives, unless {@code syncOnWrite}
         * is set (then everything acknowledged does). Shorter means less to lose and more syncs.
         * The flush runs on the queue's maintenance thread, in Linux's batch scheduling class: it
         * never preempts a running application thread when it wakes, yet it gets its fair share
         * of a busy machine, so a flush starts a few scheduler slices after it falls due however
         * busy the cores are. Call {@code flush()} for a hard point.
         */
        public Builder flushInterval(Duration d) {
            this.flushInterval = d;
            return this;
        }

        /**
         * An enqueue returns only once its bytes are on disk (default false). Concurrent
         * producers share one sync (group commit), so many threads pay little more than one.
         */
        public Builder syncOnWrite(boolean on) {
            this.syncOnWrite = on;
            return this;
        }

        /** Background arena garbage collection period (default 10 s; {@link Duration#ZERO} = off). */
        public Builder gcInterval(Duration d) {
            this.gcInterval = d;
            return this;
        }

        /**
         * Cap on the bytes of arena files on disk (default 0 = unbounded); at least two arenas.
         * What happens at the cap is {@link #whenFull(WhenFull)}.
         *
         * <p>The cap also bounds the size of one message, whatever is in the queue: with
         * {@code n = maxDiskBytes / arenaSize} arenas of {@code d} data bytes each (the arena size
         * less its header, 64 bytes plus 32 per started 64 KiB, rounded down to a multiple of 8), a
         * message may have at most {@code (n - 1) * d - 8} bytes, key and headers included (8,088
         * bytes for two arenas of 8 KiB). That is what a record
         * needs when it starts as late in an arena as a record can, so a message is accepted or
         * refused wherever the tail is; a larger one is an {@link IllegalArgumentException} and
         * nothing is written. Raise maxDiskBytes (each further arena allows {@code d} bytes more)
         * or arenaSize for larger messages.
         */
        public Builder maxDiskBytes(long bytes) {
            this.maxDiskBytes = bytes;
            return this;
        }

        /**
         * A background thread pre-faults the pages ahead of the writer and creates the next arena
         * early (default true), so an enqueue neither takes page faults nor waits for an arena
         * file. Costs one batch-class thread per queue (it never preempts the application
         * when it wakes), CPU on another core while writing fast, and up to 8 MiB of page cache written
         * ahead of the tail. Linux only; elsewhere it does nothing.
         */
        public Builder pretouch(boolean on) {
            this.pretouch = on;
            return this;
        }

        /**
         * Whether the queue's own consumer ({@link BigQueue#dequeue()} and friends) is in use
         * (default true). Like every consumer, it holds arenas on disk until it has read past
         * them; an application that reads only through named consumers turns it off so that disk
         * is freed as they read. Off, the own consumer's methods throw IllegalStateException.
         */
        public Builder ownConsumer(boolean on) {
            this.ownConsumer = on;
            return this;
        }

        /**
         * Time-based retention, Kafka's {@code retention.ms} (default {@link Duration#ZERO}, off):
         * the garbage collector ({@code gcInterval}, {@link BigQueue#gc()}) deletes every arena
         * whose newest message (by timestamp) is older than {@code d}, even if a consumer has not
         * read it. Such a consumer continues at {@code earliestOffset()}, and a WARN names it and
         * how many messages it missed. Whole arenas go, so a message may outlive {@code d} by up
         * to the time an arena takes to fill. Not persisted: each open applies its own value.
         */
        public Builder retention(Duration d) {
            this.retention = d;
            return this;
        }

        /**
         * Opens a queue that another process writes (default false): any number of read-only
         * opens, in any processes, beside the one writer, or with none. A read-only open maps the
         * queue's files read-only, never writes its data or {@code queue.meta}, takes no directory
         * lock and starts no thread; it sees records as the writer appends them, trusting only
         * records whose checksum matches, so a writer killed mid-append never shows it a torn one.
         * Named consumers work as usual (each open in one process at a time); enqueue, {@code gc()}
         * and the queue's own consumer throw {@link IllegalStateException}. The queue must exist.
         * Options that only a writer uses (flushing, collection, disk cap, pretouch) are ignored.
         */
        public Builder readOnly(boolean on) {
            this.readOnly = on;
            return this;
        }

        /**
         * Consumed arena files kept for reuse, 0 to {@value #MAX_ARENA_POOL} (default
         * {@value #DEFAULT_ARENA_POOL}: they are deleted). An arena every consumer has passed is
         * kept, up to {@code n} of them, and becomes a later arena: its blocks stay allocated and
         * often its pages resident, instead of a file deleted and another reserved. Pooled files
         * hold disk: they count against {@code maxDiskBytes} (and are dropped first when it is
         * reached). A reused file never shows its old records: see {@code ArenaPool}.
         * Not persisted: a smaller {@code n} at the next open deletes the extra files.
         *
         * <p>The trade-off: disk ({@code n * arenaSize} kept after the consumers are done) for a
         * cheaper arena switch. Measured with {@code ArenaPoolBenchmark} (arenas of 128 MiB
         * collected every 10 ms, one producer; three runs on a loaded 2-core VM, pool 4 / pool 0
         * in the same run): 128 B messages 1.16x, 1.59x, 1.28x (median 1.28x); 4 MB messages
         * 0.86x, 0.96x, 0.99x (median 0.96x: no gain, the copy and the page faults dominate).
         * The default stays 0: the gain is for small messages only, inside this machine's noise,
         * and a pool holds disk that {@code gc()} would otherwise free. Set 2 to 4 for a busy
         * queue of small messages.
         */
        public Builder arenaPool(int n) {
            this.arenaPool = n;
            return this;
        }

        /** What an enqueue does at {@code maxDiskBytes} (default {@link WhenFull#BLOCK}). */
        public Builder whenFull(WhenFull policy) {
            this.whenFull = policy;
            return this;
        }

        /**
         * Validates every option.
         *
         * @throws IllegalArgumentException naming the option, the value and the valid range.
         */
        public QueueConfig build() {
            if (arenaSize < MIN_ARENA_SIZE || arenaSize > MAX_ARENA_SIZE) {
                throw invalid(Key.ARENA_SIZE, arenaSize, "from " + MIN_ARENA_SIZE + " to " + MAX_ARENA_SIZE
                        + " bytes");
            }
            if (maxInMemoryArenas < 0) {
                throw invalid(Key.MAX_IN_MEMORY_ARENAS, maxInMemoryArenas, "0 (no cap) or at least 1");
            }
            if (flushEveryOps < 0) {
                throw invalid(Key.FLUSH_EVERY_OPS, flushEveryOps, "0 (off) or at least 1");
            }
            if (flushInterval == null || flushInterval.isNegative()) {
                throw invalid(Key.FLUSH_INTERVAL, flushInterval, "ZERO (off) or a positive duration");
            }
            if (gcInterval == null || gcInterval.isNegative()) {
                throw invalid(Key.GC_INTERVAL, gcInterval, "ZERO (off) or a positive duration");
            }
            if (maxDiskBytes < 0 || (maxDiskBytes > 0 && maxDiskBytes < 2 * arenaSize)) {
                throw invalid(Key.MAX_DISK_BYTES, maxDiskBytes, "0 (unbounded) or at least two arenas ("
                        + 2 * arenaSize + " bytes with arenaSize " + arenaSize + (arenaSizeSet ? ")"
                        : ", the default: arenaSize is not set; for an existing queue of smaller arenas, set"
                        + " arenaSize(..) to its size)"));
            }
            if (retention == null || retention.isNegative()) {
                throw invalid(Key.RETENTION, retention, "ZERO (off) or a positive duration");
            }
            if (arenaPool < 0 || arenaPool > MAX_ARENA_POOL) {
                throw invalid(Key.ARENA_POOL, arenaPool, "0 (off) to " + MAX_ARENA_POOL + " pooled arena files");
            }
            if (whenFull == null) {
                throw invalid(Key.WHEN_FULL, null, "BLOCK, FAIL or DROP_OLDEST");
            }
            return new QueueConfig(this);
        }

        private static IllegalArgumentException invalid(String key, Object value, String range) {
            return new IllegalArgumentException(key + " must be " + range + ", got " + value
                    + "; set QueueConfig.builder()." + key + "(..) or " + PREFIX + key);
        }
    }
}
