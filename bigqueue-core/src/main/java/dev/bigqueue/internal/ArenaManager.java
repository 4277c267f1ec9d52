package dev.bigqueue.internal;

import dev.bigqueue.QueueClosedException;
import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Which arena files exist, which are mapped, and the {@code maxInMemoryArenas} cap: at no moment
 * are more than that many arenas mapped. When the cap is reached, the least recently used arena
 * that nobody has pinned is unmapped explicitly; if every mapped arena is pinned, the caller waits
 * for a pin to be released. Each thread pins at most one arena at a time, so a cap of 1 still
 * makes progress.
 *
 * <p>Also the sparse offset index: for each arena, the offset and position of the first record
 * that starts in it (persisted in the arena header), which lets a seek skip whole arenas.
 */
public final class ArenaManager {
    private final Path dir;
    private final long arenaSize;
    private final int cap;
    /** Arena files on disk, by id, with their first record (-1 if none starts there yet). */
    private final ConcurrentSkipListMap<Long, long[]> onDisk = new ConcurrentSkipListMap<>();
    /** First-record index: offset of the first record starting in an arena -> its position. */
    private final ConcurrentSkipListMap<Long, Long> firstRecords = new ConcurrentSkipListMap<>();
    private final Object createLock = new Object();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = lock.newCondition();
    private final Map<Long, Arena> mapped = new HashMap<>();
    private volatile int waiters;
    /** Asks the writer to give up its long-lived pin (see RecordLog's lease). */
    private Runnable leaseRevoker = () -> { };
    /** Ask the consumers to give up theirs (see ConsumerState). */
    private final java.util.List<Runnable> readLeaseRevokers = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean closed;
    private long clock;
    private int peakMapped;

    ArenaManager(Path dir, long arenaSize, int maxInMemoryArenas) {
        this.dir = dir;
        this.arenaSize = arenaSize;
        this.cap = maxInMemoryArenas;
    }

    /** Registers an arena file found on disk, reading its first-record slot without mapping it. */
    void register(long id) throws IOException {
        Path file = FileFormat.arenaFile(dir, id);
        long size = Files.size(file);
        if (size != arenaSize) {
            throw new QueueCorruptedException(file, size, "arena file is " + size + " bytes, expected " + arenaSize
                    + " (truncated, or written with another arenaSize)");
        }
        ByteBuffer header = ByteBuffer.allocate(FileFormat.ARENA_HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        Uninterruptible.run(() -> {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                while (header.hasRemaining() && ch.read(header, header.position()) > 0) {
                    // keep reading
                }
            }
        });
        if (header.getLong(0) != FileFormat.ARENA_MAGIC) {
            throw new QueueCorruptedException(file, 0, "not an arena file (bad magic)");
        }
        long[] first = {-1, -1};
        int slot = FileFormat.ARENA_FIRST_RECORD_SLOT;
        if (PositionSlots.validSequence(header, slot) > 0) {
            first[0] = header.getLong(slot + FileFormat.SLOT_OFFSET);
            first[1] = header.getLong(slot + FileFormat.SLOT_POSITION);
            firstRecords.put(first[0], first[1]);
        }
        onDisk.put(id, first);
    }

    void setLeaseRevoker(Runnable revoker) {
        this.leaseRevoker = revoker;
    }

    void addReadLeaseRevoker(Runnable revoker) {
        readLeaseRevokers.add(revoker);
    }

    void removeReadLeaseRevoker(Runnable revoker) {
        readLeaseRevokers.remove(revoker);
    }

    /** Asks every lease holder (writer and consumers) to release its long-lived pin. */
    void revokeLeases() {
        leaseRevoker.run();
        for (Runnable r : readLeaseRevokers) {
            r.run();
        }
    }

    public boolean exists(long id) {
        return onDisk.containsKey(id);
    }

    public int count() {
        return onDisk.size();
    }

    /** Lowest arena id on disk, or -1 if none. */
    public long lowestId() {
        Map.Entry<Long, long[]> e = onDisk.firstEntry();
        return e == null ? -1 : e.getKey();
    }

    /** Highest arena id on disk, or -1 if none. */
    public long highestId() {
        Map.Entry<Long, long[]> e = onDisk.lastEntry();
        return e == null ? -1 : e.getKey();
    }

    public List<Long> ids() {
        return new ArrayList<>(onDisk.keySet());
    }

    /** The earliest record on disk as {offset, position}, or null if no record starts in any arena. */
    long[] earliestRecord() {
        for (long[] first : onDisk.values()) {
            if (first[0] >= 0) {
                return first;
            }
        }
        return null;
    }

    /** The first record at or before {@code offset} known to the sparse index, as {offset, position}. */
    long[] floorRecord(long offset) {
        Map.Entry<Long, Long> e = firstRecords.floorEntry(offset);
        return e == null ? null : new long[] {e.getKey(), e.getValue()};
    }

    /** Notes (in memory; the caller writes the arena header) the first record starting in arena {@code id}. */
    void noteFirstRecord(long id, long offset, long position) {
        long[] first = onDisk.get(id);
        if (first != null && first[0] < 0) {
            first[1] = position;
            first[0] = offset;
            firstRecords.put(offset, position);
        }
    }

    /** Position of the first record starting in arena {@code id}, or -1 if none does (yet). */
    long firstRecordPosition(long id) {
        long[] first = onDisk.get(id);
        return first == null || first[0] < 0 ? -1 : first[1];
    }

    /** Forgets arena {@code id}'s first record (recovery cut the log before it). */
    void forgetFirstRecord(long id) {
        long[] first = onDisk.get(id);
        if (first != null && first[0] >= 0) {
            firstRecords.remove(first[0]);
            first[0] = -1;
            first[1] = -1;
        }
    }

    boolean hasFirstRecord(long id) {
        long[] first = onDisk.get(id);
        return first != null && first[0] >= 0;
    }

    /**
     * Creates arena {@code id}: a temporary file with its blocks reserved and its header written and
     * synced, renamed into place, then the directory synced, so the arena either exists whole and
     * durable or not at all.
     *
     * Does nothing if the arena exists (the pretoucher may have made it first).
     *
     * @throws IOException naming the directory, for example on a full disk.
     */
    /** Held while arena files are created, and by a writer from making room to creating (DiskSpace). */
    Object createLock() {
        return createLock;
    }

    void create(long id) throws IOException {
        synchronized (createLock) {
            if (!onDisk.containsKey(id)) {
                createFile(id);
            }
        }
    }

    /**
     * Creates arena {@code id} ahead of need unless that would make more than {@code maxArenas}
     * arena files (0 = no cap), or {@code id} is below an arena that exists.
     *
     * <p>The second rule is for the background thread that calls this: it chose {@code id} from a
     * tail it read earlier, and may have waited since (it runs at the lowest priority). By then the
     * writer can have moved on and the collector deleted arena {@code id}; creating it again would
     * leave a hole that the next open reports as damage. The writer creates its arenas in order,
     * under the same lock, so an arena below the highest one is never still to come.
     *
     * @return whether the arena exists now.
     */
    boolean createAhead(long id, long maxArenas) throws IOException {
        synchronized (createLock) {
            if (onDisk.containsKey(id)) {
                return true;
            }
            if (id < highestId()) {
                return false;
            }
            if (maxArenas > 0 && onDisk.size() >= maxArenas) {
                return false;
            }
            createFile(id);
            return true;
        }
    }

    private void createFile(long id) throws IOException {
        Path file = FileFormat.arenaFile(dir, id);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            Files.createFile(tmp);
            NativeIO.reserve(tmp, arenaSize);
            ByteBuffer header = ByteBuffer.allocate(FileFormat.ARENA_HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            header.putLong(0, FileFormat.ARENA_MAGIC);
            header.putInt(FileFormat.ARENA_VERSION_OFFSET, FileFormat.VERSION);
            header.putLong(FileFormat.ARENA_ID_OFFSET, id);
            header.putLong(FileFormat.ARENA_SIZE_OFFSET, arenaSize);
            Uninterruptible.run(() -> {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    while (header.hasRemaining()) {
                        ch.write(header, header.position());
                        header.position(header.limit());
                    }
                    ch.force(true);
                }
            });
            // A rename is atomic: no reader ever sees a half-made arena under its real name.
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            NativeIO.syncDirectory(dir);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new IOException("cannot create arena file " + file.getFileName() + " (" + arenaSize
                    + " bytes) in queue directory " + dir.toAbsolutePath() + ": " + e.getMessage()
                    + "; free disk space, or lower arenaSize or maxDiskBytes", e);
        }
        onDisk.put(id, new long[] {-1, -1});
    }

    /**
     * Pins arena {@code id}, mapping it if needed (which may unmap the least recently used one, or
     * wait for a pin to be released when every mapped arena is in use).
     *
     * @return the pinned arena, or null if no such arena file exists (deleted by the collector).
     */
    public Arena acquire(long id) {
        lock.lock();
        try {
            waiters++;
            try {
                for (;;) {
                    if (closed) {
                        throw new QueueClosedException("queue " + dir.toAbsolutePath() + " is closed");
                    }
                    Arena a = mapped.get(id);
                    if (a != null && a.tryPin()) {
                        a.lastUse = ++clock;
                        return a;
                    }
                    if (!onDisk.containsKey(id)) {
                        return null;
                    }
                    if (cap == 0 || mapped.size() < cap) {
                        a = Arena.map(FileFormat.arenaFile(dir, id), id, arenaSize);
                        a.tryPin();
                        a.lastUse = ++clock;
                        mapped.put(id, a);
                        peakMapped = Math.max(peakMapped, mapped.size());
                        return a;
                    }
                    Arena victim = null;
                    for (Arena m : mapped.values()) {
                        if (!m.isPinned() && (victim == null || m.lastUse < victim.lastUse)) {
                            victim = m;
                        }
                    }
                    if (victim != null && victim.tryRetire()) {
                        mapped.remove(victim.id);
                        victim.unmap();
                        continue;
                    }
                    // Every mapped arena is pinned: by the writer's lease (ask for it back), or by
                    // another thread for one short operation.
                    revokeLeases();
                    if (mapped.size() >= cap && !hasUnpinned()) {
                        released.await(10, TimeUnit.MILLISECONDS);
                    }
                }
            } finally {
                waiters--;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a free arena mapping"
                    + " (maxInMemoryArenas=" + cap + ")", e);
        } finally {
            lock.unlock();
        }
    }

    private boolean hasUnpinned() {
        for (Arena m : mapped.values()) {
            if (!m.isPinned()) {
                return true;
            }
        }
        return false;
    }

    /** Releases a pin from {@link #acquire(long)} or {@link Arena#tryPin()}. */
    public void release(Arena a) {
        if (a.unpin() && waiters > 0) {
            lock.lock();
            try {
                released.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Deletes arena {@code id}'s file, unmapping it first.
     *
     * @return false if a reader or writer holds it pinned right now (try again later).
     */
    boolean delete(long id) throws IOException {
        lock.lock();
        try {
            Arena a = mapped.get(id);
            if (a != null) {
                if (!a.tryRetire()) {
                    return false;
                }
                mapped.remove(id);
                a.unmap();
            }
            // The file goes first: creation ahead (under createLock, not this lock) counts onDisk
            // against maxDiskBytes, and must never count an arena gone that is still on disk.
            Files.deleteIfExists(FileFormat.arenaFile(dir, id));
            long[] first = onDisk.remove(id);
            if (first != null && first[0] >= 0) {
                firstRecords.remove(first[0]);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** msync of a byte range of arena {@code id}: through its mapping if mapped, else by fsync of the file. */
    void force(long id, int from, int length) throws IOException {
        Arena a = null;
        lock.lock();
        try {
            Arena m = mapped.get(id);
            if (m != null && m.tryPin()) {
                a = m;
            }
        } finally {
            lock.unlock();
        }
        if (a != null) {
            try {
                a.force(from, length);
            } finally {
                release(a);
            }
        } else if (onDisk.containsKey(id)) {
            Uninterruptible.run(() -> {
                try (FileChannel ch = FileChannel.open(FileFormat.arenaFile(dir, id), StandardOpenOption.WRITE)) {
                    ch.force(false);
                } catch (java.nio.file.NoSuchFileException deletedMeanwhile) {
                    // collected: nothing left to make durable
                }
            });
        }
    }

    /** How many arenas are mapped now. */
    public int mappedCount() {
        lock.lock();
        try {
            return mapped.size();
        } finally {
            lock.unlock();
        }
    }

    /** The most arenas ever mapped at once since open. */
    public int peakMapped() {
        lock.lock();
        try {
            return peakMapped;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Unmaps everything. Waits (briefly) for in-flight pins: an operation that started before the
     * queue was marked closed finishes first.
     */
    void close() {
        revokeLeases();
        lock.lock();
        try {
            closed = true;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!mapped.isEmpty()) {
                mapped.values().removeIf(a -> {
                    if (a.tryRetire()) {
                        a.unmap();
                        return true;
                    }
                    return false;
                });
                if (!mapped.isEmpty()) {
                    if (System.nanoTime() > deadline) {
                        // Leave them to the garbage collector rather than crash a straggler.
                        mapped.clear();
                        break;
                    }
                    released.await(1, TimeUnit.MILLISECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }
}
