package dev.bigqueue.consumer;

import dev.bigqueue.Message;
import dev.bigqueue.MessageHandler;
import dev.bigqueue.QueueClosedException;
import dev.bigqueue.internal.ConsumerState;
import dev.bigqueue.internal.ConsumerStore;
import dev.bigqueue.internal.MessageCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Objects;
import java.util.function.Function;

/**
 * One named, durable reader of a queue, made by {@link Consumers#open(String)}. It reads every
 * message of the queue in enqueue order, independently of the queue's own consumer and of every
 * other named consumer, and keeps its offset in {@code consumers/NAME.consumer} in the queue
 * directory so that it resumes there after a restart.
 *
 * <p><b>Guarantees.</b> After a restart, including after {@code kill -9} at any instant, the
 * consumer resumes at or before the last message it handed out: at least once, never a skipped
 * message. What may come again depends on the {@link CommitMode}: with {@code AUTO} at most the
 * last message handed out; with {@code MANUAL} everything handed out since the last
 * {@link #commit()}. Offsets survive an OS crash or power loss once the queue has flushed
 * ({@code BigQueue.flush()}, {@code flushInterval}, {@code flushEveryOps}).
 *
 * <p><b>Threads.</b> Every method may be called from any number of threads. Threads sharing one
 * consumer compete: each message goes to exactly one of them. In {@code AUTO} mode a message one
 * thread is still processing counts as consumed once another thread dequeues; use
 * {@code MANUAL} and {@link #commit()} when a crash must redeliver in-flight messages of several
 * threads.
 *
 * <p><b>Where the guarantees stop.</b> Under {@code maxDiskBytes} with {@code WhenFull.DROP_OLDEST}
 * the queue may delete messages this consumer has not read; it then moves to
 * {@code earliestOffset()} and logs a WARN naming the consumer and how many messages it missed.
 * Nothing else deletes a message at or after a consumer's committed position, whether the consumer
 * is open or only persisted ({@link #seek} back before it is the one way to ask for older ones).
 *
 * <p><b>Lifecycle.</b> A consumer stays usable until {@link #close()}, {@link Consumers#delete},
 * or the queue's {@code close()}; after that every method but {@link #name()} and
 * {@link #commitMode()} throws {@link IllegalStateException} ({@link QueueClosedException} once
 * the queue is closed) saying what happened and how to get a consumer again.
 */
public final class Consumer implements AutoCloseable {
    /** Blocking reads wake at least this often to notice that the consumer was closed or deleted. */
    private static final long WAIT_SLICE_NS = Duration.ofMillis(50).toNanos();

    private final Consumers owner;
    private final ConsumerStore store;
    private final String name;
    private final CommitMode mode;
    private final ConsumerState state;
    private volatile String closedReason;

    Consumer(Consumers owner, ConsumerStore store, String name, CommitMode mode, ConsumerState state) {
        this.owner = owner;
        this.store = store;
        this.name = name;
        this.mode = mode;
        this.state = state;
    }

    /** The consumer's name, as given to {@link Consumers#open(String)}. */
    public String name() {
        return name;
    }

    /** The commit mode this consumer was opened with. */
    public CommitMode commitMode() {
        return mode;
    }

    /** The next message, consumed; null if there is none now. */
    public byte[] dequeue() {
        return state.dequeue();
    }

    /**
     * Moves past the message at {@code offset} without reading it, if it is the next one and is in
     * the queue; for a record this process wrote and holds (see {@link ConsumerState#skip(long)}).
     */
    boolean skipOwn(long offset) {
        return state.skip(offset);
    }

    /** {@link #dequeue()} decoded as UTF-8; null if there is none now. */
    public String dequeueString() {
        byte[] m = dequeue();
        return m == null ? null : new String(m, StandardCharsets.UTF_8);
    }

    /**
     * The next message, waiting up to {@code timeout} for one to be enqueued.
     *
     * @return null if none came in time.
     * @throws QueueClosedException if the queue is closed while waiting.
     * @throws IllegalStateException if the consumer is closed or deleted while waiting.
     */
    public byte[] dequeue(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout must not be null; use take() to wait without a limit");
        long timeoutNs = timeout.isNegative() ? 0 : ConsumerState.saturatedNanos(timeout);
        long deadline = System.nanoTime() + timeoutNs;
        for (;;) {
            long leftNs = Math.max(0, deadline - System.nanoTime());
            byte[] m = state.dequeue(Duration.ofNanos(Math.min(leftNs, WAIT_SLICE_NS)));
            if (m != null || leftNs <= WAIT_SLICE_NS) {
                return m;
            }
        }
    }

    /**
     * The next message, waiting as long as it takes; wakes as soon as one is enqueued.
     *
     * @throws QueueClosedException if the queue is closed while waiting.
     * @throws IllegalStateException if the consumer is closed or deleted while waiting.
     */
    public byte[] take() throws InterruptedException {
        for (;;) {
            // Waiting in slices lets a close() or delete() of this consumer end the wait.
            byte[] m = state.dequeue(Duration.ofNanos(WAIT_SLICE_NS));
            if (m != null) {
                return m;
            }
        }
    }

    /**
     * Moves up to {@code maxMessages} messages into {@code sink}, in order: what as many
     * {@link #dequeue()} calls would do, but under one lock and, in {@code AUTO} mode, one commit,
     * which makes it the fastest way to read a backlog. In {@code MANUAL} mode,
     * {@code drainTo} then {@link #commit()} processes a batch at least once.
     *
     * <p>If {@code sink} throws, the messages it took count as dequeued, the one it refused is the
     * next one, and the exception propagates.
     *
     * <p>The sink must not read, move or commit this consumer (dequeue, peek, drainTo, read,
     * requeue, commit, seek): such a call throws {@code IllegalStateException} and changes nothing.
     * It may use other consumers and the queue. It may close this consumer or the queue: the
     * consumer is then closed without a final commit (what this call handed out comes again after a
     * reopen), and this call ends with an {@code IllegalStateException} once the sink returns.
     *
     * @return how many messages were moved; 0 if there were none.
     * @throws IllegalArgumentException if {@code maxMessages} is negative.
     */
    public int drainTo(Collection<? super byte[]> sink, int maxMessages) {
        return state.drainTo(sink, maxMessages);
    }

    /**
     * Hands up to {@code max} messages to {@code handler}, in order, each as a read-only
     * {@link java.nio.ByteBuffer} valid only during its call (see {@link MessageHandler}),
     * allocating nothing per message. In {@code AUTO} mode everything handled is committed when it
     * returns (a kill during the batch delivers it again); in {@code MANUAL} mode {@link #commit()}
     * does that. If the handler throws, the message it was handling and the ones after it are not
     * consumed, and the exception propagates. The handler may do what a {@link #drainTo drainTo}
     * sink may, and must not read, move or commit this consumer.
     *
     * @return how many messages were handled; 0 if there were none.
     * @throws IllegalArgumentException if {@code max} is negative.
     */
    public int read(MessageHandler handler, int max) {
        return state.read(handler, max);
    }

    /**
     * {@link #drainTo(Collection, int)}, first waiting up to {@code timeout} for a message to be
     * enqueued if there is none: a consumer's poll loop.
     *
     * @return how many messages were moved; 0 if none came in time.
     * @throws QueueClosedException if the queue is closed while waiting.
     * @throws IllegalStateException if the consumer is closed or deleted while waiting.
     */
    public int drainTo(Collection<? super byte[]> sink, int maxMessages, Duration timeout)
            throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout must not be null");
        long timeoutNs = timeout.isNegative() ? 0 : ConsumerState.saturatedNanos(timeout);
        long deadline = System.nanoTime() + timeoutNs;
        for (;;) {
            long leftNs = Math.max(0, deadline - System.nanoTime());
            int n = state.drainTo(sink, maxMessages, Duration.ofNanos(Math.min(leftNs, WAIT_SLICE_NS)));
            if (n > 0 || maxMessages == 0 || leftNs <= WAIT_SLICE_NS) {
                return n;
            }
        }
    }

    /**
     * The next message with its offset, timestamp, key and headers, consumed; null if there is
     * none now. Commits as {@link #dequeue()} does.
     */
    public Message dequeueMessage() {
        return state.dequeue(MessageCodec.MESSAGES);
    }

    /** {@link #dequeueMessage()}, waiting up to {@code timeout} for one; null if none came in time. */
    public Message dequeueMessage(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout must not be null; use takeMessage() to wait without a limit");
        return dequeue(timeout, MessageCodec.MESSAGES);
    }

    /**
     * {@link #dequeueMessage(Duration)} with the record turned into a {@code T} by {@code decoder}:
     * for {@link LatestValues}' follower, which also counts the bytes of what it reads.
     */
    <T> T dequeue(Duration timeout, MessageCodec.Decoder<T> decoder) throws InterruptedException {
        long timeoutNs = timeout.isNegative() ? 0 : ConsumerState.saturatedNanos(timeout);
        long deadline = System.nanoTime() + timeoutNs;
        for (;;) {
            long leftNs = Math.max(0, deadline - System.nanoTime());
            T m = state.dequeue(Duration.ofNanos(Math.min(leftNs, WAIT_SLICE_NS)), decoder);
            if (m != null || leftNs <= WAIT_SLICE_NS) {
                return m;
            }
        }
    }

    /** {@link #dequeueMessage()}, waiting as long as it takes. */
    public Message takeMessage() throws InterruptedException {
        for (;;) {
            Message m = state.dequeue(Duration.ofNanos(WAIT_SLICE_NS), MessageCodec.MESSAGES);
            if (m != null) {
                return m;
            }
        }
    }

    /** The next message with its offset, timestamp, key and headers, without consuming it; null if none. */
    public Message peekMessage() {
        return state.peek(MessageCodec.MESSAGES);
    }

    /**
     * {@link #seek} to {@code queue.offsetForTime(time)}: the first message whose timestamp is at
     * least {@code time} by the largest timestamp seen so far, or the tail if there is none. Found
     * through the sparse time index, not by reading the queue.
     */
    public void seekToTime(Instant time) {
        Objects.requireNonNull(time, "time must not be null");
        state.seekToTime(MessageCodec.millisAtOrAfter(time));
    }

    /** The next message without consuming it; null if there is none now. */
    public byte[] peek() {
        return state.peek();
    }

    /** Whether this consumer has read everything enqueued so far. */
    public boolean isEmpty() {
        return state.isEmpty();
    }

    /** The offset of the next message this consumer gets. */
    public long position() {
        return state.position();
    }

    /** Messages enqueued but not yet handed to this consumer: {@code tailOffset() - position()}. */
    public long lag() {
        return state.lag();
    }

    /**
     * The offset a restart resumes from. In {@code AUTO} mode this is the offset of the last message
     * handed out (it is committed as consumed by the next dequeue, {@link #commit()} or close), so it
     * trails {@link #position()} by one after a dequeue; in {@code MANUAL} mode it is the position at
     * the last {@link #commit()}.
     */
    public long committedPosition() {
        ensureOpen();
        return state.committedOffset();
    }

    /**
     * Makes {@link #position()} the committed position: everything handed out so far is never
     * delivered again, even after {@code kill -9}. Needed in {@code MANUAL} mode; in {@code AUTO}
     * mode it also commits the last message handed out.
     */
    public void commit() {
        state.commit();
    }

    /**
     * Commits the messages before {@code offset}, and not the ones after it: for an application
     * that acknowledges what it handed out in order, but later than it dequeues (a forwarder with
     * several messages in flight commits each acknowledged prefix). Meant for {@code MANUAL} mode;
     * {@code commit(position())} is {@link #commit()}, and committing the committed position
     * again does nothing. The cost grows with the number of messages committed.
     *
     * @throws IllegalArgumentException if {@code offset} is outside
     *     [{@link #committedPosition()}, {@link #position()}]: an offset before the committed
     *     position cannot be taken back by a commit ({@link #seek} back for that), and one after
     *     the position was not handed out yet.
     */
    public void commit(long offset) {
        state.commit(offset);
    }

    /**
     * Moves to {@code offset}, so that the next dequeue returns the message with that offset (or
     * waits for it, at the tail). Fast at any distance: found through the arenas' sparse offset
     * index, not by reading the queue. In {@code AUTO} mode the new position is also committed. In
     * {@code MANUAL} mode a seek forward is committed only by {@link #commit()}, but a seek back
     * before {@link #committedPosition()} is committed at once: the committed positions are what
     * keeps arenas from the garbage collector, so this is what keeps the messages you went back
     * for (a crash then redelivers from there).
     *
     * <p>A target before every consumer's committed position may be in an arena the garbage
     * collector is deleting at that moment: the seek then throws as below, or, if the arena goes
     * while the seek runs, the consumer continues at {@code earliestOffset()} with a WARN.
     *
     * @throws IllegalArgumentException if {@code offset} is outside
     *     [{@code earliestOffset()}, {@code tailOffset()}].
     */
    public void seek(long offset) {
        state.seek(offset);
    }

    /** {@link #seek} to the oldest message still on disk, {@code earliestOffset()}. */
    public void seekToBeginning() {
        state.seekToBeginning();
    }

    /** {@link #seek} to the tail: only messages enqueued from now on will be read. */
    public void seekToEnd() {
        state.seekToEnd();
    }

    /**
     * Process-again: hands the next message to {@code step}; if it returns non-null, the result is
     * appended to the queue's tail and the consumer moves past the message. The append happens
     * before the commit, so a crash in between redelivers the message (and may leave a duplicate
     * of the result) but never loses it. With {@code step} returning the message itself, items
     * cycle through the queue forever in fixed memory, provided the queue collects its arenas.
     * {@code step} sees the message's value; a message with a key or headers is appended again with
     * them and the result as its value (a tombstone stays one if the result is empty), timestamped
     * at the requeue.
     *
     * <p>{@code step} runs while this consumer is locked: other threads of this consumer wait, so
     * keep it short. It may do what a {@link #drainTo drainTo} sink may, and must not read, move or
     * commit this consumer. A close while the step runs or the append waits for room (maxDiskBytes
     * with BLOCK) does not wait for them; the requeue then ends with an
     * {@code IllegalStateException} and the message comes again after a reopen.
     *
     * @return false if there was no message (step was not called).
     */
    public boolean requeue(Function<byte[], byte[]> step) {
        return state.requeue(step);
    }

    /**
     * Releases this consumer's in-memory handle (its offset file stays, so does its hold on the
     * arenas it has not read). In {@code AUTO} mode everything handed out is committed first; in
     * {@code MANUAL} mode only what was committed counts. {@link Consumers#open(String)} opens it
     * again. Calling it again does nothing.
     */
    @Override
    public void close() {
        owner.close(this, "closed: Consumer.close() was called; open it again with Consumers.of(queue).open(\""
                + name + "\")");
    }

    /** Stops the consumer for good (close, delete, queue close); idempotent. */
    synchronized void shutdown(String reason) {
        if (closedReason != null) {
            return;
        }
        closedReason = reason;
        // Commits (AUTO), syncs the position, waits for the accesses in progress and unmaps.
        store.close(state, reason);
    }

    boolean isShutdown() {
        return closedReason != null;
    }

    Consumers owner() {
        return owner;
    }

    /** Throws what a closed queue or a closed/deleted consumer throws. */
    void ensureOpen() {
        store.checkOpen();
        String reason = closedReason;
        if (reason != null) {
            throw new IllegalStateException(state.label() + " is " + reason);
        }
    }

    @Override
    public String toString() {
        return "Consumer[" + name + ", " + mode + (closedReason != null ? ", closed" : "") + "]";
    }
}
