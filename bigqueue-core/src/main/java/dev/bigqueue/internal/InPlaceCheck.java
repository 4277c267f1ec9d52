package dev.bigqueue.internal;

import java.util.zip.CRC32C;

/**
 * A record's checksum computed over the mapped bytes themselves, without copying them: for a
 * record whose length field asks for a large part of the heap. A damaged length is just a number:
 * read before the checksum can say it is wrong, it made a reader allocate that much (up to 2 GiB)
 * and an open on a small heap fail with {@code OutOfMemoryError} instead of cutting the tail. So
 * a record longer than {@link #threshold()} is checked here first, and allocated for only if it
 * holds.
 *
 * <p>Threads: static and stateless; the caller passes its own {@link CRC32C}. Pins one arena at a
 * time, only while it reads that arena's bytes, and waits for nothing while pinned.
 */
final class InPlaceCheck {
    /**
     * Lengths above this, an eighth of the largest heap the JVM may have, are checked in place
     * before anything is allocated for them. A constant: the read path compares every length with it.
     */
    private static final long THRESHOLD = Runtime.getRuntime().maxMemory() / 8;

    private InPlaceCheck() {
    }

    static long threshold() {
        return THRESHOLD;
    }

    /**
     * Whether the record of {@code offset} at stream {@code position}, whose header says
     * {@code length} and {@code stored}, holds its checksum over its stamp and payload as they
     * are mapped now. False too if an arena it needs is not on disk (the caller tells missing from
     * damaged as it does for a copy).
     */
    static boolean matches(RecordLog log, CRC32C crc, long position, int length, long offset, int stored) {
        ArenaManager arenas = log.arenas();
        long covered = FileFormat.RECORD_HEADER_SIZE - FileFormat.RECORD_STAMP_OFFSET + (long) length;
        long p = position + FileFormat.RECORD_STAMP_OFFSET;
        crc.reset();
        while (covered > 0) {
            Arena a = arenas.acquire(log.arenaOf(p));
            if (a == null) {
                return false;
            }
            try {
                int at = log.indexInArena(p);
                int n = (int) Math.min(covered, log.arenaEnd() - at);
                crc.update(a.buffer().slice(at, n));
                covered -= n;
                p += n;
            } finally {
                arenas.release(a);
            }
        }
        return RecordFormat.storedChecksum((int) crc.getValue(), offset, length) == stored;
    }
}
