package dev.bigqueue.consumer;

import java.time.Duration;
import java.util.Objects;

/**
 * When a {@link LatestValues} store checkpoints, and how many snapshots it keeps. Immutable.
 *
 * <pre>{@code
 * LatestValuesOptions o = LatestValuesOptions.builder()
 *         .checkpointInterval(Duration.ofMinutes(5))   // ZERO: off
 *         .checkpointEveryBytes(64 << 20)              // 0: off
 *         .checkpointOnClose(true).keepSnapshots(2)
 *         .tombstoneRetention(Duration.ofDays(1))       // deleted keys forgotten a day after the delete
 *         .build();
 * }</pre>
 *
 * <p>Automatic checkpoints run on the store's follower thread: it stops reading the queue while it
 * writes the snapshot; {@code put} and {@code get} go on. With both triggers off, only
 * {@link LatestValues#checkpoint()} (and {@code close}, unless off too) writes snapshots, and
 * start-up replays everything since the last one.
 */
public final class LatestValuesOptions {
    private final Duration checkpointInterval;
    private final long checkpointEveryBytes;
    private final boolean checkpointOnClose;
    private final int keepSnapshots;
    private final Duration tombstoneRetention;

    private LatestValuesOptions(Builder b) {
        this.checkpointInterval = b.checkpointInterval;
        this.checkpointEveryBytes = b.checkpointEveryBytes;
        this.checkpointOnClose = b.checkpointOnClose;
        this.keepSnapshots = b.keepSnapshots;
        this.tombstoneRetention = b.tombstoneRetention;
    }

    /**
     * The defaults: every 5 minutes, every 64 MiB of records followed, on close, 2 snapshots kept,
     * tombstones kept a day.
     */
    public static LatestValuesOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Time between automatic checkpoints (when something changed); ZERO: off. */
    public Duration checkpointInterval() {
        return checkpointInterval;
    }

    /**
     * Bytes of records followed (as they take up the queue: keyed or not, headers and record header
     * included) after which a checkpoint runs, or the size of the last snapshot if that is larger (a
     * big map is not rewritten for every few records); 0: off. Records without a key count too: a
     * start-up replays them all, and the store holds their arenas on disk until a checkpoint.
     */
    public long checkpointEveryBytes() {
        return checkpointEveryBytes;
    }

    /** Whether {@code close()} writes a checkpoint (when something changed since the last one). */
    public boolean checkpointOnClose() {
        return checkpointOnClose;
    }

    /**
     * Snapshots kept. The store's arenas are held from the oldest kept one, so that a damaged newest
     * snapshot falls back to the one before and replays from there; 1 lets the garbage collector take
     * everything before the newest, and a damaged newest one then needs a full replay, possible only
     * while the queue still holds the whole history.
     */
    public int keepSnapshots() {
        return keepSnapshots;
    }

    /**
     * How long a deleted key's tombstone is kept, by its timestamp: a checkpoint forgets (in memory
     * and in the snapshot it writes) every tombstone older than this on the wall clock, so that a
     * store whose keys come and go does not grow for ever (Kafka's {@code delete.retention.ms}).
     * What a tombstone guards against is a record of that key with an older timestamp appended
     * after it (explicit timestamps from another writer); once forgotten, such a record brings the
     * key back. Puts of this store never do that (their clock never goes back).
     */
    public Duration tombstoneRetention() {
        return tombstoneRetention;
    }

    @Override
    public String toString() {
        return "LatestValuesOptions[checkpointInterval=" + checkpointInterval + ", checkpointEveryBytes="
                + checkpointEveryBytes + ", checkpointOnClose=" + checkpointOnClose + ", keepSnapshots="
                + keepSnapshots + ", tombstoneRetention=" + tombstoneRetention + "]";
    }

    /** Builds {@link LatestValuesOptions}; not thread-safe. */
    public static final class Builder {
        private Duration checkpointInterval = Duration.ofMinutes(5);
        private long checkpointEveryBytes = 64L << 20;
        private boolean checkpointOnClose = true;
        private int keepSnapshots = 2;
        private Duration tombstoneRetention = Duration.ofDays(1);

        private Builder() {
        }

        /** Default 5 minutes; {@link Duration#ZERO} turns timed checkpoints off. */
        public Builder checkpointInterval(Duration interval) {
            Objects.requireNonNull(interval, "checkpointInterval must not be null; use Duration.ZERO for off");
            if (interval.isNegative()) {
                throw new IllegalArgumentException("checkpointInterval " + interval + " is negative; use a positive"
                        + " duration, or Duration.ZERO for off");
            }
            this.checkpointInterval = interval;
            return this;
        }

        /** Default 64 MiB; 0 turns byte-triggered checkpoints off. */
        public Builder checkpointEveryBytes(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("checkpointEveryBytes " + bytes + " is negative; use a byte"
                        + " count, or 0 for off");
            }
            this.checkpointEveryBytes = bytes;
            return this;
        }

        /** Default true. */
        public Builder checkpointOnClose(boolean on) {
            this.checkpointOnClose = on;
            return this;
        }

        /** Default 2; at least 1. */
        public Builder keepSnapshots(int n) {
            if (n < 1 || n > 100) {
                throw new IllegalArgumentException("keepSnapshots " + n + " is out of range: 1..100");
            }
            this.keepSnapshots = n;
            return this;
        }

        /**
         * Default 1 day; {@link Duration#ZERO} forgets every tombstone at the next checkpoint after
         * its delete (its timestamp is then in the past).
         */
        public Builder tombstoneRetention(Duration retention) {
            Objects.requireNonNull(retention, "tombstoneRetention must not be null; Duration.ZERO forgets tombstones"
                    + " at the next checkpoint");
            if (retention.isNegative()) {
                throw new IllegalArgumentException("tombstoneRetention " + retention + " is negative; use a positive"
                        + " duration, or Duration.ZERO");
            }
            this.tombstoneRetention = retention;
            return this;
        }

        public LatestValuesOptions build() {
            return new LatestValuesOptions(this);
        }
    }
}
