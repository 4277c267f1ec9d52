package dev.bigqueue.internal;

import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes arena files that every consumer has read past: the queue's own consumer and every named
 * consumer persisted in {@code consumers/}, whether or not it is open in this run (its file is
 * read on each pass, never cached, so consumers that read-only opens in other processes created or
 * moved are honoured by the next pass; such moves and a pass exclude each other through
 * {@link GcFence}). An arena is deleted only when the lowest committed position is at or after
 * the first byte of the next arena, and never the arena where the last record starts, except in
 * a pass the writer runs under its lock once every consumer has read up to the tail
 * ({@link #collectForRoom}). Also the {@code DROP_OLDEST} policy's tool:
 * {@link #dropOldest} deletes the oldest arena regardless of consumers, and records that it did.
 *
 * <p><b>Order on disk.</b> Before any file goes, every consumer file is synced (a commit read from
 * the page cache is not yet one a power loss keeps), then the new start (the earliest record kept)
 * is written to {@code queue.meta} and synced, and, for a drop by rule, the drop mark with it; then
 * the earliest record is published in memory; then the arenas are deleted, lowest first, and the
 * directory synced. A crash in between leaves arenas below the start, which the next open
 * deletes; never a start that points into a deleted arena. A consumer found before the start is
 * therefore explained by the drop mark, or it is damage.
 *
 * <p>With {@code arenaPool}, "deleted" below means handed to the {@link ArenaPool} (renamed to a
 * pool file) while it has room, by {@link ArenaManager#delete}; the order on disk is the same.
 *
 * <p><b>Threads.</b> Every pass holds {@link #passLock()}. A pass waits only for reads in progress
 * on an arena it deletes (pins are short); it takes no other lock, and only tries the
 * {@link GcFence}: a pass that finds a read-only open holding it is skipped, and says so to the
 * writer ({@link Pass#FENCED}), which then waits for that step to end without its locks and looks
 * again (DiskSpace).
 */
public final class GarbageCollector {
    private static final Logger LOG = LoggerFactory.getLogger(GarbageCollector.class);
    private final RecordLog log;
    private final Index index;
    private final LongSupplier ownHeadPosition;
    private final boolean headFollowsStart;
    private final Object lock = new Object();
    /**
     * The unreadable consumer file the last pass warned of, or null: one WARN per problem, not one
     * per pass (a BLOCK writer at the cap runs a pass every few milliseconds). Under {@link #lock}.
     */
    private String unreadableWarned;
    /** Consumer files whose name breaks the naming rule, warned of (under {@link #lock}). */
    private final Set<String> misnamedWarned = new HashSet<>();
    private volatile long collected;
    /** Retention in ms; 0 = off. */
    private final long retentionMillis;
    private final TimeIndex timeIndex;
    private final java.util.function.LongSupplier clock;

    /**
     * @param ownHeadPosition the queue's own consumer's committed position, or MAX_VALUE when it
     *     is off; then the head slot belongs to this collector, which keeps it at the start.
     */
    GarbageCollector(RecordLog log, Index index, LongSupplier ownHeadPosition, boolean ownConsumer,
            TimeIndex timeIndex, java.time.Duration retention, LongSupplier clock) {
        this.timeIndex = timeIndex;
        this.retentionMillis = retention.isZero() ? 0 : Math.max(1, saturatedMillis(retention));
        this.clock = clock;
        this.log = log;
        this.index = index;
        this.ownHeadPosition = ownHeadPosition;
        this.headFollowsStart = !ownConsumer;
    }

    /** What kept a pass the writer runs for room from freeing what it otherwise might have. */
    enum Pass {
        /** The pass ran: it freed whatever every consumer had passed, perhaps nothing. */
        RAN,
        /**
         * Skipped: a read-only open holds the {@link GcFence} for a short step (creating or moving
         * back a consumer). A pass once that step ends may free room.
         */
        FENCED,
        /**
         * Nothing can be freed until a consumer is created: there is none at all (the queue's own
         * consumer is off, no named consumer is persisted) and no retention.
         */
        NO_CONSUMER
    }

    /** {@link #pass} result: skipped, a read-only open holds the fence. */
    private static final int SKIPPED_FENCED = -1;
    /** {@link #pass} result: no consumer at all and no retention, so nothing to free. */
    private static final int NO_CONSUMER = -2;

    /**
     * One pass (the background collector, {@code gc()}); skipped while a read-only open holds the
     * fence, the next pass collects.
     *
     * @return how many arena files were deleted.
     */
    public int collect() throws IOException {
        return Math.max(0, pass(null));
    }

    /**
     * One pass by the writer, which needs room (for an arena under {@code maxDiskBytes}, or on a
     * full disk) and holds its lock, so that the tail cannot move meanwhile. Once every consumer has
     * read up to the tail, the pass keeps only from the tail's arena, with the tail as the start:
     * the arena where the last record starts is not kept then. That arena is kept otherwise so that
     * the earliest record never has to be read from a tail a concurrent append is moving; but after
     * a record that spans arenas it is the one before the tail's, and with a cap of two arenas
     * keeping both would leave no room ever again.
     *
     * @param exactTail the tail.
     * @return whether the pass ran; the caller counts the arena files to see what it freed (a
     *     background pass may have freed some meanwhile too).
     */
    Pass collectForRoom(StreamPoint exactTail) throws IOException {
        int result = pass(exactTail);
        return result == SKIPPED_FENCED ? Pass.FENCED : result == NO_CONSUMER ? Pass.NO_CONSUMER : Pass.RAN;
    }

    /**
     * One pass.
     *
     * @param exactTail the tail, or null when the caller does not hold the writer lock.
     * @return how many arena files were deleted, or {@link #SKIPPED_FENCED} or {@link #NO_CONSUMER}.
     */
    private int pass(StreamPoint exactTail) throws IOException {
        synchronized (lock) {
            log.checkOpen();
            // Read-only opens in other processes move consumers under this fence (GcFence).
            try (GcFence fence = GcFence.tryHold(log.directory())) {
                if (fence == null) {
                    LOG.debug("queue {}: collection pass skipped: a read-only open in another process is creating"
                            + " or moving back a consumer", log.directory());
                    return SKIPPED_FENCED;
                }
                return collectFenced(exactTail);
            }
        }
    }

    /**
     * A consumer file whose name breaks the naming rule (a user's copy, {@code billing copy.consumer})
     * is counted like any other (its position may be what keeps someone's records), but no consumer
     * can open, list or delete it: without a word it would hold its arenas for ever. One WARN per
     * file, again if it comes back after being removed.
     */
    private void warnOfMisnamed(Map<String, long[]> consumers) {
        misnamedWarned.retainAll(consumers.keySet());
        for (Map.Entry<String, long[]> c : consumers.entrySet()) {
            String name = c.getKey();
            if (!ConsumerFile.VALID_NAME.matcher(name).matches() && misnamedWarned.add(name)) {
                LOG.warn("queue {}: consumer file {} keeps every arena from offset {} on, but its name breaks the"
                        + " consumer naming rule (1..200 ASCII letters, digits, '.', '_' and '-', starting with a"
                        + " letter or digit): no consumer can open, list or delete it (a copy of a consumer file?)."
                        + " Delete the file if it is not needed, or rename it to a valid name ending in {} to use it"
                        + " as a consumer (said once per file)", log.directory(),
                        log.directory().resolve(FileFormat.CONSUMERS_DIR).resolve(name + FileFormat.CONSUMER_SUFFIX),
                        c.getValue()[0], FileFormat.CONSUMER_SUFFIX);
            }
        }
    }

    /** One pass, under the pass lock and the fence. */
    private int collectFenced(StreamPoint exactTail) throws IOException {
        {
            long min = ownHeadPosition.getAsLong();
            try {
                Map<String, long[]> consumers = ConsumerFile.readAll(log.directory().resolve(FileFormat.CONSUMERS_DIR));
                for (Map.Entry<String, long[]> c : consumers.entrySet()) {
                    min = Math.min(min, c.getValue()[1]);
                }
                warnOfMisnamed(consumers);
            } catch (QueueCorruptedException e) {
                if (!e.getMessage().equals(unreadableWarned)) {
                    unreadableWarned = e.getMessage();
                    LOG.warn("queue {}: arena garbage collection skipped: a consumer's position is unreadable, so every"
                            + " arena is kept until it is mended (said once, while it lasts). {}", log.directory(),
                            e.getMessage());
                } else {
                    LOG.debug("queue {}: arena garbage collection skipped again: {}", log.directory(), e.getMessage());
                }
                return 0;
            }
            unreadableWarned = null;
            if (min == Long.MAX_VALUE && retentionMillis == 0) {
                return NO_CONSUMER; // ownConsumer off, no named ones: nobody has read anything
            }
            ArenaManager arenas = log.arenas();
            if (exactTail != null && min != Long.MAX_VALUE && min >= exactTail.position()) {
                return collectUpToTail(exactTail);
            }
            // Keep the arena where the last record starts: the earliest record then always starts in
            // an arena on disk, so it never has to be read from a tail a concurrent append is moving.
            long lastStart = -1;
            // From the tail's arena, or the last one on disk when the tail is at the start of one
            // not made yet (an arena boundary).
            long from = Math.min(log.arenaOf(log.tailPosition()), arenas.highestId());
            for (long id = from; id >= 0 && arenas.exists(id); id--) {
                if (arenas.firstRecord(id) != null) {
                    lastStart = id;
                    break;
                }
            }
            long firstKept = -1;
            for (long id : arenas.ids()) {
                if (min == Long.MAX_VALUE || id >= lastStart || log.arenaStart(id + 1) > min) {
                    break;
                }
                firstKept = id + 1;
            }
            long byRetention = retentionMillis == 0 || lastStart < 0 ? -1 : expiredBelow(lastStart);
            boolean byRule = byRetention > firstKept;
            if (byRule) {
                firstKept = byRetention;
            }
            if (firstKept < 0) {
                return 0;
            }
            long before = log.earliestOffset();
            // lastStart >= firstKept has a first record, so there is one.
            StreamPoint start = arenas.earliestRecordFrom(firstKept);
            int deleted = deleteBelow(firstKept, start, byRule);
            collected += deleted;
            if (byRule) {
                LOG.info("queue {}: retention {} ms deleted {} arena file(s), offsets {}..{}, including messages not"
                        + " every consumer had read", log.directory(), retentionMillis, deleted, before,
                        start.offset() - 1);
            } else {
                LOG.debug("deleted {} consumed arena file(s) in {}", deleted, log.directory());
            }
            return deleted;
        }
    }

    /**
     * Every consumer has read up to {@code tail}, which cannot move: deletes every arena below the
     * tail's, the start becoming the tail (as {@link #dropOldest} does, but nobody misses a record,
     * so no drop mark). The tail's arena is kept, and any made ahead of it, whether or not a record
     * starts there yet; when the tail is at an arena boundary its arena may not exist yet, and the
     * start then points at the first byte of the arena the writer creates next. A consumer
     * committed exactly at the tail resumes there; one made later starts there; a read-only open
     * finds the start in queue.meta, written and synced before any arena goes (deleteBelow).
     */
    private int collectUpToTail(StreamPoint tail) throws IOException {
        long firstKept = log.arenaOf(tail.position());
        long lowest = log.arenas().lowestId();
        if (lowest < 0 || lowest >= firstKept) {
            return 0;
        }
        int deleted = deleteBelow(firstKept, tail, false);
        collected += deleted;
        LOG.debug("deleted {} consumed arena file(s) in {}, every consumer being at the tail {}", deleted,
                log.directory(), tail);
        return deleted;
    }

    /**
     * Deletes the oldest arena even if consumers have not read it (DROP_OLDEST). Never the arena
     * the tail is in.
     *
     * @param tail the exact tail (the caller is the writer, under its lock).
     * @return how many messages became unreachable, or -1 if there was nothing to drop.
     */
    long dropOldest(StreamPoint tail) throws IOException {
        synchronized (lock) {
            ArenaManager arenas = log.arenas();
            long id = arenas.lowestId();
            if (id < 0 || id >= log.arenaOf(tail.position())) {
                return -1;
            }
            long before = log.earliestOffset();
            StreamPoint next = arenas.earliestRecordFrom(id + 1);
            StreamPoint start = next == null || next.position() >= tail.position() ? tail : next;
            deleteBelow(id + 1, start, true);
            return start.offset() - before;
        }
    }

    /**
     * The lowest arena to keep under the retention rule: arenas below it hold only messages older
     * than the retention. An arena's newest message is judged by the time-index entry of the first
     * record of a later arena (the largest timestamp so far there covers every record before it),
     * and when that is too recent, by the records before that first record, so an arena goes only
     * once a later one has started and everything before that is expired.
     * Never at or past {@code lastStart}, the arena of the last record start.
     */
    private long expiredBelow(long lastStart) throws IOException {
        long horizon = clock.getAsLong() - retentionMillis;
        ArenaManager arenas = log.arenas();
        StreamPoint earliest = log.earliest();
        long tailOffset = log.tailOffset();
        long tailPosition = log.tailPosition();
        long keep = -1;
        for (long id : arenas.ids()) {
            if (id >= lastStart) {
                break;
            }
            TimeIndex.Entry next = null;
            for (long n = id + 1; n <= lastStart && next == null; n++) {
                next = timeIndex.firstEntry(n, earliest, tailOffset, tailPosition);
            }
            if (next == null) {
                break;
            }
            // next.maxTimestamp covers every record before it, its own included: when it is recent
            // it may be that first record alone (old messages, then live ones), so look at the
            // records before it (from the last index entry before it, at most one 64 KiB chunk).
            if (next.maxTimestamp() >= horizon
                    && !timeIndex.allBefore(horizon, earliest, new StreamPoint(next.offset(), next.position()))) {
                break;
            }
            keep = id + 1;
        }
        return keep;
    }

    private static long saturatedMillis(java.time.Duration d) {
        try {
            return d.toMillis();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 2;
        }
    }

    /** Persists the new start, publishes it, then deletes every arena below {@code firstKept}; under the lock. */
    private int deleteBelow(long firstKept, StreamPoint start, boolean dropByRule) throws IOException {
        if (!dropByRule) {
            // The arenas go because every consumer committed past them; after a power loss a consumer
            // resumes at its last durable commit, which must not be in a deleted arena. So the commits
            // read above are made durable first (the own consumer's is in queue.meta, synced below).
            // Without this, LazyFS left half the collected queues with a consumer behind the start.
            ConsumerFile.syncAll(log.directory().resolve(FileFormat.CONSUMERS_DIR));
        }
        index.writeStart(start);
        if (dropByRule) {
            index.writeDropped(start);
        }
        if (headFollowsStart) {
            index.commitHead(start.offset(), start.position());
        }
        // On disk before any file goes: a crash must never leave a start that points into a deleted arena.
        index.force();
        if (dropByRule) {
            log.setDropped(start);
        }
        log.setEarliest(start);
        int deleted = 0;
        for (long id : log.arenas().ids()) {
            if (id >= firstKept) {
                break;
            }
            log.arenas().delete(id);
            deleted++;
        }
        // Deletions are durable only once the directory is.
        NativeIO.syncDirectory(log.directory());
        return deleted;
    }

    /**
     * The lock every pass holds. Whoever creates a consumer file, or moves a consumer back, holds
     * it while checking that the target is still on disk and committing: a pass that read the
     * positions before could otherwise delete the arena the consumer now needs. Do not read
     * arenas while holding it (a read may wait for a mapping slot, whose holder may be the writer,
     * which may be waiting for this lock).
     */
    public Object passLock() {
        return lock;
    }

    /** Arena files deleted by {@link #collect()} since open. */
    public long collectedSinceOpen() {
        return collected;
    }
}
