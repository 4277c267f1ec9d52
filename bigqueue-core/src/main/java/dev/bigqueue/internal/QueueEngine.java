package dev.bigqueue.internal;

import dev.bigqueue.QueueConfig;
import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One open queue directory: wires the lock, index, arenas, record log, flusher, garbage collector
 * and the maintenance thread together, and takes them apart again in {@link #close()}.
 *
 * <p>Design note: {@code BigQueue} is the public face and stays thin; this class is what the
 * named-consumer module shares, through {@link InternalAccess}.
 */
public final class QueueEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(QueueEngine.class);
    private final Path dir;
    private final QueueConfig config;
    private final DirectoryLock lock;
    private final Index index;
    private final ArenaManager arenas;
    private final RecordLog log;
    private final Flusher flusher;
    private final GarbageCollector gc;
    private final ConsumerState own;
    private final ScheduledExecutorService maintenance;
    private final Pretoucher pretoucher;
    /** When the last periodic flush ended (System.nanoTime); the maintenance thread's own. */
    private long lastPeriodicFlushEndNs;
    private final List<Runnable> closeHooks = new CopyOnWriteArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    private QueueEngine(Path dir, QueueConfig config, DirectoryLock lock, Index index, ArenaManager arenas,
            RecordLog log, DiskSpace diskSpace, long durablePosition) {
        this.dir = dir;
        this.config = config;
        this.lock = lock;
        this.index = index;
        this.arenas = arenas;
        this.log = log;
        this.flusher = new Flusher(log, index, config.flushEveryOps(), durablePosition);
        this.own = new ConsumerState(this, "the queue's own consumer", new IndexHeadStore(index), false);
        // With ownConsumer off, only named consumers hold arenas on disk.
        this.gc = new GarbageCollector(log,
                config.ownConsumer() ? own::committedStreamPosition : () -> Long.MAX_VALUE);
        diskSpace.setCollector(gc);
        this.maintenance = startMaintenance();
        if (config.pretouch() && NativeIO.nativeAvailable()) {
            long maxArenas = config.maxDiskBytes() == 0 ? 0 : config.maxDiskBytes() / config.arenaSize();
            this.pretoucher = new Pretoucher(log, maxArenas, config.maxInMemoryArenas(),
                    "bigqueue-pretouch-" + dir.getFileName());
            pretoucher.start();
        } else {
            this.pretoucher = null;
        }
    }

    /**
     * Creates or reopens the queue in {@code dir}.
     *
     * @throws IllegalArgumentException if {@code dir} is not a queue directory or not empty, or the
     *     configuration conflicts with the persisted one.
     * @throws IllegalStateException if the directory is open elsewhere.
     */
    public static QueueEngine open(Path dir, QueueConfig config) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("queue path " + dir.toAbsolutePath() + " is a file, not a directory;"
                    + " give BigQueue.open a directory (it is created if missing)");
        }
        Files.createDirectories(dir);
        Path metaFile = dir.resolve(FileFormat.META_FILE);
        boolean exists = Files.exists(metaFile);
        if (!exists) {
            checkEmptyForCreate(dir);
        }
        DirectoryLock lock = DirectoryLock.acquire(dir);
        Index index = null;
        ArenaManager arenas = null;
        try {
            Path real = lock.directory();
            index = exists ? Index.open(metaFile) : Index.create(real, config.arenaSize());
            long arenaSize = index.arenaSize();
            if (arenaSize != config.arenaSize()) {
                if (config.isArenaSizeSet()) {
                    throw new IllegalArgumentException("queue " + real + " was created with arenaSize " + arenaSize
                            + " bytes, but this open asks for arenaSize " + config.arenaSize() + " bytes; arenaSize"
                            + " is fixed when a queue is created: open it with arenaSize " + arenaSize
                            + " or leave arenaSize unset");
                }
                config = config.toBuilder().arenaSize(arenaSize).build();
            }
            arenas = new ArenaManager(real, arenaSize, config.maxInMemoryArenas());
            registerArenas(real, arenas);
            DiskSpace diskSpace = new DiskSpace(arenaSize, config.maxDiskBytes(), config.whenFull());
            RecordLog log = new RecordLog(real, arenaSize, arenas, index, diskSpace);
            boolean clean = index.closedCleanly();
            Recovery.recover(log, index);
            if (!clean) {
                clampConsumers(real, log);
            }
            PositionSlots durable = index.durable();
            long durablePosition = clean ? log.tailPosition() : durable.valid() ? durable.position() : 0;
            index.setState(FileFormat.STATE_OPEN);
            index.recordBoot();
            index.writeTailHint(log.tailOffset(), log.tailPosition());
            // On disk before any write: a power loss from here on must not look like a clean close.
            index.force();
            QueueEngine engine = new QueueEngine(real, config, lock, index, arenas, log, diskSpace, durablePosition);
            if (!clean) {
                engine.flusher.flush();
            }
            return engine;
        } catch (IOException | RuntimeException | Error e) {
            if (arenas != null) {
                arenas.close();
            }
            if (index != null) {
                index.close();
            }
            lock.close();
            throw e;
        }
    }

    /**
     * After an OS crash a named consumer's committed position can have reached the disk while
     * records it had passed did not: such a consumer resumes at the recovered tail, where the next
     * message written will be. (The queue's own consumer is clamped by {@link ConsumerState}.)
     */
    private static void clampConsumers(Path dir, RecordLog log) throws IOException {
        Map<String, long[]> all;
        try {
            all = ConsumerFile.readAll(dir.resolve(FileFormat.CONSUMERS_DIR));
        } catch (QueueCorruptedException unreadable) {
            return; // reported when that consumer is opened
        }
        for (Map.Entry<String, long[]> c : all.entrySet()) {
            long[] at = c.getValue();
            if (at[0] > log.tailOffset() || at[1] > log.tailPosition()) {
                LOG.warn("queue {}: consumer '{}' was committed at offset {}, past the recovered tail {}: those"
                        + " records did not survive an OS crash or power loss; it resumes at the tail", dir,
                        c.getKey(), at[0], log.tailOffset());
                try (ConsumerFile f = ConsumerFile.open(FileFormat.consumerFile(dir, c.getKey()))) {
                    f.commit(log.tailOffset(), log.tailPosition());
                    f.force();
                }
            }
        }
    }

    private static void checkEmptyForCreate(Path dir) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if (name.equals(FileFormat.LOCK_FILE) || name.endsWith(".tmp")) {
                    continue;
                }
                if (name.equals(FileFormat.CONSUMERS_DIR) || FileFormat.arenaIdOf(name) >= 0) {
                    throw new QueueCorruptedException(dir.resolve(FileFormat.META_FILE), 0, "queue.meta is missing"
                            + " but the directory holds queue files (" + name + ")");
                }
                throw new IllegalArgumentException("directory " + dir.toAbsolutePath() + " is not a bigqueue queue:"
                        + " it has no queue.meta and is not empty (it holds '" + name + "'); open an empty or new"
                        + " directory, or the directory of an existing queue");
            }
        }
    }

    private static void registerArenas(Path dir, ArenaManager arenas) throws IOException {
        TreeSet<Long> ids = new TreeSet<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                long id = FileFormat.arenaIdOf(name);
                if (id >= 0) {
                    ids.add(id);
                } else if (name.endsWith(".tmp")) {
                    // A creation cut short by a crash; the real file was never renamed into place.
                    Files.deleteIfExists(p);
                } else if (!name.equals(FileFormat.META_FILE) && !name.equals(FileFormat.LOCK_FILE)
                        && !name.equals(FileFormat.CONSUMERS_DIR)) {
                    LOG.warn("queue {}: ignoring file '{}', which is not part of the queue", dir, name);
                }
            }
        }
        long expected = ids.isEmpty() ? 0 : ids.first();
        for (long id : ids) {
            if (id != expected) {
                throw new QueueCorruptedException(FileFormat.arenaFile(dir, expected), 0, "arena file is missing"
                        + " between " + FileFormat.arenaFileName(ids.first()) + " and "
                        + FileFormat.arenaFileName(ids.last()));
            }
            arenas.register(id);
            expected++;
        }
    }

    private ScheduledExecutorService startMaintenance() {
        Duration flushEvery = config.flushInterval();
        Duration gcEvery = config.gcInterval();
        if (flushEvery.isZero() && gcEvery.isZero()) {
            return null;
        }
        String threadName = "bigqueue-maintenance-" + dir.getFileName();
        ScheduledThreadPoolExecutor ex = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(() -> {
                NativeIO.makeCurrentThreadBackground();
                r.run();
            }, threadName);
            t.setDaemon(true);
            return t;
        });
        ex.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        if (!flushEvery.isZero()) {
            long ns = flushEvery.toNanos();
            ex.scheduleWithFixedDelay(() -> runQuietly("periodic flush", () -> periodicFlush(ns)), ns, ns,
                    TimeUnit.NANOSECONDS);
        }
        if (!gcEvery.isZero()) {
            long ns = gcEvery.toNanos();
            ex.scheduleWithFixedDelay(() -> runQuietly("arena garbage collection", () -> gc.collect()), ns, ns,
                    TimeUnit.NANOSECONDS);
        }
        return ex;
    }

    /**
     * One run of the periodic flush, on the maintenance thread (an idle-class thread, see
     * {@link NativeIO#makeCurrentThreadBackground}). If busy cores kept it from starting on time,
     * more than twice the interval after the last one ended, this one runs in the normal class, so
     * that what a power loss can take stays near {@code flushInterval} even on a saturated machine.
     */
    private void periodicFlush(long intervalNs) throws IOException {
        long start = System.nanoTime();
        boolean overdue = lastPeriodicFlushEndNs != 0 && start - lastPeriodicFlushEndNs > 2 * intervalNs;
        if (overdue) {
            NativeIO.setCurrentThreadIdle(false);
        }
        try {
            flusher.flushInBackground();
        } finally {
            if (overdue) {
                NativeIO.setCurrentThreadIdle(true);
            }
            lastPeriodicFlushEndNs = System.nanoTime();
        }
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private void runQuietly(String what, IoAction action) {
        if (log.isClosed()) {
            return;
        }
        try {
            action.run();
        } catch (IOException | RuntimeException e) {
            if (!log.isClosed()) {
                LOG.warn("queue {}: {} failed; will retry on schedule", dir, what, e);
            }
        }
    }

    // ------------------------------------------------------------------ operations

    public long append(byte[] src, int off, int len) {
        long offset = log.append(src, off, len);
        afterAppend();
        return offset;
    }

    public long append(ByteBuffer src) {
        long offset = log.append(src);
        afterAppend();
        return offset;
    }

    private void afterAppend() {
        try {
            if (config.syncOnWrite()) {
                flusher.awaitDurable(log.tailPosition());
            }
            flusher.countOps(1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path directory() {
        return dir;
    }

    public QueueConfig config() {
        return config;
    }

    public RecordLog log() {
        return log;
    }

    public Flusher flusher() {
        return flusher;
    }

    public GarbageCollector gc() {
        return gc;
    }

    public ConsumerState own() {
        return own;
    }

    /** Runs {@code hook} at the start of {@link #close()}, before the final flush (named consumers). */
    public void addCloseHook(Runnable hook) {
        closeHooks.add(hook);
    }

    public void removeCloseHook(Runnable hook) {
        closeHooks.remove(hook);
    }

    public boolean isClosed() {
        return closed.get();
    }

    /**
     * Closes: wakes blocked readers (they throw), stops maintenance, commits the consumers, flushes
     * everything, marks the index clean, unmaps and unlocks. Idempotent. The first error is thrown,
     * later ones attached as suppressed.
     */
    @Override
    public void close() throws IOException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<Throwable> errors = new ArrayList<>();
        log.markClosed();
        if (maintenance != null) {
            maintenance.shutdownNow();
            try {
                maintenance.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (pretoucher != null) {
            attempt(errors, pretoucher::stop);
        }
        for (Runnable hook : closeHooks) {
            attempt(errors, hook::run);
        }
        attempt(errors, () -> own.close("closed: the queue was closed"));
        attempt(errors, () -> {
            try {
                flusher.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        attempt(errors, () -> log.underWriteLock(() -> {
            index.writeTailHint(log.tailOffset(), log.tailPosition());
            index.setState(FileFormat.STATE_CLOSED_CLEANLY);
            index.force();
            return null;
        }));
        attempt(errors, log::releaseLeaseForClose);
        attempt(errors, arenas::close);
        attempt(errors, index::close);
        attempt(errors, () -> {
            try {
                lock.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        if (!errors.isEmpty()) {
            Throwable first = errors.get(0);
            for (int i = 1; i < errors.size(); i++) {
                first.addSuppressed(errors.get(i));
            }
            if (first instanceof UncheckedIOException) {
                throw ((UncheckedIOException) first).getCause();
            }
            if (first instanceof RuntimeException) {
                throw (RuntimeException) first;
            }
            throw (Error) first;
        }
    }

    private static void attempt(List<Throwable> errors, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException | Error e) {
            errors.add(e);
        }
    }

    /** The queue's own consumer's committed position, kept in the index's head slots. */
    private static final class IndexHeadStore implements PositionStore {
        private final Index index;

        IndexHeadStore(Index index) {
            this.index = index;
        }

        @Override
        public long committedOffset() {
            return index.head().offset();
        }

        @Override
        public long committedPosition() {
            return index.head().position();
        }

        @Override
        public void commit(long offset, long position) {
            index.head().write(offset, position);
        }

        @Override
        public void sync() {
            index.force();
        }
    }
}
