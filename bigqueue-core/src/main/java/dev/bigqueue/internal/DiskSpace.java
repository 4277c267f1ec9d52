package dev.bigqueue.internal;

import dev.bigqueue.QueueFullException;
import dev.bigqueue.WhenFull;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the arenas a record needs before any byte of it is written, keeping the arena files
 * within {@code maxDiskBytes} by the {@link WhenFull} policy.
 */
final class DiskSpace {
    private static final Logger LOG = LoggerFactory.getLogger(DiskSpace.class);
    static final long BLOCK_POLL_NS = TimeUnit.MILLISECONDS.toNanos(5);
    private final long arenaSize;
    private final long maxArenas;
    private final WhenFull whenFull;
    private GarbageCollector gc;

    DiskSpace(long arenaSize, long maxDiskBytes, WhenFull whenFull) {
        this.arenaSize = arenaSize;
        this.maxArenas = maxDiskBytes == 0 ? 0 : maxDiskBytes / arenaSize;
        this.whenFull = whenFull;
    }

    void setCollector(GarbageCollector collector) {
        this.gc = collector;
    }

    /**
     * Called under the writer lock before a record of {@code recordBytes} is written at
     * {@code position}.
     *
     * @return false if the queue is full and the policy is BLOCK: release the lock, wait, retry.
     */
    boolean ensureArenas(RecordLog log, long position, long recordBytes) {
        long first = log.arenaOf(position);
        long last = log.arenaOf(position + recordBytes - 1);
        ArenaManager arenas = log.arenas();
        if (arenas.exists(last) && arenas.exists(first)) {
            return true;
        }
        // Under the creation lock: the pretoucher creates arenas ahead under it, checking the cap,
        // and must not slip one in between the room made here and the arena created for it.
        synchronized (arenas.createLock()) {
            return makeRoomAndCreate(log, arenas, first, last, recordBytes);
        }
    }

    private boolean makeRoomAndCreate(RecordLog log, ArenaManager arenas, long first, long last, long recordBytes) {
        long missing = 0;
        for (long id = first; id <= last; id++) {
            if (!arenas.exists(id)) {
                missing++;
            }
        }
        try {
            if (maxArenas > 0) {
                if (last - first + 1 > maxArenas) {
                    throw new IllegalArgumentException("a message of " + (recordBytes - FileFormat.RECORD_HEADER_SIZE)
                            + " bytes needs " + (last - first + 1) + " arenas of " + arenaSize
                            + " bytes, more than maxDiskBytes allows (" + maxArenas + " arenas); raise maxDiskBytes"
                            + " or arenaSize, or send smaller messages");
                }
                if (!makeRoom(log, missing)) {
                    return false;
                }
            }
            for (long id = first; id <= last; id++) {
                if (!arenas.exists(id)) {
                    arenas.create(id);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        log.refreshEarliest();
        return true;
    }

    /** Frees arenas by the policy; false if BLOCK must wait for consumers. */
    private boolean makeRoom(RecordLog log, long missing) throws IOException {
        ArenaManager arenas = log.arenas();
        while (arenas.count() + missing > maxArenas) {
            if (gc.collect() > 0) {
                continue;
            }
            switch (whenFull) {
                case FAIL:
                    throw new QueueFullException("queue " + log.directory().toAbsolutePath() + " is full: its "
                            + arenas.count() + " arena files reach maxDiskBytes (" + maxArenas * arenaSize
                            + " bytes) and no consumer has read past the oldest; nothing was written. Consume"
                            + " messages, raise maxDiskBytes, or choose whenFull BLOCK or DROP_OLDEST");
                case DROP_OLDEST:
                    long dropped = gc.dropOldest();
                    if (dropped < 0) {
                        throw new IllegalStateException("cannot make room in " + log.directory()
                                + ": no arena left to drop");
                    }
                    LOG.warn("queue {} reached maxDiskBytes ({} bytes): dropped the oldest arena, {} unread"
                            + " message(s) for consumers behind it; earliest offset is now {}",
                            log.directory(), maxArenas * arenaSize, dropped, log.earliestOffset());
                    break;
                case BLOCK:
                default:
                    return false;
            }
        }
        return true;
    }
}
