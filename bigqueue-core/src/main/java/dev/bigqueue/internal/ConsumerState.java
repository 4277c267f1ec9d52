package dev.bigqueue.internal;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Collection;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One consumer's reading logic, shared by the queue's own consumer and the named consumers: a
 * {@link Cursor} guarded by a lock (so several threads sharing one consumer compete for messages,
 * each delivered to exactly one of them) and a {@link PositionStore} for the committed position.
 *
 * <p><b>Commit rule (AUTO):</b> a dequeue commits the position of the message it returns, not
 * the one after it; the message is committed as consumed by the next dequeue or by close. So a
 * process killed right after a dequeue returned gets that message again on restart: at least
 * once, never skipped. A drainTo is one read of several messages: it commits the position of
 * the first, and a kill while the application works through the batch delivers all of it again.
 * With several threads sharing one consumer, a message still being processed by one thread
 * counts as consumed once another thread dequeues; use one consumer per thread, or MANUAL
 * commits, where that matters. <b>MANUAL:</b> only {@link #commit()} moves the committed
 * position, to everything handed out so far.
 */
public final class ConsumerState {
    private static final Logger LOG = LoggerFactory.getLogger(ConsumerState.class);
    /** Release stores: other threads read these for lag and GC; a full fence per dequeue buys nothing. */
    private static final VarHandle CURSOR_OFFSET;
    private static final VarHandle COMMITTED_OFFSET;
    private static final VarHandle COMMITTED_POSITION;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            CURSOR_OFFSET = l.findVarHandle(ConsumerState.class, "cursorOffset", long.class);
            COMMITTED_OFFSET = l.findVarHandle(ConsumerState.class, "committedOffset", long.class);
            COMMITTED_POSITION = l.findVarHandle(ConsumerState.class, "committedPosition", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    private final QueueEngine engine;
    private final RecordLog log;
    private final String label;
    private final PositionStore store;
    /** Not a ReentrantLock: one per dequeue, and its release fence was a measurable part of one. */
    private final ConsumerLock lock = new ConsumerLock();
    private final Cursor cursor = new Cursor();
    /** Offset and position of the message {@link #readNext()} returned last; guarded by the lock. */
    private long readOffset;
    private long readPosition;
    private final Runnable leaseRevoker = this::revokeLease;
    private volatile boolean manual;
    private volatile long committedPosition;
    private volatile long committedOffset;
    private volatile long cursorOffset;
    private volatile boolean closed;
    private String closedReason;

    public ConsumerState(QueueEngine engine, String label, PositionStore store, boolean manual) {
        this.engine = engine;
        this.log = engine.log();
        cursor.leasing = true;
        log.arenas().addReadLeaseRevoker(leaseRevoker);
        this.label = label;
        this.store = store;
        this.manual = manual;
        long offset = store.committedOffset();
        long position = store.committedPosition();
        long tailOffset = log.tailOffset();
        long tailPosition = log.tailPosition();
        if (offset > tailOffset || position > tailPosition) {
            // After an OS crash the position can reach the disk while records it passed did not.
            LOG.warn("{} of queue {} was committed at offset {}, past the recovered tail {}: those records did not"
                    + " survive an OS crash or power loss; it resumes at the tail", label, log.directory(), offset,
                    tailOffset);
            offset = tailOffset;
            position = tailPosition;
            store.commit(offset, position);
        }
        this.committedOffset = offset;
        this.committedPosition = position;
        cursor.moveTo(committedOffset, committedPosition);
        cursorOffset = committedOffset;
    }

    public String label() {
        return label;
    }

    public boolean isManual() {
        return manual;
    }

    public void setManual(boolean on) {
        manual = on;
    }

    /** The next message, consumed; null if there is none now. */
    public byte[] dequeue() {
        byte[] m;
        lock.lock();
        try {
            checkOpen();
            m = readNext();
            if (m == null) {
                return null;
            }
            CURSOR_OFFSET.setRelease(this, cursor.offset);
            if (!manual) {
                storeCommit(readOffset, readPosition);
            }
        } finally {
            lock.unlock();
        }
        countOps(1);
        return m;
    }

    /**
     * Moves up to {@code max} messages into {@code sink}, in order, under one lock and one commit:
     * what {@code max} dequeues would do, without paying the lock and the commit for each. In AUTO
     * mode it commits the position of the first message it moves, as a dequeue does: the batch
     * counts as consumed at the next call or close, so a process killed while working through it
     * gets all of it again.
     *
     * <p>If {@code sink} throws, the messages it took count as dequeued and the one it refused is
     * the next one; the exception propagates.
     *
     * @return how many messages were moved; 0 if there were none.
     */
    public int drainTo(Collection<? super byte[]> sink, int max) {
        Objects.requireNonNull(sink, "sink must not be null");
        if (max < 0) {
            throw new IllegalArgumentException("max must be at least 0, was " + max);
        }
        int n = 0;
        long firstOffset = 0;
        long firstPosition = 0;
        lock.lock();
        try {
            checkOpen();
            while (n < max) {
                byte[] m = readNext();
                if (m == null) {
                    break;
                }
                // Copied before the sink runs: a sink that reads this consumer again (the lock is
                // reentrant) moves readOffset on.
                long offset = readOffset;
                long position = readPosition;
                try {
                    sink.add(m);
                } catch (RuntimeException | Error e) {
                    cursor.moveTo(offset, position);
                    throw e;
                }
                if (n++ == 0) {
                    firstOffset = offset;
                    firstPosition = position;
                }
            }
        } finally {
            if (n > 0) {
                CURSOR_OFFSET.setRelease(this, cursor.offset);
                if (!manual) {
                    storeCommit(firstOffset, firstPosition);
                }
            }
            lock.unlock();
        }
        countOps(n);
        return n;
    }

    /**
     * {@link #drainTo(Collection, int)}, first waiting up to {@code timeout} for a message if there
     * is none; 0 if none came in time.
     */
    public int drainTo(Collection<? super byte[]> sink, int max, Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout must not be null");
        long timeoutNs = timeout.isNegative() ? 0 : saturatedNanos(timeout);
        long deadline = System.nanoTime() + timeoutNs;
        for (;;) {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            int n = drainTo(sink, max);
            long left = deadline - System.nanoTime();
            if (n > 0 || max == 0 || left <= 0) {
                return n;
            }
            if (!log.awaitRecord(position0(), left)) {
                return 0;
            }
            checkOpen();
        }
    }

    /** {@code d} in nanoseconds, capped where it would overflow (a wait "forever"). */
    public static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 2;
        }
    }

    /**
     * Reads the message at the cursor and moves past it, first moving past arenas deleted under the
     * cursor; null at the tail. Leaves the message's own offset and position in {@link #readOffset}
     * and {@link #readPosition}. The caller holds the lock.
     */
    private byte[] readNext() {
        byte[] m;
        do {
            // Again if the collector deleted the arena under a cursor behind the earliest record.
            skipDropped();
            readOffset = cursor.offset;
            readPosition = cursor.position;
            m = log.read(cursor, true);
        } while (m == null && cursor.position < log.earliestPosition());
        return m;
    }

    /** The next message, waiting up to {@code timeout} for one; null if none came. */
    public byte[] dequeue(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout must not be null; use take() to wait without a limit");
        return dequeueWaiting(timeout.isNegative() ? 0 : timeout.toNanos());
    }

    /** The next message, waiting as long as it takes. */
    public byte[] take() throws InterruptedException {
        return dequeueWaiting(-1);
    }

    private byte[] dequeueWaiting(long timeoutNs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutNs;
        for (;;) {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            byte[] m = dequeue();
            if (m != null) {
                return m;
            }
            long left = timeoutNs < 0 ? -1 : deadline - System.nanoTime();
            if (timeoutNs >= 0 && left <= 0) {
                return null;
            }
            long position = position0();
            if (!log.awaitRecord(position, left)) {
                return null;
            }
            checkOpen();
        }
    }

    private long position0() {
        lock.lock();
        try {
            skipDropped();
            return cursor.position;
        } finally {
            lock.unlock();
        }
    }

    /** The next message without consuming it; null if there is none. */
    public byte[] peek() {
        lock.lock();
        try {
            checkOpen();
            return readSkippingDropped(false);
        } finally {
            lock.unlock();
        }
    }

    public boolean isEmpty() {
        checkOpen();
        return Math.max(cursorOffset, log.earliestOffset()) >= log.tailOffset();
    }

    /** Offset of the next message this consumer gets. */
    public long position() {
        checkOpen();
        return Math.max(cursorOffset, log.earliestOffset());
    }

    /** Messages after {@link #position()}. */
    public long lag() {
        checkOpen();
        return Math.max(0, log.tailOffset() - Math.max(cursorOffset, log.earliestOffset()));
    }

    public long committedOffset() {
        return committedOffset;
    }

    /** Stream position of the committed offset (for the garbage collector). */
    public long committedStreamPosition() {
        return committedPosition;
    }

    /** Commits everything handed out so far. */
    public void commit() {
        lock.lock();
        try {
            checkOpen();
            storeCommit(cursor.offset, cursor.position);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Moves to {@code offset}; in AUTO mode that is also committed, in MANUAL mode only if it is
     * before the committed position.
     *
     * @throws IllegalArgumentException if outside [earliestOffset, tailOffset].
     */
    public void seek(long offset) {
        lock.lock();
        try {
            checkOpen();
            long position = log.positionOf(offset);
            moveTo(offset, position);
        } finally {
            lock.unlock();
        }
    }

    public void seekToBeginning() {
        lock.lock();
        try {
            checkOpen();
            long[] earliest = log.earliest();
            moveTo(earliest[0], earliest[1]);
        } finally {
            lock.unlock();
        }
    }

    public void seekToEnd() {
        lock.lock();
        try {
            checkOpen();
            long[] tail = log.underWriteLock(() -> new long[] {log.tailOffset(), log.tailPosition()});
            moveTo(tail[0], tail[1]);
        } finally {
            lock.unlock();
        }
    }

    private void moveTo(long offset, long position) {
        cursor.moveTo(offset, position);
        CURSOR_OFFSET.setRelease(this, offset);
        // MANUAL: a move back before the committed position is committed too, or GC (which
        // honours committed positions only) could delete the arenas the consumer went back for.
        if (!manual || offset < committedOffset) {
            storeCommit(offset, position);
        }
    }

    /**
     * Dequeues the next message through {@code step}; a non-null result is appended to the tail.
     * Crash-atomic in the sense that matters: the result is appended before the consumer's commit
     * moves past the message, so a crash in between redelivers the message (and may leave a
     * duplicate of the result), never loses it.
     *
     * @return false if there was no message.
     */
    public boolean requeue(java.util.function.Function<byte[], byte[]> step) {
        Objects.requireNonNull(step, "step must not be null");
        lock.lock();
        try {
            checkOpen();
            byte[] m = readSkippingDropped(false);
            if (m == null) {
                return false;
            }
            long offset = cursor.offset;
            long position = cursor.position;
            byte[] result = step.apply(m);
            if (result != null) {
                engine.append(result, 0, result.length);
            }
            cursor.moveTo(offset + 1, position + FileFormat.recordBytes(m.length));
            CURSOR_OFFSET.setRelease(this, cursor.offset);
            if (!manual) {
                // The message was fully handled (its result appended): commit past it.
                storeCommit(cursor.offset, cursor.position);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void skipDropped() {
        long[] earliest = log.earliest();
        if (cursor.position < earliest[1]) {
            LOG.warn("{} of queue {} was behind the earliest message on disk (arenas deleted by maxDiskBytes with"
                    + " DROP_OLDEST, or while it sought back): {} message(s), offsets {}..{}, were not read;"
                    + " continuing at offset {}", label, log.directory(), earliest[0] - cursor.offset, cursor.offset,
                    earliest[0] - 1, earliest[0]);
            cursor.moveTo(earliest[0], earliest[1]);
            CURSOR_OFFSET.setRelease(this, earliest[0]);
            storeCommit(earliest[0], earliest[1]);
        }
    }

    /**
     * Reads at the cursor, moving past arenas deleted under it first; null only at the tail.
     * (RecordLog.read also answers null when the cursor fell behind the earliest record.)
     */
    private byte[] readSkippingDropped(boolean advance) {
        for (;;) {
            skipDropped();
            byte[] m = log.read(cursor, advance);
            if (m != null || cursor.position >= log.earliestPosition()) {
                return m;
            }
        }
    }

    private void storeCommit(long offset, long position) {
        store.commit(offset, position);
        COMMITTED_OFFSET.setRelease(this, offset);
        COMMITTED_POSITION.setRelease(this, position);
    }

    private void countOps(int n) {
        if (n == 0) {
            return;
        }
        try {
            engine.flusher().countOps(n);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Makes the committed position durable. */
    public void sync() {
        store.sync();
    }

    /**
     * Stops this consumer: in AUTO mode everything handed out is committed (the application had
     * it); in MANUAL mode only what was committed counts.
     */
    public void close(String reason) {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            if (!manual) {
                storeCommit(cursor.offset, cursor.position);
            }
            closed = true;
            closedReason = reason;
            log.dropReadLease(cursor);
            log.arenas().removeReadLeaseRevoker(leaseRevoker);
        } finally {
            lock.unlock();
        }
    }

    /** Gives up the cursor's leased arena when the ArenaManager needs it: at once if idle. */
    private void revokeLease() {
        cursor.revokeRequested = true;
        if (lock.tryLock()) {
            try {
                log.applyLeaseRevoke(cursor);
            } finally {
                lock.unlock();
            }
        }
    }

    public boolean isClosed() {
        return closed;
    }

    private void checkOpen() {
        log.checkOpen();
        if (closed) {
            throw new IllegalStateException(label + " is " + closedReason);
        }
    }
}
