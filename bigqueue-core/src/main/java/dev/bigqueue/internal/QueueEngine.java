package dev.bigqueue.internal;

import dev.bigqueue.QueueConfig;
import dev.bigqueue.QueueFullException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One open queue directory: the parts of a running queue, wired together by {@link QueueOpener}
 * and taken apart again by {@link #close()}.
 *
 * <p><b>Lifetime.</b> Open builds every part without starting a thread, then {@link #start()}s
 * the background threads as its last step; an open that fails before that undoes what it did.
 * {@link #close()} may run at any moment, from any thread, concurrently with anything: it marks
 * the log closed (new calls fail, waiting calls wake and fail), stops the background threads and
 * waits for them, closes the consumers without waiting for application code they may be running,
 * flushes, records the exact tail and a clean state, then retires every mapping (arenas,
 * {@code queue.meta}) and waits for the pins in progress to drain, and releases the directory
 * lock. Nothing it waits for waits for it: pins are short, the writer lock and the consumers' locks
 * are held only for bounded steps (a consumer running application code is not waited for), and the
 * background threads finish a bounded step. A second concurrent {@code close()} waits for the first
 * to finish, so that whenever {@code close()} returns, the queue is really closed.
 *
 * <p><b>Read-only</b> ({@code QueueConfig.readOnly}): built by {@link QueueOpener#openReadOnly}
 * over read-only mappings, with no directory lock, no appender, no queue's own consumer and no
 * thread; a {@link TailFollower} publishes the tail as it verifies what the writer (another
 * process) appends. Its named consumers commit to their files as usual. Close marks the log
 * closed, closes the consumers (each syncs its file) and unmaps everything; it writes nothing of
 * the queue's.
 *
 * <p>Design note: {@code BigQueue} is the public face and stays thin; this class is what the
 * named-consumer module shares.
 */
public final class QueueEngine implements AutoCloseable {
    private final Path dir;
    private final QueueConfig config;
    private final DirectoryLock lock;
    private final Index index;
    private final ArenaManager arenas;
    private final RecordLog log;
    private final Appender appender;
    private final RecordReader reader;
    private final DiskSpace diskSpace;
    private final Flusher flusher;
    private final GarbageCollector gc;
    private final ConsumerState own;
    private final Maintenance maintenance;
    private final DurableFutures durableFutures;
    private final Pretoucher pretoucher;
    private final List<Runnable> closeHooks = new CopyOnWriteArrayList<>();
    /** Every open consumer, the own one included: flush, close and the full-queue check walk it. */
    private final List<ConsumerState> consumers = new CopyOnWriteArrayList<>();
    private final ConsumerStore consumerStore;
    private final AtomicBoolean closing = new AtomicBoolean();
    /** The thread running the first close: a dependent stage of a future it completes may call close again. */
    private volatile Thread closer;
    private final CountDownLatch closed = new CountDownLatch(1);
    /** The tail of a read-only queue; null for the writer. */
    private final TailFollower follower;

    QueueEngine(Parts p) {
        this.follower = p.follower;
        this.dir = p.dir;
        this.config = p.config;
        this.lock = p.lock;
        this.index = p.index;
        this.arenas = p.arenas;
        this.log = p.log;
        this.appender = p.appender;
        this.reader = p.reader;
        this.diskSpace = p.diskSpace;
        this.flusher = new Flusher(log, appender, reader, index, config.flushEveryOps(), p.durablePoint, consumers);
        // With ownConsumer off, only named consumers hold arenas on disk, and the head follows the start.
        this.gc = new GarbageCollector(log, index,
                config.ownConsumer() ? this::ownCommittedPosition : () -> Long.MAX_VALUE, config.ownConsumer(),
                reader.timeIndex(), config.retention(), System::currentTimeMillis);
        diskSpace.setCollector(gc);
        if (follower != null) {
            // A reader has no queue's own consumer: its head belongs to the writer (BigQueue says so).
            this.own = null;
        } else {
            appender.setRoomCheck(this::checkMayWaitForRoom);
            this.own = new ConsumerState(this, "the queue's own consumer of " + dir, new IndexHeadStore(index), false);
        }
        if (own != null && config.ownConsumer()) {
            // Off, it is never used, and its slot belongs to the collector: close must not commit it.
            consumers.add(own);
        }
        this.consumerStore = new ConsumerStore(this);
        String name = dir.getFileName().toString();
        this.maintenance = new Maintenance(name, config.flushInterval(), config.gcInterval(), flusher, gc, log);
        this.durableFutures = new DurableFutures(name, flusher, appender, log.closedMessage());
        if (config.pretouch() && NativeIO.nativeAvailable()) {
            long maxArenas = config.maxDiskBytes() == 0 ? 0 : config.maxDiskBytes() / config.arenaSize();
            this.pretoucher = new Pretoucher(log, appender, maxArenas, config.maxInMemoryArenas(),
                    "bigqueue-pretouch-" + name);
        } else {
            this.pretoucher = null;
        }
    }

    /** What the opener built, handed to the constructor. */
    static final class Parts {
        Path dir;
        QueueConfig config;
        DirectoryLock lock;
        Index index;
        ArenaManager arenas;
        RecordLog log;
        Appender appender;
        RecordReader reader;
        DiskSpace diskSpace;
        StreamPoint durablePoint;
        TailFollower follower;
    }

    /**
     * Creates or reopens the queue in {@code dir}.
     *
     * @throws IllegalArgumentException if {@code dir} is not a queue directory or not empty, or the
     *     configuration conflicts with the persisted one.
     * @throws IllegalStateException if the directory is open elsewhere.
     */
    public static QueueEngine open(Path dir, QueueConfig config) throws IOException {
        return QueueOpener.open(dir, config);
    }

    /** Repairs a damaged queue directory; see {@code BigQueue.repair}. */
    public static dev.bigqueue.RepairReport repair(Path dir) throws IOException {
        return Repair.repair(dir);
    }

    /** Starts the background threads: open's last step. */
    void start() {
        maintenance.start();
        if (pretoucher != null) {
            pretoucher.start();
        }
    }

    /** Undoes {@link #start()} and stops every part for a failed open; close's first steps. */
    void abandon() {
        log.markClosed();
        diskSpace.wakeWaiters();
        maintenance.stop();
        if (pretoucher != null) {
            pretoucher.stop();
        }
        if (appender != null) {
            appender.closeLease();
        }
    }

    private long ownCommittedPosition() {
        return own.committedStreamPosition();
    }

    // ------------------------------------------------------------------ operations

    public long append(byte[] src, int off, int len) {
        checkWritable("enqueue");
        long offset = appender.append(src, off, len);
        afterAppend();
        return offset;
    }

    /** Appends a record with {@code flags} and timestamp {@code millis} (Long.MIN_VALUE: now). */
    public long append(byte[] src, int off, int len, int flags, long millis) {
        long offset = appender.append(src, off, len, flags, millis);
        afterAppend();
        return offset;
    }

    /**
     * The first offset whose timestamp is at least {@code millis} by the largest timestamp seen so
     * far; the tail offset if none is.
     */
    public long offsetForTime(long millis) {
        log.checkOpen();
        try {
            return reader.timeIndex().offsetForTime(millis, tail());
        } catch (IOException e) {
            throw new UncheckedIOException("time index lookup in " + dir + " failed: " + e.getMessage(), e);
        }
    }

    public long append(ByteBuffer src) {
        checkWritable("enqueue");
        long offset = appender.append(src);
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

    /**
     * Throws unless an append on this thread may wait for room under {@code maxDiskBytes}: it may
     * not if the thread holds the lock of a consumer whose position keeps the oldest arena on disk
     * (a requeue, or a sink that enqueues), since only that consumer moving on could make the room.
     */
    private void checkMayWaitForRoom() {
        for (ConsumerState c : consumers) {
            if (c.holdsOldestArenaOnThisThread()) {
                throw new QueueFullException("queue " + dir + " is full (maxDiskBytes with WhenFull.BLOCK), and this"
                        + " enqueue cannot wait for room: it runs inside an operation of " + c.label() + ", whose"
                        + " position keeps the oldest arena on disk, so only that consumer moving on could make"
                        + " room. Raise maxDiskBytes, or enqueue outside the requeue step or drainTo sink");
            }
        }
    }

    /**
     * A future completing, with the durable offset, once {@code offset} (below the tail) is on
     * disk; see {@link DurableFutures}. A read-only queue cannot sync the writer's records.
     */
    public java.util.concurrent.CompletableFuture<Long> whenDurable(long offset) {
        checkWritable("whenDurable");
        return durableFutures.whenDurable(offset);
    }

    /** The exact tail, offset and position together (read-only: the verified tail, looked at afresh). */
    public StreamPoint tail() {
        if (follower != null) {
            follower.advance();
            return follower.tail();
        }
        return appender.tail();
    }

    public boolean isReadOnly() {
        return follower != null;
    }

    /**
     * Throws the read-only error for {@code what} (enqueue, gc, ...) on a read-only queue.
     *
     * @throws IllegalStateException saying why and what to use instead.
     */
    public void checkWritable(String what) {
        if (follower != null) {
            log.checkOpen();
            throw new IllegalStateException("queue " + dir + " was opened read-only (QueueConfig readOnly=true): "
                    + what + " is for the queue's one writer, the process that opened it without readOnly; read"
                    + " through named consumers (Consumers.of(queue).open(name)), which commit their offsets as usual");
        }
    }

    /**
     * Runs {@code step} while no collection pass can run: under the collector's pass lock for the
     * writer; for a read-only queue under the {@link GcFence}, the writer's start looked at afresh
     * first. For steps that check that an arena is still kept and then commit a consumer there.
     */
    public <T> T whileCollectionHeld(java.util.function.Supplier<T> step) {
        if (follower == null) {
            synchronized (gc.passLock()) {
                return step.get();
            }
        }
        try (GcFence fence = GcFence.hold(dir)) {
            log.refreshStart();
            return step.get();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot take the collection fence of queue " + dir + ": " + e.getMessage(),
                    e);
        }
    }

    /** Read-only queues' flush: the open consumers' committed positions are on disk when it returns. */
    public void syncConsumers() {
        for (ConsumerState c : consumers) {
            c.sync();
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

    public RecordReader reader() {
        return reader;
    }

    public Flusher flusher() {
        return flusher;
    }

    public GarbageCollector gc() {
        return gc;
    }

    /** The append path (tests hold its writer lock to keep a sync from starting). */
    Appender appender() {
        return appender;
    }

    public ConsumerState own() {
        return own;
    }

    /** The named consumers' files. */
    public ConsumerStore consumerStore() {
        return consumerStore;
    }

    /** Registers an open named consumer: flushes sync it, close closes it, the full-queue check sees it. */
    void register(ConsumerState consumer) {
        consumers.add(consumer);
    }

    void unregister(ConsumerState consumer) {
        consumers.remove(consumer);
    }

    /** Runs {@code hook} during {@link #close()}, before the final flush (named consumers). */
    void addCloseHook(Runnable hook) {
        closeHooks.add(hook);
    }

    /** Forgets {@code hook}: its owner closed before the queue and must not be kept reachable. */
    void removeCloseHook(Runnable hook) {
        closeHooks.remove(hook);
    }

    public boolean isClosed() {
        return closing.get();
    }

    /**
     * Closes (see the class comment). Idempotent; a concurrent second call waits until the first
     * has finished. The first error is thrown, later ones attached as suppressed.
     */
    @Override
    public void close() throws IOException {
        if (!closing.compareAndSet(false, true)) {
            if (closer != Thread.currentThread()) {
                awaitClosed();
            }
            return;
        }
        closer = Thread.currentThread();
        List<Throwable> errors = new ArrayList<>();
        Throwable flushError = null;
        if (follower != null) {
            try {
                closeReadOnly(errors);
            } finally {
                closed.countDown();
            }
            throwFirst(errors);
            return;
        }
        try {
            log.markClosed();
            diskSpace.wakeWaiters();
            attempt(errors, maintenance::stop);
            attempt(errors, durableFutures::stopSyncing);
            if (pretoucher != null) {
                attempt(errors, pretoucher::stop);
            }
            for (Runnable hook : closeHooks) {
                attempt(errors, hook);
            }
            for (ConsumerState c : consumers) {
                attempt(errors, () -> c.close("closed: the queue was closed"));
            }
            boolean flushed = attempt(errors, () -> {
                try {
                    flusher.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            flushError = flushed ? null : errors.get(errors.size() - 1);
            if (flushed) {
                // Clean only if everything is on disk: a clean state vouches for the tail.
                attempt(errors, () -> appender.underWriteLock(() -> {
                    index.writeCleanTail(appender.tailLocked());
                    index.setState(FileFormat.STATE_CLOSED_CLEANLY);
                    index.force();
                    return null;
                }));
            }
            attempt(errors, appender::closeLease);
            attempt(errors, arenas::close);
            attempt(errors, index::close);
            attempt(errors, () -> {
                try {
                    lock.close();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } finally {
            // Last, whatever failed before: dependent stages of the futures run here and may call
            // the queue, which is closed by now (a nested close returns at once).
            Throwable finalFlushError = flushError;
            attempt(errors, () -> durableFutures.finish(finalFlushError));
            closed.countDown();
        }
        throwFirst(errors);
    }

    /** Close of a read-only queue: nothing of the queue's is written, and it holds no directory lock. */
    private void closeReadOnly(List<Throwable> errors) {
        log.markClosed();
        for (Runnable hook : closeHooks) {
            attempt(errors, hook);
        }
        for (ConsumerState c : consumers) {
            attempt(errors, () -> c.close("closed: the queue was closed"));
        }
        attempt(errors, arenas::close);
        attempt(errors, index::close);
    }

    private void awaitClosed() {
        boolean interrupted = false;
        for (;;) {
            try {
                closed.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    static void throwFirst(List<Throwable> errors) throws IOException {
        if (errors.isEmpty()) {
            return;
        }
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

    static boolean attempt(List<Throwable> errors, Runnable step) {
        try {
            step.run();
            return true;
        } catch (RuntimeException | Error e) {
            errors.add(e);
            return false;
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
            StreamPoint head = index.head();
            return head == null ? 0 : head.offset();
        }

        @Override
        public long committedPosition() {
            StreamPoint head = index.head();
            return head == null ? 0 : head.position();
        }

        @Override
        public void commit(long offset, long position) {
            index.commitHead(offset, position);
        }

        @Override
        public void sync() {
            // Nothing of its own: every flush forces queue.meta after the consumers.
        }
    }
}
