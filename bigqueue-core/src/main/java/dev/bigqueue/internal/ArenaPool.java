package dev.bigqueue.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consumed arena files kept for reuse ({@code arenaPool}): instead of deleting an arena every
 * consumer has passed, the collector renames it to a pool file ({@link FileFormat#poolFileName});
 * the next arena to be made takes the most recently pooled one (the likeliest to be resident in
 * the page cache) instead of reserving a new file. At most {@code capacity} files are kept.
 *
 * <p><b>A reused file never shows its old records as new.</b> {@link #takeAs} writes the new
 * header, zeros over the first-record slot, the time index and the first record's length and
 * checksum, and syncs that under the pool name; only then is the file renamed to its arena name
 * and the directory synced. So a file under an arena name always has its own header, and a kill
 * at any step leaves either a pool file (reused or deleted by the next open, whatever its bytes)
 * or a whole new arena. The old records further in are kept from the reader by the appender, which
 * zeroes the length and checksum after each record before it writes the record's header (see
 * {@link FileFormat}, "Reuse of a pooled file"), and, behind a page a power loss lost, by the
 * commit rule: a record's checksum is salted with its own offset, and every old record has a
 * smaller offset than any the new arena holds.
 *
 * <p><b>Threads.</b> {@link #offer} runs on whoever deletes an arena (a collection pass, recovery at
 * open), after the {@link ArenaManager} retired its mapping; {@link #takeAs} and {@link #trimTo}
 * under the ArenaManager's creation lock. The list of pooled files is guarded by this object's
 * monitor, held only to change the list, never across file I/O; a file taken off the list (or
 * being added) belongs to that one thread until it is an arena or on the list. Nothing here waits
 * for another thread. A pool file is mapped only by {@link #takeAs}, its header pages only, by the
 * taking thread, and unmapped before the file is renamed: never counted as an arena mapping.
 */
final class ArenaPool {
    private static final Logger LOG = LoggerFactory.getLogger(ArenaPool.class);

    private final Path dir;
    private final long arenaSize;
    private final int capacity;
    /** Ids of the arenas the pooled files last were, oldest pooled first; guarded by this. */
    private final ArrayDeque<Long> pooled = new ArrayDeque<>();
    /** Offers between their check of the capacity and their rename; guarded by this. */
    private int offering;
    /** A file taken off the list and not yet renamed to its arena name (0 or 1); guarded by this. */
    private int taking;
    private final AtomicLong reused = new AtomicLong();

    private ArenaPool(Path dir, long arenaSize, int capacity) {
        this.dir = dir;
        this.arenaSize = arenaSize;
        this.capacity = capacity;
    }

    /**
     * The pool of a queue being opened, with the pool files found in its directory: those of the
     * wrong size or kind are deleted with a WARN, those beyond {@code capacity} (a smaller
     * {@code arenaPool} than the last open's) deleted. Never fails the open for a pool file.
     */
    static ArenaPool open(Path dir, long arenaSize, int capacity, List<Path> found) throws IOException {
        ArenaPool pool = new ArenaPool(dir, arenaSize, capacity);
        boolean deleted = false;
        for (Path file : found) {
            long lastId = FileFormat.poolIdOf(file.getFileName().toString());
            String problem = Files.isRegularFile(file) ? null : "not a regular file";
            if (problem == null && Files.size(file) != arenaSize) {
                problem = "it is " + Files.size(file) + " bytes, the queue's arenaSize is " + arenaSize;
            }
            if (problem != null) {
                LOG.warn("queue {}: deleting pool file '{}': {}", dir, file.getFileName(), problem);
            } else if (pool.pooled.size() < capacity) {
                pool.pooled.addLast(lastId);
                continue;
            }
            pool.deleteQuietly(file);
            deleted = true;
        }
        if (deleted) {
            NativeIO.syncDirectory(dir);
        }
        return pool;
    }

    /** Pooled files on disk now, one being reused included: they count against maxDiskBytes. */
    synchronized int size() {
        return pooled.size() + taking;
    }

    /** Files reused as arenas since open. */
    long reusedSinceOpen() {
        return reused.get();
    }

    /**
     * Keeps arena {@code id}'s file for reuse if there is room: renames it to a pool file. The
     * caller syncs the directory (a collection pass does once for all the files it frees), has
     * removed the arena from the registry and retired its mapping.
     *
     * @return false if the pool is full or the file is gone: then the caller deletes it.
     */
    boolean offer(long id) throws IOException {
        synchronized (this) {
            if (pooled.size() + offering + taking >= capacity) {
                return false;
            }
            offering++;
        }
        boolean kept = false;
        try {
            Files.move(FileFormat.arenaFile(dir, id), dir.resolve(FileFormat.poolFileName(id)),
                    StandardCopyOption.ATOMIC_MOVE);
            kept = true;
        } catch (NoSuchFileException gone) {
            return false;
        } finally {
            synchronized (this) {
                offering--;
                if (kept) {
                    pooled.addLast(id);
                }
            }
        }
        return true;
    }

    /**
     * Makes the most recently pooled file arena {@code id}: new header and zeros synced, renamed,
     * directory synced. A pooled file that fails on the way is deleted with a WARN.
     *
     * @return false if the pool was empty or the reuse failed: then the caller makes a new file.
     */
    boolean takeAs(long id) throws IOException {
        Long lastId;
        synchronized (this) {
            lastId = pooled.pollLast();
            if (lastId == null) {
                return false;
            }
            taking++;
        }
        Path file = dir.resolve(FileFormat.poolFileName(lastId));
        try {
            // Its blocks were reserved when it was made, unless it was copied in sparse.
            NativeIO.allocateHoles(file, arenaSize);
            reHead(file, id);
            // The header is on disk before the name is: an arena name never shows the old header.
            Files.move(file, FileFormat.arenaFile(dir, id), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.warn("queue {}: cannot reuse pool file '{}' as {} ({}); deleting it and making a new file", dir,
                    file.getFileName(), FileFormat.arenaFileName(id), e.toString());
            deleteQuietly(file);
            return false;
        } finally {
            synchronized (this) {
                taking--;
            }
        }
        NativeIO.syncDirectory(dir);
        reused.incrementAndGet();
        return true;
    }

    /** Deletes pooled files, oldest first, until at most {@code n} are left (maxDiskBytes). */
    void trimTo(int n) throws IOException {
        boolean deleted = false;
        for (;;) {
            Long lastId;
            synchronized (this) {
                if (pooled.size() <= Math.max(0, n)) {
                    break;
                }
                lastId = pooled.pollFirst();
            }
            deleteQuietly(dir.resolve(FileFormat.poolFileName(lastId)));
            deleted = true;
        }
        if (deleted) {
            NativeIO.syncDirectory(dir);
        }
    }

    /**
     * Writes the new header and zeros through a mapping of the header's pages only, and syncs just
     * that range: the rest of the file may hold the old arena's dirty pages, and syncing them here
     * (FileChannel.force) would write up to arenaSize bytes in the writer's path for nothing, as the
     * new records overwrite them.
     */
    private void reHead(Path file, long id) throws IOException {
        ByteBuffer header = ArenaHeader.reuse(id, arenaSize, 0);
        int length = header.remaining();
        Mapping m = Mapping.mapHead(file, size -> {
            if (size != arenaSize) {
                throw new IOException("it is " + size + " bytes, expected " + arenaSize);
            }
        }, length);
        try {
            ByteBuffer b = m.buffer();
            int reuses = b.getLong(0) == FileFormat.ARENA_MAGIC ? ArenaHeader.reuses(b) + 1 : 1;
            header.putInt(FileFormat.ARENA_REUSES_OFFSET, reuses);
            b.put(0, header, 0, length);
            m.force(0, length);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        } finally {
            m.discard();
        }
    }

    private void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("queue {}: cannot delete pool file '{}': {}", dir, file.getFileName(), e.toString());
        }
    }
}
