package dev.bigqueue.consumer;

import dev.bigqueue.BigQueue;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the checkpoints of one {@link LatestValues} store: a snapshot of the map at an offset,
 * then the store's hold consumer moved to the oldest snapshot kept, then the older snapshots
 * deleted. Each step is durable before the next, so a crash between any two leaves a store that
 * loads: at worst an extra snapshot, or arenas held a little longer.
 *
 * <p>Threads: checkpoints take turns, one at a time: {@link #takeTurn()} or {@link #tryTakeTurn()},
 * then {@link #write}, then {@link #releaseTurn()}. The turn is the {@code checkpointing} flag
 * guarded by {@code turns}' monitor; the monitor is never held during the I/O. The caller's thread
 * runs the checkpoint: the follower for automatic ones, the application's for the others.
 * {@link #lastOffset} is volatile and written under the turn; {@link #lastFollowed} is volatile and
 * written by the follower only; the byte counter is atomic.
 */
final class Checkpointer {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpointer.class);
    private static final Duration CENTURY = Duration.ofDays(36_525);

    private final BigQueue queue;
    private final String name;
    private final Snapshots snapshots;
    private final ValueMap map;
    private final Consumer hold;
    private final int keep;
    /** Tombstones older than this (by their timestamp, on the wall clock) are forgotten at a checkpoint. */
    private final long tombstoneRetentionMillis;
    private final Object turns = new Object();
    /** Bytes of records, keyed or not, the follower passed since the last checkpoint (as stored in the queue). */
    private final AtomicLong bytesSince = new AtomicLong();
    /** Size of the newest snapshot written, in bytes; 0 before the first. */
    private volatile long lastSize;
    /** Guarded by {@link #turns}. */
    private boolean checkpointing;
    private volatile long lastOffset;
    /**
     * The last record the follower applied or passed, set after the map holds it: a checkpoint
     * takes its offset from it, so the snapshot names the record just below that offset.
     */
    private volatile RecordMark lastFollowed;

    Checkpointer(BigQueue queue, String name, Snapshots snapshots, ValueMap map, Consumer hold, int keep,
            Duration tombstoneRetention, long startOffset) {
        this.queue = queue;
        this.name = name;
        this.snapshots = snapshots;
        this.map = map;
        this.hold = hold;
        this.keep = keep;
        long retention;
        try {
            retention = tombstoneRetention.toMillis();
        } catch (ArithmeticException tooLong) {
            retention = Long.MAX_VALUE;
        }
        this.tombstoneRetentionMillis = retention;
        this.lastOffset = startOffset;
    }

    long lastOffset() {
        return lastOffset;
    }

    /** Called by the follower once the map holds {@code record}, before it moves past it. */
    void followed(RecordMark record) {
        lastFollowed = record;
    }

    void addBytes(long n) {
        bytesSince.addAndGet(n);
    }

    /**
     * Whether enough was read since the last checkpoint: {@code everyBytes}, or the size of the last
     * snapshot if that is more, so that a big map is not rewritten more often than the data it holds
     * changes (checkpoints write at most as many bytes as the records they cover).
     */
    boolean dueByBytes(long everyBytes) {
        return everyBytes > 0 && bytesSince.get() >= Math.max(everyBytes, lastSize);
    }

    /** Waits for a checkpoint in progress (not interruptibly), then takes the turn. */
    void takeTurn() {
        boolean interrupted = false;
        synchronized (turns) {
            while (checkpointing) {
                try {
                    turns.wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            checkpointing = true;
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Takes the turn if no checkpoint is in progress. */
    boolean tryTakeTurn() {
        synchronized (turns) {
            if (checkpointing) {
                return false;
            }
            checkpointing = true;
            return true;
        }
    }

    void releaseTurn() {
        synchronized (turns) {
            checkpointing = false;
            turns.notifyAll();
        }
    }

    /**
     * When the next timed checkpoint falls due, on the {@link System#nanoTime()} scale;
     * {@link Long#MAX_VALUE} for none. An interval too long for a long of nanoseconds (about 292
     * years) is taken as a century: {@code Duration.toNanos} would throw on the follower thread.
     */
    static long nextDue(long now, Duration interval) {
        if (interval.isZero()) {
            return Long.MAX_VALUE;
        }
        long nanos = interval.compareTo(CENTURY) > 0 ? CENTURY.toNanos() : interval.toNanos();
        return now + nanos;
    }

    /**
     * Writes the snapshot of the map at the offset after the last record the follower applied (every
     * record below it is in the map); the caller holds the turn. Does nothing if the newest snapshot
     * is at that offset already.
     */
    void write(String why) {
        RecordMark below = lastFollowed;
        if (below == null || below.offset() + 1 == lastOffset) {
            return;
        }
        long offset = below.offset() + 1;
        long started = System.nanoTime();
        Map<String, ValueMap.Entry> forgotten = Map.of();
        boolean written = false;
        try {
            bytesSince.set(0);
            // Forgotten in memory before the snapshot is written, so the map a restart loads from it
            // equals the one this store goes on with (a record applied meanwhile stays in both).
            forgotten = map.forgetTombstones(System.currentTimeMillis() - tombstoneRetentionMillis, offset);
            // Every record whose value the snapshot holds must survive whatever the snapshot survives:
            // those below the offset, and those that puts and the follower applied while the map was
            // being written (each was in the queue before it was in the map). So the queue is flushed
            // to its tail after the map is written and before the snapshot takes its name; flushing
            // only up to the offset, first, let a power loss keep a snapshot holding lost records.
            long size = snapshots.write(snapshots.fileFor(offset), offset, below, map, queue::flush);
            written = true;
            lastOffset = offset;
            lastSize = size;
            long holdAt = keepAndHold(offset);
            LOG.debug("LatestValues '{}': checkpoint ({}) at offset {}, {} bytes, {} ms, {} tombstones forgotten;"
                    + " arenas held from {}", name, why, offset, size, (System.nanoTime() - started) / 1_000_000,
                    forgotten.size(), holdAt);
        } catch (IOException e) {
            throw new UncheckedIOException("LatestValues '" + name + "' of " + queue.directory()
                    + ": checkpoint at offset " + offset + " failed (the previous snapshots stay): " + e.getMessage(),
                    e);
        } finally {
            if (!written) {
                // The previous snapshot, which a restart would load, still holds them.
                map.restore(forgotten);
            }
        }
    }

    /**
     * Moves the hold to the oldest of the {@code keep} newest snapshots at or below {@code offset}
     * that the queue still has the records after, then deletes the older ones; returns the hold's
     * offset. A snapshot below {@code earliestOffset()} (retention overtook it) can never be loaded
     * and the hold cannot be moved there, so it is neither kept nor counted; one past {@code offset}
     * (only a lost tail leaves one) is renamed {@code .bad}.
     */
    private long keepAndHold(long offset) throws IOException {
        for (int attempt = 0; ; attempt++) {
            List<Path> files = snapshots.list();
            long earliest = queue.earliestOffset();
            long holdAt = offset;
            int kept = 0;
            for (Path p : files) {
                long o = snapshots.offsetOf(p);
                if (o > offset) {
                    snapshots.setAside(p, "its offset is past the checkpoint's " + offset);
                } else if (o >= earliest && kept < keep) {
                    kept++;
                    holdAt = o;
                }
            }
            try {
                hold.seek(holdAt);
            } catch (IllegalArgumentException collected) {
                // Retention may pass the older snapshot between earliestOffset() and the seek: choose again.
                if (attempt > 0 || queue.earliestOffset() <= holdAt) {
                    throw collected;
                }
                continue;
            }
            for (Path p : files) {
                if (snapshots.offsetOf(p) < holdAt) {
                    Files.deleteIfExists(p);
                }
            }
            return holdAt;
        }
    }
}
