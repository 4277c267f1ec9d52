package dev.bigqueue.internal;

import dev.bigqueue.QueueClosedException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The record stream across arenas as every reader and writer shares it: its geometry (stream
 * position to arena and index), the published tail, the earliest record kept, the mark of the
 * last drop by rule, waiting for new records, and the closed flag. The {@link Appender} writes it,
 * {@link RecordReader} reads it, the {@link GarbageCollector} shortens it.
 *
 * <p><b>Publication.</b> The tail is two fields written only by the appender: its offset with a
 * release store, then its position with a volatile store after every byte of the record, so a
 * reader that reads the position sees the whole record. They are read separately, so a reader may
 * pair one append's offset with another's position; code that needs them together reads
 * {@link Appender#tail()} under the writer lock. The earliest record and the drop mark are
 * immutable {@link StreamPoint}s published through volatile fields: always read whole.
 */
public final class RecordLog {
    private static final VarHandle PUBLISHED_TAIL_OFFSET;

    static {
        try {
            PUBLISHED_TAIL_OFFSET = MethodHandles.lookup().findVarHandle(RecordLog.class, "publishedTailOffset",
                    long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** A waiting reader spins this long before parking: an active producer hands over in well under it. */
    private static final long SPIN_NS = 20_000;

    private final Path dir;
    private final long dataBytes;
    /** Where data begins in an arena file: after its header and time index. */
    private final int dataStart;
    private final long arenaSize;
    private final ArenaManager arenas;
    private final String closedMessage;

    private volatile long publishedTailOffset;
    private volatile long publishedTailPosition;
    private volatile StreamPoint earliest = StreamPoint.ZERO;
    /** The start after the last drop of unread records by rule; null if there never was one. */
    private volatile StreamPoint dropped;

    private final ReentrantLock waitLock = new ReentrantLock();
    private final Condition appended = waitLock.newCondition();
    private volatile int waitingReaders;
    private volatile boolean closed;
    /**
     * A read-only queue's tail: set once by the opener before the log is shared (published with
     * the engine's final fields); null for a writer.
     */
    private TailFollower follower;

    RecordLog(Path dir, long arenaSize, ArenaManager arenas) {
        this.dir = dir;
        this.dataBytes = FileFormat.dataBytes(arenaSize);
        this.dataStart = FileFormat.arenaDataStart(arenaSize);
        this.arenaSize = arenaSize;
        this.arenas = arenas;
        this.closedMessage = "queue " + dir.toAbsolutePath() + " is closed; open it again with BigQueue.open(..)";
    }

    // ---------------------------------------------------------------- geometry

    public long dataBytesPerArena() {
        return dataBytes;
    }

    long arenaOf(long position) {
        return position / dataBytes;
    }

    int indexInArena(long position) {
        return (int) (dataStart + position % dataBytes);
    }

    /** First stream position held by arena {@code id}. */
    long arenaStart(long id) {
        return id * dataBytes;
    }

    /** One past the last data byte of an arena, as an index in the arena file. */
    int arenaEnd() {
        return (int) (dataStart + dataBytes);
    }

    /** Where data begins in an arena file (after the header and its time index). */
    public int dataStart() {
        return dataStart;
    }

    public long arenaSize() {
        return arenaSize;
    }

    public ArenaManager arenas() {
        return arenas;
    }

    public Path directory() {
        return dir;
    }

    // ---------------------------------------------------------------- tail, earliest, drops

    public long tailOffset() {
        return publishedTailOffset;
    }

    public long tailPosition() {
        return publishedTailPosition;
    }

    /** The appender's publication, after every byte of the record is written. */
    void publishTail(long offset, long position) {
        // One fence per append: the offset is read only for tailOffset()/size().
        PUBLISHED_TAIL_OFFSET.setRelease(this, offset);
        publishedTailPosition = position;
    }

    public StreamPoint earliest() {
        return earliest;
    }

    public long earliestOffset() {
        return earliest.offset();
    }

    public long earliestPosition() {
        return earliest.position();
    }

    void setEarliest(StreamPoint point) {
        earliest = point;
    }

    /**
     * The earliest record after arenas were deleted: the first record of the lowest arena that
     * has one, or {@code tailIfNone} when no record starts before the tail.
     */
    StreamPoint earliestRecord(StreamPoint tailIfNone) {
        StreamPoint first = arenas.earliestRecord();
        if (first == null || (tailIfNone != null && first.position() >= tailIfNone.position())) {
            if (tailIfNone == null) {
                throw new IllegalStateException("no record starts in any arena of " + dir);
            }
            return tailIfNone;
        }
        return first;
    }

    /** The start after the last drop of unread records by rule, or null if there never was one. */
    public StreamPoint dropped() {
        return dropped;
    }

    void setDropped(StreamPoint point) {
        dropped = point;
    }

    /**
     * Whether a reader at {@code position}, before the earliest record, missed records because a
     * rule dropped them (DROP_OLDEST). False means the records it needs are gone without such a
     * rule: damage.
     */
    public boolean droppedByRule(long position) {
        StreamPoint d = dropped;
        return d != null && position < d.position();
    }

    void setFollower(TailFollower f) {
        follower = f;
    }

    /** The follower of a read-only queue, or null for a writer. */
    TailFollower follower() {
        return follower;
    }

    /** Read-only queues: verifies what the writer appended since the last look; nothing for a writer. */
    public void refreshTail() {
        TailFollower f = follower;
        if (f != null) {
            f.advance();
        }
    }

    /** Read-only queues: takes the writer's start (earliest record kept) if it moved; nothing for a writer. */
    public void refreshStart() {
        TailFollower f = follower;
        if (f != null) {
            f.refreshStart();
        }
    }

    public boolean isReadOnly() {
        return follower != null;
    }

    // ---------------------------------------------------------------- waiting

    /**
     * Waits until a record exists at {@code position} (the tail moved past it).
     *
     * @param timeoutNs at most this long; negative means no limit.
     * @return false if the time ran out.
     * @throws QueueClosedException if the queue closes first.
     */
    public boolean awaitRecord(long position, long timeoutNs) throws InterruptedException {
        if (publishedTailPosition > position) {
            return true;
        }
        if (follower != null) {
            // Another process appends: nobody here signals, so look at the mapped tail (parked back-off).
            return follower.await(position, timeoutNs);
        }
        long start = System.nanoTime();
        long deadline = start + timeoutNs;
        // Spin briefly first: a producer that is active hands over in well under a microsecond,
        // while parking costs the consumer a wake-up and the producer a futex call per message.
        long spinUntil = start + (timeoutNs < 0 ? SPIN_NS : Math.min(SPIN_NS, timeoutNs));
        while (System.nanoTime() < spinUntil) {
            if (publishedTailPosition > position) {
                return true;
            }
            checkOpen();
            Thread.onSpinWait();
        }
        waitLock.lockInterruptibly();
        try {
            waitingReaders++;
            try {
                while (publishedTailPosition <= position) {
                    checkOpen();
                    if (timeoutNs < 0) {
                        appended.await();
                    } else {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            return false;
                        }
                        appended.awaitNanos(left);
                    }
                }
                return true;
            } finally {
                waitingReaders--;
            }
        } finally {
            waitLock.unlock();
        }
    }

    /** Wakes waiting readers after an append; cheap when nobody waits. */
    void wakeReaders() {
        if (waitingReaders > 0) {
            waitLock.lock();
            try {
                appended.signalAll();
            } finally {
                waitLock.unlock();
            }
        }
    }

    /** Marks the log closed and wakes every waiting reader, which then throws. */
    void markClosed() {
        closed = true;
        waitLock.lock();
        try {
            appended.signalAll();
        } finally {
            waitLock.unlock();
        }
    }

    public boolean isClosed() {
        return closed;
    }

    public void checkOpen() {
        if (closed) {
            throw new QueueClosedException(closedMessage);
        }
    }

    String closedMessage() {
        return closedMessage;
    }
}
