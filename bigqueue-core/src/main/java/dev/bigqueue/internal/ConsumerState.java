package dev.bigqueue.internal;

import dev.bigqueue.MessageHandler;
import dev.bigqueue.QueueClosedException;
import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Collection;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
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
 * <b>MANUAL:</b> only {@link #commit()} moves the committed position, to everything handed out
 * so far.
 *
 * <p><b>Threads and lifetime.</b> The cursor and the commits are guarded by the consumer's lock.
 * The lock is held across application code (a drainTo sink, a read handler, a requeue step) and
 * the waits that code may cause, and across a requeue's append, which may wait for disk room; it
 * is never needed by anything that touches mapped memory, which is protected by pins
 * ({@link Mapping}), so a sink that blocks delays only this consumer. While the holder is in one of
 * those waits the consumer says which ({@link #callback}), and closing does not wait for it: the
 * consumer is then closed without its final commit, and the holder's next step fails as closed.
 * Other threads read {@code cursorOffset} and the committed position (release stores, for lag,
 * the collector and monitoring); they never write them.
 *
 * <p><b>No re-entry from application code.</b> A sink, handler or step must not read, move or
 * commit the consumer that is running it: such a call fails at once ({@link #lockFor}). Allowing it
 * let the nested call move the cursor under the outer one, which then put it back when its
 * application code threw (a message delivered twice, or a commit back into an arena already
 * collected), and reset the flag that lets close pass. Closing the consumer, or the queue, from
 * inside is allowed and behaves as a close from another thread at that moment.
 */
public final class ConsumerState {
    private static final Logger LOG = LoggerFactory.getLogger(ConsumerState.class);
    /** Release stores: other threads read these for lag and GC; a full fence per dequeue buys nothing. */
    private static final VarHandle CURSOR_OFFSET;
    private static final VarHandle COMMITTED_OFFSET;
    private static final VarHandle COMMITTED_POSITION;
    private static final VarHandle CALLBACK;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            CURSOR_OFFSET = l.findVarHandle(ConsumerState.class, "cursorOffset", long.class);
            COMMITTED_OFFSET = l.findVarHandle(ConsumerState.class, "committedOffset", long.class);
            COMMITTED_POSITION = l.findVarHandle(ConsumerState.class, "committedPosition", long.class);
            CALLBACK = l.findVarHandle(ConsumerState.class, "callback", String.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final QueueEngine engine;
    private final RecordLog log;
    private final RecordReader reader;
    private final String label;
    private final PositionStore store;
    /** Not a ReentrantLock: one per dequeue, and its release fence was a measurable part of one. */
    private final ConsumerLock lock = new ConsumerLock();
    private final Cursor cursor = new Cursor();
    /** Offset and position of the message {@link #readNext()} returned last; guarded by the lock. */
    private long readOffset;
    private long readPosition;
    private volatile boolean manual;
    private volatile long committedPosition;
    private volatile long committedOffset;
    private volatile long cursorOffset;
    /** Messages read(handler) has had up to this size stay in {@link #readBuffer} for the next ones. */
    private static final int MAX_KEPT_READ_BUFFER = 1 << 20;
    /** read(handler)'s reused buffer and its read-only view; guarded by the lock. */
    private byte[] readBuffer = new byte[4096];
    private ByteBuffer readView;
    /**
     * What the lock holder is waiting in ("drainTo sink", "read handler", "requeue step", "requeue's
     * append"), else null: set (release) and cleared by the holder before it releases the lock, so
     * under the lock a non-null value means this very thread is inside it. Read by close.
     */
    private volatile String callback;
    private volatile String closedReason;

    /**
     * @throws QueueCorruptedException if the committed position lies before the earliest record
     *     kept and no drop by rule explains it (an arena file the consumer needs is missing).
     */
    public ConsumerState(QueueEngine engine, String label, PositionStore store, boolean manual) {
        this.engine = engine;
        this.log = engine.log();
        this.reader = engine.reader();
        this.label = label;
        this.store = store;
        this.manual = manual;
        StreamPoint committed = new StreamPoint(store.committedOffset(), store.committedPosition());
        StreamPoint tail = engine.tail();
        // Only the writer knows its recovered tail. A read-only queue's tail is what its follower
        // has verified so far, which can lag the writer (another thread may be verifying): a
        // consumer committed past it is ahead of this reader, not past a lost tail, and moving it
        // back would redeliver, or commit it into arenas the writer has collected meanwhile.
        if (!engine.isReadOnly() && (committed.offset() > tail.offset() || committed.position() > tail.position())) {
            // After an OS crash the position can reach the disk while records it passed did not.
            LOG.warn("{} was committed at offset {}, past the recovered tail {}: those records did not survive an OS"
                    + " crash or power loss; it resumes at the tail", label, committed.offset(), tail.offset());
            committed = tail;
            store.commit(committed.offset(), committed.position());
        }
        checkNotBeforeStart(committed);
        this.committedOffset = committed.offset();
        this.committedPosition = committed.position();
        cursor.moveTo(committed);
        cursorOffset = committed.offset();
    }

    private void checkNotBeforeStart(StreamPoint committed) {
        StreamPoint earliest = log.earliest();
        if (committed.position() < earliest.position() && !log.droppedByRule(committed.position())) {
            throw new QueueCorruptedException(FileFormat.arenaFile(log.directory(), log.arenaOf(committed.position())),
                    0, label + " is committed at offset " + committed.offset() + ", but the earliest message on disk is"
                    + " offset " + earliest.offset() + " and no rule dropped the ones between (DROP_OLDEST never did):"
                    + " the arena file holding them is missing or was deleted by hand");
        }
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

    /** The next message's value, consumed; null if there is none now. */
    public byte[] dequeue() {
        return dequeue(MessageCodec.VALUES);
    }

    /** The next message, consumed, as {@code decoder} makes it of the record; null if there is none now. */
    public <T> T dequeue(MessageCodec.Decoder<T> decoder) {
        T m;
        lockFor("dequeue");
        try {
            checkOpen();
            byte[] raw = readNext();
            if (raw == null) {
                commitHandedOut();
                return null;
            }
            m = decoder.decode(readOffset, cursor.stamp, raw);
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
     * Moves past the message at {@code offset} without copying or checking it, if it is the next
     * one and has been appended: for a caller that wrote that record itself and holds what it says
     * (LatestValues' own puts, whose values it has in its map already). Only the record's
     * length is read. Commits as {@link #dequeue()} does.
     *
     * @return whether the consumer moved; false if {@code offset} is not the next message.
     */
    public boolean skip(long offset) {
        lockFor("skip");
        try {
            checkOpen();
            skipDropped();
            long position = cursor.position;
            if (cursor.offset != offset || !reader.skip(cursor)) {
                return false;
            }
            CURSOR_OFFSET.setRelease(this, cursor.offset);
            if (!manual) {
                storeCommit(offset, position);
            }
        } finally {
            lock.unlock();
        }
        countOps(1);
        return true;
    }

    /**
     * Moves up to {@code max} messages into {@code sink}, in order, under one lock and one commit:
     * what {@code max} dequeues would do, without paying the lock and the commit for each. In AUTO
     * mode it commits the position of the first message it moves, as a dequeue does.
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
        lockFor("drainTo");
        try {
            checkOpen();
            while (n < max) {
                byte[] raw = readNext();
                if (raw == null) {
                    break;
                }
                byte[] m = MessageCodec.VALUES.decode(readOffset, cursor.stamp, raw);
                long offset = readOffset;
                long position = readPosition;
                CALLBACK.setRelease(this, "drainTo sink");
                try {
                    sink.add(m);
                } catch (RuntimeException | Error e) {
                    cursor.moveTo(offset, position);
                    throw e;
                } finally {
                    CALLBACK.setRelease(this, null);
                }
                if (n++ == 0) {
                    firstOffset = offset;
                    firstPosition = position;
                }
                checkOpen();
            }
        } finally {
            if (closedReason == null) {
                if (n > 0) {
                    CURSOR_OFFSET.setRelease(this, cursor.offset);
                    if (!manual) {
                        storeCommit(firstOffset, firstPosition);
                    }
                } else {
                    commitHandedOut();
                }
            }
            lock.unlock();
        }
        countOps(n);
        return n;
    }

    /**
     * Hands up to {@code max} messages to {@code handler}, in order, under one lock: each is read
     * (and checked) into this consumer's reused buffer, and handed as a read-only view of it, so
     * nothing is allocated per message. No mapping is pinned while the handler runs (a pin is never
     * held across application code; see {@link Mapping}): the one copy is the price of closing,
     * collecting and evicting never waiting for a handler. In AUTO mode everything handled is
     * committed after the batch. If the handler throws, the message it was handling is the next
     * one, the ones before it count as consumed, and the exception propagates.
     *
     * @return how many messages were handled; 0 if there were none.
     */
    public int read(MessageHandler handler, int max) {
        Objects.requireNonNull(handler, "handler must not be null");
        if (max < 0) {
            throw new IllegalArgumentException("max must be at least 0, was " + max);
        }
        int n = 0;
        lockFor("read");
        try {
            checkOpen();
            while (n < max) {
                byte[] raw = readNext(readBuffer);
                if (raw == null) {
                    break;
                }
                ByteBuffer view = viewOf(raw, cursor.length, cursor.stamp);
                long offset = readOffset;
                long position = readPosition;
                CALLBACK.setRelease(this, "read handler");
                try {
                    handler.onMessage(offset, view);
                } catch (RuntimeException | Error e) {
                    cursor.moveTo(offset, position);
                    throw e;
                } finally {
                    CALLBACK.setRelease(this, null);
                }
                n++;
                checkOpen();
            }
        } finally {
            if (closedReason == null) {
                CURSOR_OFFSET.setRelease(this, cursor.offset);
                if (!manual && cursor.position != committedPosition) {
                    storeCommit(cursor.offset, cursor.position);
                }
            }
            lock.unlock();
        }
        countOps(n);
        return n;
    }

    /** A read-only view of the value in {@code raw[0, length)}; the reused one where it can be. */
    private ByteBuffer viewOf(byte[] raw, int length, long stamp) {
        int flags = MessageCodec.flagsOf(stamp);
        int start = flags == 0 ? 0 : MessageCodec.valueStart(flags, raw, length);
        if (raw.length > MAX_KEPT_READ_BUFFER) {
            return ByteBuffer.wrap(raw, start, length - start).slice().asReadOnlyBuffer();
        }
        if (raw != readBuffer || readView == null) {
            readBuffer = raw; // grown for a bigger message: keep it for the next ones
            readView = ByteBuffer.wrap(raw).asReadOnlyBuffer();
        }
        readView.limit(length).position(start);
        return start == 0 ? readView : readView.slice();
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
            if (!log.awaitRecord(nextPosition(), left)) {
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
     * Reads the message at the cursor and moves past it, first moving past arenas dropped under
     * the cursor; null at the tail. Leaves the message's own offset and position in
     * {@link #readOffset} and {@link #readPosition}. The caller holds the lock.
     */
    private byte[] readNext() {
        return readNext(null);
    }

    /** {@link #readNext()} into {@code into} if the payload fits (see {@link RecordReader}). */
    private byte[] readNext(byte[] into) {
        for (;;) {
            skipDropped();
            readOffset = cursor.offset;
            readPosition = cursor.position;
            byte[] m = reader.read(cursor, into, true);
            if (m != null || cursor.position >= log.earliestPosition()) {
                return m;
            }
            // The arena under the cursor went while it was being read: move on, then read again.
        }
    }

    /** The next message, waiting up to {@code timeout} for one; null if none came. */
    public byte[] dequeue(Duration timeout) throws InterruptedException {
        return dequeue(timeout, MessageCodec.VALUES);
    }

    /** The next message as {@code decoder} makes it, waiting up to {@code timeout}; null if none came. */
    public <T> T dequeue(Duration timeout, MessageCodec.Decoder<T> decoder) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout must not be null; use take() to wait without a limit");
        return dequeueWaiting(timeout.isNegative() ? 0 : saturatedNanos(timeout), decoder);
    }

    /** The next message, waiting as long as it takes. */
    public byte[] take() throws InterruptedException {
        return dequeueWaiting(-1, MessageCodec.VALUES);
    }

    /** The next message as {@code decoder} makes it, waiting as long as it takes. */
    public <T> T take(MessageCodec.Decoder<T> decoder) throws InterruptedException {
        return dequeueWaiting(-1, decoder);
    }

    private <T> T dequeueWaiting(long timeoutNs, MessageCodec.Decoder<T> decoder) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutNs;
        for (;;) {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            T m = dequeue(decoder);
            if (m != null) {
                return m;
            }
            long left = timeoutNs < 0 ? -1 : deadline - System.nanoTime();
            if (timeoutNs >= 0 && left <= 0) {
                return null;
            }
            if (!log.awaitRecord(nextPosition(), left)) {
                return null;
            }
            checkOpen();
        }
    }

    /** The stream position of the next message, for a wait; moves past dropped arenas first. */
    private long nextPosition() {
        lockFor("a waiting read");
        try {
            checkOpen();
            skipDropped();
            return cursor.position;
        } finally {
            lock.unlock();
        }
    }

    /** The next message without consuming it; null if there is none. */
    public byte[] peek() {
        return peek(MessageCodec.VALUES);
    }

    /** The next message as {@code decoder} makes it, without consuming it; null if there is none. */
    public <T> T peek(MessageCodec.Decoder<T> decoder) {
        lockFor("peek");
        try {
            checkOpen();
            for (;;) {
                skipDropped();
                byte[] m = reader.read(cursor, false);
                if (m != null) {
                    return decoder.decode(cursor.offset, cursor.stamp, m);
                }
                if (cursor.position >= log.earliestPosition()) {
                    return null;
                }
            }
        } finally {
            lock.unlock();
        }
    }

    public boolean isEmpty() {
        checkOpen();
        log.refreshTail(); // a read-only queue: what the writer appended since
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
        log.refreshTail();
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
        lockFor("commit");
        try {
            checkOpen();
            storeCommit(cursor.offset, cursor.position);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Commits the messages before {@code offset}: a prefix of what was handed out, so that an
     * application acknowledging messages in order (a forwarder whose sends complete in order)
     * commits exactly what was done. The position is found by skipping record headers from the
     * committed point, so the cost grows with the messages committed, not with the arena.
     *
     * @throws IllegalArgumentException if {@code offset} is outside [committed, position].
     */
    public void commit(long offset) {
        lockFor("commit");
        try {
            checkOpen();
            long from = committedOffset;
            if (offset < from || offset > cursor.offset) {
                throw new IllegalArgumentException(label + ": cannot commit offset " + offset + "; it must lie"
                        + " between the committed position " + from + " and the position " + cursor.offset
                        + " (what was handed out so far), both included");
            }
            if (offset == cursor.offset) {
                storeCommit(cursor.offset, cursor.position);
            } else if (offset > from) {
                commitDropAware(offset, from);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Commits {@code offset}, whose record may have gone with arenas that DROP_OLDEST removed
     * under this consumer: then the earliest record kept is committed instead, as the next read
     * would (if the cursor is past it), since everything before it is gone by rule.
     */
    private void commitDropAware(long offset, long from) {
        try {
            storeCommit(offset, reader.positionOf(offset, new StreamPoint(from, committedPosition)));
        } catch (IllegalArgumentException dropped) {
            StreamPoint earliest = log.earliest();
            if (offset >= earliest.offset()) {
                throw dropped;
            }
            if (cursor.position >= earliest.position() && earliest.position() > committedPosition) {
                storeCommit(earliest.offset(), earliest.position());
            }
        }
    }

    /**
     * Moves to {@code offset}; in AUTO mode that is also committed, in MANUAL mode only if it is
     * before the committed position.
     *
     * @throws IllegalArgumentException if outside [earliestOffset, tailOffset].
     */
    public void seek(long offset) {
        lockFor("seek");
        try {
            checkOpen();
            moveTo(new StreamPoint(offset, reader.positionOf(offset)));
        } finally {
            lock.unlock();
        }
    }

    /** Seeks to the first offset whose timestamp is at least {@code millis} (see QueueEngine.offsetForTime). */
    public void seekToTime(long millis) {
        for (;;) {
            long offset = engine.offsetForTime(millis);
            try {
                seek(offset);
                return;
            } catch (IllegalArgumentException e) {
                if (offset >= log.earliestOffset()) {
                    throw e;
                }
                // Collected between the lookup and the seek: look again.
            }
        }
    }

    /** Moves to the earliest message kept. */
    public void seekToBeginning() {
        lockFor("seekToBeginning");
        try {
            checkOpen();
            for (;;) {
                try {
                    // Through the offset index, so that an earliest record moved on meanwhile is found again.
                    long offset = log.earliestOffset();
                    moveTo(new StreamPoint(offset, reader.positionOf(offset)));
                    return;
                } catch (IllegalArgumentException collectedMeanwhile) {
                    // the earliest arena went between reading earliestOffset and the move: again
                }
            }
        } finally {
            lock.unlock();
        }
    }

    public void seekToEnd() {
        lockFor("seekToEnd");
        try {
            checkOpen();
            moveTo(engine.tail());
        } finally {
            lock.unlock();
        }
    }

    /**
     * Moves the cursor. In AUTO mode that is committed; in MANUAL mode a move back before the
     * committed position is committed too, or the collector (which honours committed positions
     * only) could delete the arenas the consumer went back for. A move back is committed under
     * the collector's pass lock after checking that the target is still on disk, so no pass can
     * delete it in between.
     *
     * @throws IllegalArgumentException if the target was collected meanwhile.
     */
    private void moveTo(StreamPoint target) {
        boolean back = target.position() < committedPosition;
        if (back) {
            engine.whileCollectionHeld(() -> {
                StreamPoint earliest = log.earliest();
                if (target.position() < earliest.position()) {
                    throw new IllegalArgumentException("offset " + target.offset() + " is outside the queue: earliest"
                            + " retained is " + earliest.offset() + " (collected meanwhile); seek to an offset in ["
                            + earliest.offset() + ", " + log.tailOffset() + "]");
                }
                storeCommit(target.offset(), target.position());
                return null;
            });
        } else if (!manual) {
            storeCommit(target.offset(), target.position());
        }
        cursor.moveTo(target);
        CURSOR_OFFSET.setRelease(this, target.offset());
    }

    /**
     * Dequeues the next message through {@code step}; a non-null result is appended to the tail.
     * Crash-atomic in the sense that matters: the result is appended before the consumer's commit
     * moves past the message, so a crash in between redelivers the message (and may leave a
     * duplicate of the result), never loses it.
     *
     * @return false if there was no message.
     */
    public boolean requeue(Function<byte[], byte[]> step) {
        Objects.requireNonNull(step, "step must not be null");
        lockFor("requeue");
        try {
            checkOpen();
            byte[] m;
            for (;;) {
                skipDropped();
                m = reader.read(cursor, false);
                if (m != null || cursor.position >= log.earliestPosition()) {
                    break;
                }
            }
            if (m == null) {
                return false;
            }
            long offset = cursor.offset;
            long position = cursor.position;
            byte[] value = MessageCodec.VALUES.decode(offset, cursor.stamp, m);
            byte[] result;
            CALLBACK.setRelease(this, "requeue step");
            try {
                result = step.apply(value);
            } finally {
                CALLBACK.setRelease(this, null);
            }
            checkOpen();
            if (result != null) {
                engine.checkWritable("requeue (which appends the step's result)");
                // At maxDiskBytes with BLOCK the append waits for room that other consumers make:
                // a close must not wait for that.
                CALLBACK.setRelease(this, "requeue's append");
                try {
                    appendRequeued(m, cursor.stamp, result);
                } finally {
                    CALLBACK.setRelease(this, null);
                }
                checkOpen();
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

    /**
     * Appends a requeue step's result: a plain message as it is; a message with a key or headers
     * keeps them (the payload's prefix before the value), with the step's result as its value, and
     * stays a tombstone only if it was one and the result is empty. The timestamp is the requeue's.
     */
    private void appendRequeued(byte[] payload, long stamp, byte[] result) {
        int flags = MessageCodec.flagsOf(stamp);
        if (flags == 0) {
            engine.append(result, 0, result.length);
            return;
        }
        int start = MessageCodec.valueStart(flags, payload, payload.length);
        boolean tombstone = (flags & MessageCodec.FLAG_TOMBSTONE) != 0 && result.length == 0;
        byte[] record = java.util.Arrays.copyOf(payload, start + result.length);
        System.arraycopy(result, 0, record, start, result.length);
        engine.append(record, 0, record.length, tombstone ? flags : flags & ~MessageCodec.FLAG_TOMBSTONE,
                Long.MIN_VALUE);
    }

    /**
     * Moves a cursor that fell behind the earliest record to it: with a WARN when a rule dropped
     * the records it missed; as damage otherwise. The caller holds the lock.
     */
    private void skipDropped() {
        StreamPoint earliest = log.earliest();
        if (cursor.position >= earliest.position()) {
            return;
        }
        if (!log.droppedByRule(cursor.position)) {
            throw new QueueCorruptedException(FileFormat.arenaFile(log.directory(), log.arenaOf(cursor.position)), 0,
                    label + " is at offset " + cursor.offset + ", but the earliest message on disk is offset "
                    + earliest.offset() + " and no rule dropped the ones between: the arena file holding them is"
                    + " missing or was deleted by hand");
        }
        LOG.warn("{} was behind the earliest message on disk (arenas dropped by a rule: retention, or DROP_OLDEST at"
                + " maxDiskBytes): {}"
                + " message(s), offsets {}..{}, were not read; continuing at offset {}", label,
                earliest.offset() - cursor.offset, cursor.offset, earliest.offset() - 1, earliest.offset());
        cursor.moveTo(earliest);
        CURSOR_OFFSET.setRelease(this, earliest.offset());
        storeCommit(earliest.offset(), earliest.position());
    }

    /**
     * AUTO: a call that finds nothing new is the "next dequeue" that commits what was handed out
     * before. Without it a consumer that has read everything would keep its last message (or the
     * rest of its last batch) uncommitted, holding arenas on disk for ever, and at maxDiskBytes
     * with BLOCK the producers would wait for room that only its next message could make.
     */
    private void commitHandedOut() {
        if (!manual && cursor.position != committedPosition) {
            storeCommit(cursor.offset, cursor.position);
        }
    }

    private void storeCommit(long offset, long position) {
        store.commit(offset, position);
        COMMITTED_OFFSET.setRelease(this, offset);
        COMMITTED_POSITION.setRelease(this, position);
    }

    /**
     * Whether the thread calling holds this consumer's lock while its committed position keeps
     * the oldest arena on disk: then an append from it (a requeue, a sink enqueuing) must not wait
     * for room, which only this consumer moving on could make.
     */
    boolean holdsOldestArenaOnThisThread() {
        return lock.isHeldByCurrentThread()
                && log.arenaOf(committedPosition) <= log.arenas().lowestId();
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
     * Stops this consumer (Consumer.close, Consumers.delete, the queue closing): in AUTO mode
     * everything handed out is committed (the application had it); in MANUAL mode only what was
     * committed counts; then its position store is synced and released. Idempotent.
     *
     * <p>It never waits for application code: if another thread holds the lock while it runs a sink
     * or a step, the consumer is closed without that final commit (what it handed out comes again
     * after a restart: at least once) and that thread's next step fails as closed. An operation in
     * progress that is not in application code is short and waits for nothing of this consumer's,
     * so waiting for it ends.
     */
    public void close(String reason) {
        try {
            stop(reason);
        } finally {
            store.close();
        }
    }

    private void stop(String reason) {
        long parkNs = 10_000;
        for (;;) {
            // First: the holder may be this very thread, closing from inside its own sink or handler
            // (the lock is reentrant), with the cursor already past the message it is handling.
            if (callback != null) {
                if (closedReason == null) {
                    closedReason = reason;
                }
                return;
            }
            if (lock.tryLock()) {
                try {
                    if (closedReason == null) {
                        if (!manual) {
                            storeCommit(cursor.offset, cursor.position);
                        }
                        closedReason = reason;
                    }
                    return;
                } finally {
                    lock.unlock();
                }
            }
            // The holder is in a short step: look again shortly (ConsumerLock parks the same way).
            LockSupport.parkNanos(this, parkNs);
            parkNs = Math.min(parkNs * 2, 1_000_000);
        }
    }

    public boolean isClosed() {
        return closedReason != null;
    }

    /**
     * Takes the lock for {@code op}, refusing a call from inside this consumer's own sink, handler or
     * step (see the class comment).
     */
    private void lockFor(String op) {
        lock.lock();
        String running = callback;
        if (running != null) {
            lock.unlock();
            throw new IllegalStateException(label + ": " + op + " was called from inside its own " + running
                    + "; a sink, handler or requeue step must not read, move or commit the consumer running it"
                    + " (it may close it, and use other consumers and the queue)");
        }
    }

    private void checkOpen() {
        log.checkOpen();
        String reason = closedReason;
        if (reason != null) {
            if (log.isClosed()) {
                throw new QueueClosedException(label + " is " + reason);
            }
            throw new IllegalStateException(label + " is " + reason);
        }
    }
}
