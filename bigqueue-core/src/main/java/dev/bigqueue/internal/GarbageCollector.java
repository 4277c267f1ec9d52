package dev.bigqueue.internal;

import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes arena files that every consumer has read past: the queue's own consumer and every named
 * consumer persisted in {@code consumers/}, whether or not it is open in this run (its file is
 * read on each pass, never cached, so consumers that read-only opens in other processes created or
 * moved are honoured by the next pass; such moves and a pass exclude each other through
 * {@link GcFence}). An arena is deleted only when the lowest committed position is at or after
 * the first byte of the next arena. Also the {@code DROP_OLDEST} policy's tool:
 * {@link #dropOldest} deletes the oldest arena regardless of consumers, and records that it did.
 *
 * <p><b>Order on disk.</b> Before any file goes, the new start (the earliest record kept) is
 * written to {@code queue.meta} and synced, and, for a drop by rule, the drop mark with it; then
 * the earliest record is published in memory; then the arenas are deleted, lowest first, and the
 * directory synced. A crash in between leaves arenas below the start, which the next open
 * deletes; never a start that points into a deleted arena. A consumer found before the start is
 * therefore explained by the drop mark, or it is damage.
 *
 * <p><b>Threads.</b> Every pass holds {@link #passLock()}. A pass waits only for reads in progress
 * on an arena it deletes (pins are short); it takes no other lock.
 */
public final class GarbageCollector {
    private static final Logger LOG = LoggerFactory.getLogger(GarbageCollector.class);
    private final RecordLog log;
    private final Index index;
    private final LongSupplier ownHeadPosition;
    private final boolean headFollowsStart;
    private final Object lock = new Object();
    private volatile long collected;

    /**
     * @param ownHeadPosition the queue's own consumer's committed position, or MAX_VALUE when it
     *     is off; then the head slot belongs to this collector, which keeps it at the start.
     */
    GarbageCollector(RecordLog log, Index index, LongSupplier ownHeadPosition, boolean ownConsumer) {
        this.log = log;
        this.index = index;
        this.ownHeadPosition = ownHeadPosition;
        this.headFollowsStart = !ownConsumer;
    }

    /**
     * One pass.
     *
     * @return how many arena files were deleted.
     */
    public int collect() throws IOException {
        synchronized (lock) {
            log.checkOpen();
            // Read-only opens in other processes move consumers under this fence (GcFence).
            try (GcFence fence = GcFence.tryHold(log.directory())) {
                if (fence == null) {
                    LOG.debug("queue {}: collection pass skipped: a read-only open in another process is creating"
                            + " or moving back a consumer; the next pass collects", log.directory());
                    return 0;
                }
                return collectFenced();
            }
        }
    }

    /** One pass, under the pass lock and the fence. */
    private int collectFenced() throws IOException {
        {
            long min = ownHeadPosition.getAsLong();
            try {
                for (Map.Entry<String, long[]> c
                        : ConsumerFile.readAll(log.directory().resolve(FileFormat.CONSUMERS_DIR)).entrySet()) {
                    min = Math.min(min, c.getValue()[1]);
                }
            } catch (QueueCorruptedException e) {
                LOG.warn("queue {}: arena garbage collection skipped: a consumer's position is unreadable, so every"
                        + " arena is kept. {}", log.directory(), e.getMessage());
                return 0;
            }
            if (min == Long.MAX_VALUE) {
                return 0; // no consumer at all (ownConsumer off, no named ones): nobody has read anything
            }
            ArenaManager arenas = log.arenas();
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
                if (id >= lastStart || log.arenaStart(id + 1) > min) {
                    break;
                }
                firstKept = id + 1;
            }
            if (firstKept < 0) {
                return 0;
            }
            // lastStart >= firstKept has a first record, so there is one.
            int deleted = deleteBelow(firstKept, arenas.earliestRecordFrom(firstKept), false);
            collected += deleted;
            LOG.debug("deleted {} consumed arena file(s) in {}", deleted, log.directory());
            return deleted;
        }
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

    /** Persists the new start, publishes it, then deletes every arena below {@code firstKept}; under the lock. */
    private int deleteBelow(long firstKept, StreamPoint start, boolean dropByRule) throws IOException {
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
