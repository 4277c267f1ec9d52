package dev.bigqueue.internal;

import dev.bigqueue.QueueClosedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Which arena files exist, which are mapped, and the {@code maxInMemoryArenas} cap: at no moment
 * are more than that many arenas mapped. When the cap is reached, the least recently used arena
 * that nobody has pinned is unmapped; if every mapped arena is pinned, the caller waits for a pin
 * to be released.
 *
 * <p><b>Why waiting here always ends.</b> Pins are short and their holders never wait while
 * pinned ({@link Mapping}); a thread waiting here holds no pin itself (it gives up its arena
 * before asking for the next one, so a cap of 1 makes progress). The one pin held between calls,
 * the writer's lease, is asked back through {@link #setLeaseRevoker}, and the writer gives it up
 * at once when idle, or at the end of the append in progress.
 *
 * <p><b>Shared state.</b> {@code onDisk} (arena id to its first record, immutable values) and
 * {@code mapped} are concurrent maps, read without the lock; {@code mapped} changes only under
 * {@link #lock}, which the waiting condition uses too. {@code fileCount} counts arena files
 * until they are really gone, for the disk cap.
 *
 * <p><b>A mapping leaves the cap when its pages do.</b> A read-only queue forgets a mapping as
 * soon as it learns that the writer deleted or reused its file, which can happen while a reader
 * has it pinned; its pages stay until that pin is released. Such a mapping moves from
 * {@code mapped} to {@code draining} (under {@link #lock}), and the cap counts both, so a new
 * mapping waits for the old one to be really gone, as it waits for any pin.
 *
 * <p><b>The pool</b> ({@link ArenaPool}, {@code arenaPool}): {@link #delete} hands a file to it
 * instead of deleting it, and {@link #createFile} takes one from it before making a new file;
 * {@link #count} includes pooled files, for the disk cap.
 *
 * <p>Also the sparse offset index: for each arena, the first record that starts in it (persisted
 * in the arena header), which lets a seek skip whole arenas.
 *
 * <p><b>Read-only queues</b> ({@link #readOnly}): another process creates and deletes the files.
 * Arenas are mapped read-only and registered when first asked for and found on disk
 * ({@link #acquire}); one whose file is gone when it is to be mapped is forgotten (null, as for a
 * deleted arena). A mapping of a file the writer has since deleted stays readable (Linux keeps an
 * unlinked file's pages while it is mapped); those after the reader's tail, which the writer's
 * recovery may have deleted and made again, are dropped now and then ({@link #unmapAbove}).
 */
public final class ArenaManager {
    /** The value of an arena in {@link #onDisk} in which no record starts (yet). */
    private static final StreamPoint NO_RECORD = new StreamPoint(-1, -1);

    private final Path dir;
    private final long arenaSize;
    private final int cap;
    private final boolean readOnly;
    /** Arena files on disk, by id, with the first record that starts in each. */
    private final ConcurrentSkipListMap<Long, StreamPoint> onDisk = new ConcurrentSkipListMap<>();
    /** The same first records by offset: offset of the first record starting in an arena -> its position. */
    private final ConcurrentSkipListMap<Long, Long> firstRecords = new ConcurrentSkipListMap<>();
    /** Arena files that exist as files (created and not yet deleted), for the disk cap. */
    private final AtomicInteger fileCount = new AtomicInteger();
    /** Removed arenas whose file could not be deleted: still counted in {@link #fileCount}. */
    private final Set<Long> stranded = ConcurrentHashMap.newKeySet();
    private final Object createLock = new Object();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = lock.newCondition();
    private final Map<Long, Arena> mapped = new ConcurrentHashMap<>();
    /** Mappings forgotten while pinned, until their last pin unmaps them; under {@link #lock}. */
    private final List<Arena> draining = new ArrayList<>();
    /** Threads waiting in {@link #acquire}; read by releasers without the lock. */
    private volatile int waiters;
    /** Asks the writer to give up its lease; set once before the queue is used. */
    private volatile Runnable leaseRevoker = () -> { };
    private volatile boolean closed;
    /** Set once before the queue is used; null for no pool (arenaPool 0, read-only queues). */
    private volatile ArenaPool pool;
    /** Under {@link #lock}. */
    private long clock;
    private int peakMapped;

    ArenaManager(Path dir, long arenaSize, int maxInMemoryArenas) {
        this(dir, arenaSize, maxInMemoryArenas, false);
    }

    ArenaManager(Path dir, long arenaSize, int maxInMemoryArenas, boolean readOnly) {
        this.dir = dir;
        this.arenaSize = arenaSize;
        this.cap = maxInMemoryArenas;
        this.readOnly = readOnly;
    }

    /** Registers an arena file found and verified on open, with its first record (or null). */
    void register(long id, StreamPoint firstRecord) {
        onDisk.put(id, firstRecord == null ? NO_RECORD : firstRecord);
        if (firstRecord != null) {
            firstRecords.put(firstRecord.offset(), firstRecord.position());
        }
        fileCount.incrementAndGet();
    }

    void setPool(ArenaPool pool) {
        this.pool = pool;
    }

    /** The pool, or null if there is none. */
    ArenaPool pool() {
        return pool;
    }

    /** Pooled files reused as arenas since open (0 without a pool). */
    public long reusedSinceOpen() {
        ArenaPool p = pool;
        return p == null ? 0 : p.reusedSinceOpen();
    }

    void setLeaseRevoker(Runnable revoker) {
        this.leaseRevoker = revoker;
    }

    public boolean exists(long id) {
        return onDisk.containsKey(id);
    }

    /** Arena files on disk, those being deleted and those pooled included: what counts against maxDiskBytes. */
    public int count() {
        ArenaPool p = pool;
        return fileCount.get() + (p == null ? 0 : p.size());
    }

    /** Arena files on disk, those being deleted included, pooled ones not. */
    int arenaFileCount() {
        return fileCount.get();
    }

    /** Lowest arena id on disk, or -1 if none. */
    public long lowestId() {
        Map.Entry<Long, StreamPoint> e = onDisk.firstEntry();
        return e == null ? -1 : e.getKey();
    }

    /** Highest arena id on disk, or -1 if none. */
    public long highestId() {
        Map.Entry<Long, StreamPoint> e = onDisk.lastEntry();
        return e == null ? -1 : e.getKey();
    }

    public List<Long> ids() {
        return new ArrayList<>(onDisk.keySet());
    }

    /** The first record that starts in the lowest arena that has one, or null if no record starts in any. */
    StreamPoint earliestRecord() {
        for (StreamPoint first : onDisk.values()) {
            if (first != NO_RECORD) {
                return first;
            }
        }
        return null;
    }

    /** The first record that starts in arena {@code id} or a later one, or null if none does. */
    StreamPoint earliestRecordFrom(long id) {
        for (StreamPoint first : onDisk.tailMap(id).values()) {
            if (first != NO_RECORD) {
                return first;
            }
        }
        return null;
    }

    /** The first record at or before {@code offset} known to the sparse index, or null. */
    StreamPoint floorRecord(long offset) {
        Map.Entry<Long, Long> e = firstRecords.floorEntry(offset);
        return e == null ? null : new StreamPoint(e.getKey(), e.getValue());
    }

    /** Notes (in memory; the writer writes the arena header) the first record starting in arena {@code id}. */
    void noteFirstRecord(long id, StreamPoint first) {
        if (onDisk.replace(id, NO_RECORD, first)) {
            firstRecords.put(first.offset(), first.position());
        }
    }

    /** Sets arena {@code id}'s first record whatever it was: recovery found the real one (open, one thread). */
    void setFirstRecord(long id, StreamPoint first) {
        StreamPoint old = onDisk.get(id);
        if (old == null) {
            return;
        }
        if (old != NO_RECORD) {
            firstRecords.remove(old.offset());
        }
        onDisk.put(id, first);
        firstRecords.put(first.offset(), first.position());
    }

    /** The first record starting in arena {@code id}, or null if none does (yet) or it does not exist. */
    StreamPoint firstRecord(long id) {
        StreamPoint first = onDisk.get(id);
        return first == null || first == NO_RECORD ? null : first;
    }

    /** Forgets arena {@code id}'s first record (recovery cut the log before it). */
    void forgetFirstRecord(long id) {
        StreamPoint first = onDisk.get(id);
        if (first != null && first != NO_RECORD && onDisk.replace(id, first, NO_RECORD)) {
            firstRecords.remove(first.offset());
        }
    }

    /** Held while arena files are created, and by a writer from making room to creating (DiskSpace). */
    Object createLock() {
        return createLock;
    }

    /** Creates arena {@code id} unless it exists (the pretoucher may have made it first). */
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
            if (maxArenas > 0 && fileCount.get() >= maxArenas) {
                return false;
            }
            createFile(id);
            return true;
        }
    }

    /**
     * Creates arena {@code id}: a temporary file with its blocks reserved and its header written and
     * synced, renamed into place, then the directory synced, so the arena either exists whole and
     * durable or not at all.
     *
     * @throws IOException naming the directory, for example on a full disk.
     */
    private void createFile(long id) throws IOException {
        if (closed) {
            throw new QueueClosedException("queue " + dir.toAbsolutePath() + " is closed");
        }
        if (stranded.remove(id)) {
            // Recovery discarded this id and could not delete its file: the new arena replaces it.
            fileCount.decrementAndGet();
        }
        deleteStranded();
        ArenaPool p = pool;
        if (p != null && p.takeAs(id)) {
            fileCount.incrementAndGet();
            onDisk.put(id, NO_RECORD);
            return;
        }
        Path file = FileFormat.arenaFile(dir, id);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            Files.createFile(tmp);
            NativeIO.reserve(tmp, arenaSize);
            ByteBuffer header = ArenaHeader.create(id, arenaSize);
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
        fileCount.incrementAndGet();
        onDisk.put(id, NO_RECORD);
    }

    /**
     * Pins arena {@code id}, mapping it if needed, which may unmap the least recently used arena or
     * wait until a pin is released when every mapped arena is in use. The caller must hold no pin.
     *
     * @return the pinned arena, or null if no such arena file exists (deleted, or never made).
     * @throws QueueClosedException if the queue closes first.
     */
    public Arena acquire(long id) {
        Arena a = mapped.get(id);
        if (a != null && a.tryPin()) {
            if (readOnly && isReused(a)) {
                release(a);
            } else {
                a.lastUse = clock;
                return a;
            }
        }
        lock.lock();
        try {
            waiters++;
            try {
                return acquireLocked(id);
            } finally {
                waiters--;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            lock.unlock();
        }
    }

    private Arena acquireLocked(long id) throws IOException {
        boolean revoked = false;
        for (;;) {
            if (closed) {
                throw new QueueClosedException("queue " + dir.toAbsolutePath() + " is closed");
            }
            Arena a = mapped.get(id);
            if (a != null) {
                if (a.tryPin()) {
                    if (readOnly && isReused(a)) {
                        // The writer pooled the file and reused it as another arena: this one is gone.
                        release(a);
                        dropMapping(a);
                        forget(id);
                        return null;
                    }
                    a.lastUse = ++clock;
                    return a;
                }
                if (!a.mapping().isUnmapped()) {
                    if (!onDisk.containsKey(id)) {
                        return null; // being deleted
                    }
                    // Retired while still pinned: wait until it is gone, then map it again.
                    released.awaitUninterruptibly();
                    continue;
                }
                mapped.remove(id, a);
            }
            if (!onDisk.containsKey(id) && !(readOnly && discover(id))) {
                return null;
            }
            if (cap == 0 || mappedNow() < cap) {
                try {
                    a = Arena.map(FileFormat.arenaFile(dir, id), id, arenaSize, readOnly);
                } catch (NoSuchFileException deletedByTheWriter) {
                    if (!readOnly) {
                        throw deletedByTheWriter;
                    }
                    forget(id);
                    return null;
                }
                if (readOnly) {
                    StreamPoint first = ArenaHeader.firstRecord(a.buffer());
                    if (first != null) {
                        noteFirstRecord(id, first);
                    }
                }
                a.tryPin();
                a.lastUse = ++clock;
                mapped.put(id, a);
                peakMapped = Math.max(peakMapped, mappedNow());
                return a;
            }
            if (evictOne()) {
                continue;
            }
            if (!revoked) {
                // Every mapped arena is pinned: maybe by the writer's idle lease. Ask for it back
                // (never blocks: the writer gives it up now if idle, else after its append).
                revoked = true;
                leaseRevoker.run();
                continue;
            }
            released.awaitUninterruptibly();
            revoked = false;
        }
    }

    /**
     * Read-only queues: whether the writer has reused this mapping's file as another arena (the
     * header, written before the file took its new name, says another id); the caller holds a pin.
     */
    static boolean isReused(Arena a) {
        return a.buffer().getLong(FileFormat.ARENA_ID_OFFSET) != a.id;
    }

    /** Registers arena {@code id} if its file is on disk now (read-only queues); under the lock. */
    private boolean discover(long id) {
        if (!Files.exists(FileFormat.arenaFile(dir, id))) {
            return false;
        }
        onDisk.putIfAbsent(id, NO_RECORD);
        return true;
    }

    /** Forgets arena {@code id}, whose file another process deleted (read-only queues). */
    private void forget(long id) {
        StreamPoint first = onDisk.remove(id);
        if (first != null && first != NO_RECORD) {
            firstRecords.remove(first.offset(), first.position());
        }
    }

    /**
     * Read-only queues: forgets the arenas below {@code id}, which the writer has deleted (its
     * start moved past them). A mapping of one of them in use stays readable until its last pin
     * is released, then is unmapped.
     */
    void forgetBelow(long id) {
        lock.lock();
        try {
            for (Long below : new ArrayList<>(onDisk.headMap(id).keySet())) {
                forget(below);
                Arena a = mapped.get(below);
                if (a != null) {
                    dropMapping(a);
                }
            }
            released.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Read-only queues: drops every mapping of an arena above {@code id}, and forgets those
     * arenas, so that the next {@link #acquire} maps whatever file has their name now. The writer's
     * recovery after a crash deletes the arenas after its recovered tail and makes them again
     * (the same inode number may come back, so no file identity check can tell); a reader's
     * verified tail is never after the recovered one, so only arenas above its tail's can be such
     * stale mappings, and nothing verified is read from them. A mapping pinned right now is
     * unmapped when its pin is released.
     */
    void unmapAbove(long id) {
        lock.lock();
        try {
            for (Long above : new ArrayList<>(onDisk.tailMap(id, false).keySet())) {
                forget(above);
            }
            for (Arena a : new ArrayList<>(mapped.values())) {
                if (a.id > id) {
                    dropMapping(a);
                }
            }
            released.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Read-only queues, under the lock: forgets mapping {@code a} and retires it. Pinned, it stays
     * counted against the cap ({@code draining}) until its last pin unmaps it; that release wakes
     * the waiters ({@link #release}).
     */
    private void dropMapping(Arena a) {
        mapped.remove(a.id, a);
        a.mapping().retire();
        if (!a.mapping().isUnmapped()) {
            draining.add(a);
        }
    }

    /** Under the lock: the arenas whose pages are mapped now, those forgotten but still pinned included. */
    private int mappedNow() {
        draining.removeIf(a -> a.mapping().isUnmapped());
        return mapped.size() + draining.size();
    }

    /** Unmaps the least recently used arena nobody has pinned; false if every mapped arena is pinned. */
    private boolean evictOne() {
        for (;;) {
            Arena victim = null;
            for (Arena m : mapped.values()) {
                if (!m.mapping().isPinned() && !m.mapping().isUnmapped()
                        && (victim == null || m.lastUse < victim.lastUse)) {
                    victim = m;
                }
            }
            if (victim == null) {
                return false;
            }
            if (victim.mapping().tryUnmapIdle() || victim.mapping().isUnmapped()) {
                mapped.remove(victim.id, victim);
                return true;
            }
            // Pinned (or retired) between the scan and the unmap: look again.
        }
    }

    /** Releases a pin from {@link #acquire(long)} or {@link Arena#tryPin()}. */
    public void release(Arena a) {
        // The unpin is a full fence, so either a waiter that registered before it sees the pin
        // gone when it scans, or this sees the waiter and wakes it: no wake-up is lost.
        if (a.unpin() && waiters > 0) {
            signalReleased();
        }
    }

    private void signalReleased() {
        lock.lock();
        try {
            released.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Deletes arena {@code id}, or pools its file: it leaves the registry at once (readers asking for it from now on
     * get null), its mapping is retired and unmapped once the reads in progress on it end, then the
     * file is deleted. The caller has already moved the earliest record past it.
     */
    void delete(long id) throws IOException {
        remove(id, true);
    }

    /**
     * Deletes arena {@code id} as {@link #delete} does, but never pools its file: for arenas that
     * recovery cuts. Such a file can hold whole records at the very offsets and positions the log
     * writes next (records after the damaged one recovery cut at), and the offset salt cannot tell
     * them from new ones; pooled, the file could become that same arena again, and after a power
     * loss that reverted its new pages those old records would read as new.
     */
    void discard(long id) throws IOException {
        remove(id, false);
    }

    private void remove(long id, boolean mayPool) throws IOException {
        StreamPoint first;
        Arena a;
        // Under the lock, so that no acquire maps it between leaving the registry and retiring.
        lock.lock();
        try {
            first = onDisk.remove(id);
            a = mapped.get(id);
        } finally {
            lock.unlock();
        }
        if (first == null) {
            return;
        }
        if (first != NO_RECORD) {
            firstRecords.remove(first.offset());
        }
        if (a != null) {
            a.mapping().retireAndAwait();
            mapped.remove(id, a);
            signalReleased();
        }
        boolean gone = false;
        try {
            ArenaPool p = mayPool ? pool : null;
            if (p == null || !p.offer(id)) {
                Files.deleteIfExists(FileFormat.arenaFile(dir, id));
            }
            gone = true;
        } finally {
            if (gone) {
                fileCount.decrementAndGet();
            } else {
                // Still on disk (permission denied, an immutable file): it keeps counting against
                // maxDiskBytes until a later removal or creation manages to delete it.
                stranded.add(id);
            }
        }
        deleteStranded();
    }

    /** Tries again to delete the files of removed arenas that could not be deleted; quiet on failure. */
    private void deleteStranded() {
        for (Long id : stranded) {
            try {
                Files.deleteIfExists(FileFormat.arenaFile(dir, id));
            } catch (IOException stillThere) {
                continue;
            }
            if (stranded.remove(id)) {
                fileCount.decrementAndGet();
            }
        }
    }

    /** msync of a byte range of arena {@code id}: through its mapping if mapped, else by fsync of the file. */
    void force(long id, int from, int length) throws IOException {
        Arena a = mapped.get(id);
        if (a != null && a.tryPin()) {
            try {
                a.force(from, length);
            } finally {
                release(a);
            }
        } else if (onDisk.containsKey(id)) {
            // Not mapped (or being unmapped): the pages dirtied through any mapping of the file are
            // in the page cache, and fdatasync writes them back as well as msync would.
            Uninterruptible.run(() -> {
                try (FileChannel ch = FileChannel.open(FileFormat.arenaFile(dir, id), StandardOpenOption.WRITE)) {
                    ch.force(false);
                } catch (NoSuchFileException deletedMeanwhile) {
                    // collected: nothing left to make durable
                }
            });
        }
    }

    /** How many arenas are mapped now, those forgotten but still pinned included. */
    public int mappedCount() {
        lock.lock();
        try {
            return mappedNow();
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
     * Unmaps everything, waiting for the pins in progress to be released (they are short), and
     * refuses every later {@link #acquire}. The writer's lease must have been given up first.
     */
    void close() {
        List<Arena> forgotten;
        lock.lock();
        try {
            closed = true;
            released.signalAll();
            forgotten = new ArrayList<>(draining);
        } finally {
            lock.unlock();
        }
        for (Arena a : mapped.values()) {
            a.mapping().retire();
        }
        for (Arena a : mapped.values()) {
            a.mapping().awaitUnmapped();
        }
        for (Arena a : forgotten) {
            a.mapping().awaitUnmapped();
        }
        mapped.clear();
    }
}
