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
 * read on each pass). An arena is deleted only when the lowest committed position is at or after
 * the first byte of the next arena, and only when nobody has it pinned.
 *
 * <p>Also the {@code DROP_OLDEST} policy's tool: {@link #dropOldest()} deletes the oldest arena
 * regardless of consumers.
 */
public final class GarbageCollector {
    private static final Logger LOG = LoggerFactory.getLogger(GarbageCollector.class);
    private final RecordLog log;
    private final LongSupplier ownHeadPosition;
    private final Object lock = new Object();
    private volatile long lastCollected;

    GarbageCollector(RecordLog log, LongSupplier ownHeadPosition) {
        this.log = log;
        this.ownHeadPosition = ownHeadPosition;
    }

    /**
     * One pass.
     *
     * @return how many arena files were deleted.
     */
    public int collect() throws IOException {
        synchronized (lock) {
            long min = ownHeadPosition.getAsLong();
            try {
                for (Map.Entry<String, long[]> c
                        : ConsumerFile.readAll(log.directory().resolve(FileFormat.CONSUMERS_DIR)).entrySet()) {
                    min = Math.min(min, c.getValue()[1]);
                }
            } catch (QueueCorruptedException e) {
                LOG.warn("arena garbage collection skipped: a consumer's position is unreadable, so every arena"
                        + " is kept. {}", e.getMessage());
                return 0;
            }
            if (min == Long.MAX_VALUE) {
                return 0; // no consumer at all (ownConsumer off, no named ones): nobody has read anything
            }
            ArenaManager arenas = log.arenas();
            long tailArena = log.arenaOf(log.tailPosition());
            // Keep the arena where the last record starts: the earliest record then always exists
            // on disk, and the earliest (offset, position) never has to be read from a tail that a
            // concurrent append is moving.
            long lastStart = -1;
            for (long id = tailArena; id >= 0 && arenas.exists(id); id--) {
                if (arenas.firstRecordPosition(id) >= 0) {
                    lastStart = id;
                    break;
                }
            }
            int deleted = 0;
            for (long id : arenas.ids()) {
                if (id >= lastStart || log.arenaStart(id + 1) > min) {
                    break;
                }
                if (!arenas.delete(id)) {
                    arenas.revokeLeases(); // an idle consumer may still lease it
                    if (!arenas.delete(id)) {
                        break; // pinned by a reader right now; the next pass gets it
                    }
                }
                deleted++;
            }
            if (deleted > 0) {
                finishDeletion();
                LOG.debug("deleted {} consumed arena file(s) in {}", deleted, log.directory());
            }
            lastCollected += deleted;
            return deleted;
        }
    }

    /**
     * Deletes the oldest arena even if consumers have not read it (DROP_OLDEST), waiting for a
     * reader's short pin if needed. Never the arena the writer is in.
     *
     * @return how many messages became unreachable, or -1 if there was nothing to drop.
     */
    long dropOldest() throws IOException {
        synchronized (lock) {
            ArenaManager arenas = log.arenas();
            long id = arenas.lowestId();
            if (id < 0 || id >= log.arenaOf(log.tailPosition())) {
                return -1;
            }
            long before = log.earliestOffset();
            while (!arenas.delete(id)) {
                arenas.revokeLeases();
                Thread.onSpinWait();
            }
            finishDeletion();
            return log.earliestOffset() - before;
        }
    }

    private void finishDeletion() throws IOException {
        log.refreshEarliest();
        // Deletions are durable only once the directory is.
        NativeIO.syncDirectory(log.directory());
    }

    /**
     * The lock every pass holds. Whoever creates a consumer file holds it while checking that the
     * new consumer's start is still on disk and creating the file: a pass that listed the consumer
     * files before the new one appeared could otherwise delete the arena the new consumer starts in.
     * Do not read arenas while holding it (a read may wait for a pin; the writer may wait for this).
     */
    public Object passLock() {
        return lock;
    }

    /** Arena files deleted by {@link #collect()} since open. */
    public long collectedSinceOpen() {
        return lastCollected;
    }
}
