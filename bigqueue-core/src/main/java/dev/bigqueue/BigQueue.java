package dev.bigqueue;

import dev.bigqueue.internal.ConsumerState;
import dev.bigqueue.internal.Engines;
import dev.bigqueue.internal.MessageCodec;
import dev.bigqueue.internal.QueueEngine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A persistent FIFO queue of byte-array messages in one directory, stored in fixed-size
 * memory-mapped arena files. Each message gets an offset (0, 1, 2, ...). The queue has its own
 * consumer ({@link #dequeue()} and friends); any number of named consumers can read the same
 * messages independently through the {@code bigqueue-consumers} module.
 *
 * <p><b>Guarantees.</b> Every method is safe to call from any number of threads. Messages come out
 * in enqueue order, each once per consumer. After the process is killed at any instant, reopening
 * recovers every message whose enqueue returned, never a torn one; a consumer resumes at or before
 * where it was. After an OS crash or power loss, everything up to the last completed
 * {@link #flush()} survives, or every acknowledged message with {@code syncOnWrite}. Every record
 * carries a CRC32C; damaged data is never returned as a message.
 *
 * <p><b>The queue's own consumer commits lazily:</b> {@link #dequeue()} commits the message it
 * returns as consumed when the next dequeue runs, or on {@link #close()}; a process killed right
 * after a dequeue gets that one message again after restart (at least once). Its position also
 * holds arenas on disk: {@link #gc()} deletes only arenas every consumer, this one included, has
 * read past.
 *
 * <p><b>Read-only opens</b> ({@link QueueConfig.Builder#readOnly(boolean)}) read a queue that one
 * writer process appends to, from any number of other processes: they see its messages as they
 * are appended, through named consumers; enqueue, {@link #gc()} and the queue's own consumer
 * throw {@link IllegalStateException} there, and {@link #flush()} syncs only the positions of the
 * named consumers this process has open.
 *
 * <p><b>Errors.</b> I/O failures (a full disk, a vanished file) throw
 * {@link UncheckedIOException}, never a checked exception; damaged files throw
 * {@link QueueCorruptedException} (an UncheckedIOException) naming file and offset. Misuse throws
 * {@link IllegalArgumentException}, {@link NullPointerException} or {@link IllegalStateException}
 * ({@link QueueClosedException} after close, {@link QueueFullException} at {@code maxDiskBytes}
 * with {@link WhenFull#FAIL}), with a message saying what to do.
 */
public final class BigQueue implements AutoCloseable {
    private final QueueEngine engine;
    private final ConsumerState own;
    /** QueueConfig.ownConsumer, kept here: every dequeue checks it. */
    private final boolean ownConsumer;

    private BigQueue(QueueEngine engine) {
        this.engine = engine;
        this.own = engine.own();
        this.ownConsumer = engine.config().ownConsumer();
    }

    private ConsumerState own() {
        if (engine.isReadOnly()) {
            engine.log().checkOpen();
            throw new IllegalStateException("queue " + engine.directory() + " was opened read-only (QueueConfig"
                    + " readOnly=true): the queue's own consumer (dequeue, take, peek, drainTo, size, headOffset)"
                    + " belongs to its writer; read through a named consumer instead, Consumers.of(queue).open(name),"
                    + " which works on a read-only queue and commits its offset as usual");
        }
        if (!ownConsumer) {
            engine.log().checkOpen();
            throw new IllegalStateException("the queue's own consumer of " + engine.directory() + " is off"
                    + " (QueueConfig ownConsumer=false); read through named consumers (Consumers.of(queue)),"
                    + " or open the queue with ownConsumer(true)");
        }
        return own;
    }

    /** Creates or reopens the queue in {@code dir} with the default configuration. */
    public static BigQueue open(Path dir) {
        return open(dir, QueueConfig.defaults());
    }

    /**
     * Creates or reopens the queue in {@code dir} (created if missing).
     *
     * @throws IllegalArgumentException if {@code dir} holds something else, or {@code config}
     *     conflicts with the queue's persisted arena size.
     * @throws IllegalStateException if the directory is open elsewhere (names the holder's pid).
     * @throws UncheckedIOException on an I/O error; {@link QueueCorruptedException} on damage.
     */
    public static BigQueue open(Path dir, QueueConfig config) {
        Objects.requireNonNull(dir, "dir must not be null");
        Objects.requireNonNull(config, "config must not be null; use QueueConfig.defaults()");
        try {
            BigQueue queue = new BigQueue(QueueEngine.open(dir, config));
            Engines.register(queue, queue.engine);
            return queue;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open queue " + dir.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Makes a damaged queue in {@code dir} openable again, giving up exactly the messages it must,
     * and says which: the way out when {@link #open} refuses a queue with a
     * {@link QueueCorruptedException} (a missing or damaged arena file, a damaged record, a
     * consumer position that no rule explains). It checks every arena file and every record (a
     * full scan), starts the queue at the first good record if the oldest arena is gone, ends it
     * before the first damaged record, moves every consumer into what remains, and records a clean
     * state. Files it takes out of the queue are moved to a directory beside it, never deleted. The
     * queue must not be open anywhere.
     *
     * <p>A repair changes the files in steps. Before the first, it records in {@code queue.meta}, on
     * disk, that a repair is in progress; its last write, once everything else is on disk, records
     * the clean state. If it is killed (or the power goes, or it fails) in between, {@link #open},
     * read-only or not, refuses the queue with a {@link QueueCorruptedException} that says a repair
     * was cut short and names the directory: run the repair again ({@code BigQueue.repair(dir)} or
     * {@code bigqueue repair DIR}). It finishes the work: it keeps every message an uninterrupted
     * repair would have kept, and leaves every consumer where that repair would have.
     *
     * @return what was found and done, and the offsets lost; {@link RepairReport#wasWhole()} if
     *     nothing needed repair.
     * @throws IllegalStateException if the queue is open somewhere (names the holder's pid).
     * @throws QueueCorruptedException if {@code queue.meta} itself cannot be read (then nothing was
     *     changed).
     */
    public static RepairReport repair(Path dir) {
        Objects.requireNonNull(dir, "dir must not be null");
        try {
            return QueueEngine.repair(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot repair queue " + dir.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Rewrites the format-1 queue in {@code dir} (closed, not open anywhere) as format 2, the one
     * this bigqueue reads: same messages at the same offsets, the queue's own consumer and every
     * named consumer at the same offsets. Version 1 had no timestamps: each message gets the
     * modification time of the version-1 arena file it started in (at or after when it was
     * written). The version-1 files are kept in {@code DIR.v1-yyyyMMdd'T'HHmmss'Z'} beside it until
     * you delete them. Crash-safe: killed at any moment, {@code dir} holds either the version-1
     * queue (run the upgrade again) or the version-2 one. An upgrade that fails (a full disk: it
     * writes a second copy beside the queue) leaves the version-1 queue as it was and deletes what
     * it had written. A queue already in version 2 is left as it is. The command line does the
     * same: {@code bigqueue upgrade DIR}.
     *
     * @throws IllegalStateException if the queue is open somewhere, was not closed cleanly, or has
     *     an unknown version.
     * @throws QueueCorruptedException if a version-1 record fails its checks (nothing is changed).
     */
    public static UpgradeReport upgrade(Path dir) {
        Objects.requireNonNull(dir, "dir must not be null");
        try {
            return dev.bigqueue.internal.Upgrade.upgrade(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot upgrade queue " + dir.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Appends a message.
     *
     * @return its offset.
     * @throws QueueFullException at {@code maxDiskBytes} with {@link WhenFull#FAIL}.
     */
    public long enqueue(byte[] message) {
        Objects.requireNonNull(message, "message must not be null; an empty array is a valid message");
        return engine.append(message, 0, message.length);
    }

    /** Appends {@code len} bytes of {@code message} from {@code off}. */
    public long enqueue(byte[] message, int off, int len) {
        Objects.requireNonNull(message, "message must not be null; an empty array is a valid message");
        Objects.checkFromIndexSize(off, len, message.length);
        return engine.append(message, off, len);
    }

    /** Appends the remaining bytes of {@code message}; its position is left unchanged. */
    public long enqueue(ByteBuffer message) {
        Objects.requireNonNull(message, "message must not be null; an empty buffer is a valid message");
        return engine.append(message);
    }

    /**
     * Appends a message with its key, headers and timestamp (the time now if it has none).
     * A message with neither key nor headers costs what a {@code byte[]} enqueue costs.
     *
     * @return its offset.
     * @throws QueueFullException at {@code maxDiskBytes} with {@link WhenFull#FAIL}.
     */
    public long enqueue(Message message) {
        Objects.requireNonNull(message, "message must not be null");
        long millis = message.millisOr(Long.MIN_VALUE);
        if (message.isPlain()) {
            byte[] v = message.valueNoCopy();
            return engine.append(v, 0, v.length, 0, millis);
        }
        byte[] encoded = message.encode();
        return engine.append(encoded, 0, encoded.length, message.flags(), millis);
    }

    /** Appends {@code message} encoded as UTF-8. */
    public long enqueueString(String message) {
        Objects.requireNonNull(message, "message must not be null; an empty string is a valid message");
        byte[] bytes = Message.utf8(message, "message");
        return engine.append(bytes, 0, bytes.length);
    }

    /** The next message for the queue's own consumer, consumed; null when the queue is empty. */
    public byte[] dequeue() {
        return own().dequeue();
    }

    /**
     * The next message for the queue's own consumer, with its offset, timestamp, key and headers,
     * consumed; null when the queue is empty. A plain {@code byte[]} message has no key and no
     * headers, and the timestamp of its enqueue.
     */
    public Message dequeueMessage() {
        return own().dequeue(MessageCodec.MESSAGES);
    }

    /** {@link #dequeueMessage()}, waiting up to {@code timeout} for one; null if none came in time. */
    public Message dequeueMessage(Duration timeout) throws InterruptedException {
        return own().dequeue(timeout, MessageCodec.MESSAGES);
    }

    /** {@link #dequeueMessage()}, waiting as long as it takes. */
    public Message takeMessage() throws InterruptedException {
        return own().take(MessageCodec.MESSAGES);
    }

    /** The next message with its key, headers and timestamp, without consuming it; null when empty. */
    public Message peekMessage() {
        return own().peek(MessageCodec.MESSAGES);
    }

    /**
     * The first offset whose timestamp is at least {@code time}, judged by the largest timestamp
     * seen so far (Kafka's offsetsForTimes rule: explicit timestamps may go backwards, and a
     * message older than one before it does not count as "at or after" on its own);
     * {@link #tailOffset()} if there is none. Only messages still on disk count: a time before
     * them all gives {@link #earliestOffset()}. Costs O(log n) small reads of the sparse time index
     * and a scan of at most about 64 KiB of records, never a scan of the queue.
     */
    public long offsetForTime(Instant time) {
        Objects.requireNonNull(time, "time must not be null");
        long millis = MessageCodec.millisAtOrAfter(time);
        return engine.offsetForTime(millis);
    }

    /** {@link #dequeue()} decoded as UTF-8; null when empty. */
    public String dequeueString() {
        byte[] m = own().dequeue();
        return m == null ? null : new String(m, StandardCharsets.UTF_8);
    }

    /**
     * The next message, waiting up to {@code timeout} for one to be enqueued.
     *
     * @return null if none came in time.
     * @throws QueueClosedException if the queue is closed while waiting.
     */
    public byte[] dequeue(Duration timeout) throws InterruptedException {
        return own().dequeue(timeout);
    }

    /**
     * The next message, waiting as long as it takes.
     *
     * @throws QueueClosedException if the queue is closed while waiting.
     */
    public byte[] take() throws InterruptedException {
        return own().take();
    }

    /**
     * Moves up to {@code maxMessages} messages of the queue's own consumer into {@code sink}, in
     * order: what as many {@link #dequeue()} calls would do, under one lock and one commit, which
     * makes it the fastest way to read a backlog.
     *
     * <p>If {@code sink} throws, the messages it took count as dequeued, the one it refused is the
     * next one, and the exception propagates. The sink must not read from the queue's own consumer
     * (dequeue, peek, drainTo, read): such a call throws {@code IllegalStateException}. It may
     * enqueue, and may close the queue.
     *
     * @return how many messages were moved; 0 when the queue is empty.
     * @throws IllegalArgumentException if {@code maxMessages} is negative.
     */
    public int drainTo(Collection<? super byte[]> sink, int maxMessages) {
        return own().drainTo(sink, maxMessages);
    }

    /**
     * Hands up to {@code max} messages of the queue's own consumer to {@code handler}, in order,
     * each as a read-only {@link java.nio.ByteBuffer} valid only during its call (see
     * {@link MessageHandler}), allocating nothing per message: the fastest way to process a backlog.
     * Everything handled counts as consumed when it returns. If the handler throws, the message it
     * was handling and the ones after it are not consumed, and the exception propagates. Like a
     * drainTo sink, the handler must not read from the queue's own consumer.
     *
     * @return how many messages were handled; 0 when the queue is empty.
     * @throws IllegalArgumentException if {@code max} is negative.
     */
    public int read(MessageHandler handler, int max) {
        return own().read(handler, max);
    }

    /**
     * {@link #drainTo(Collection, int)}, first waiting up to {@code timeout} for a message to be
     * enqueued if there is none.
     *
     * @return how many messages were moved; 0 if none came in time.
     * @throws QueueClosedException if the queue is closed while waiting.
     */
    public int drainTo(Collection<? super byte[]> sink, int maxMessages, Duration timeout)
            throws InterruptedException {
        return own().drainTo(sink, maxMessages, timeout);
    }

    /** The next message without consuming it; null when empty. */
    public byte[] peek() {
        return own().peek();
    }

    /** Whether the queue's own consumer has nothing left to dequeue. */
    public boolean isEmpty() {
        return own().isEmpty();
    }

    /** Messages the queue's own consumer has not dequeued. */
    public long size() {
        return own().lag();
    }

    /** The offset {@link #dequeue()} returns next. */
    public long headOffset() {
        return own().position();
    }

    /**
     * The offset the next enqueue gets. On a read-only queue: one past the last message that
     * another process appended and this one has verified, looked at afresh.
     */
    public long tailOffset() {
        engine.log().checkOpen();
        engine.log().refreshTail();
        return engine.log().tailOffset();
    }

    /** The oldest message still on disk (equals {@link #tailOffset()} when none is). */
    public long earliestOffset() {
        engine.log().checkOpen();
        engine.log().refreshStart();
        return engine.log().earliestOffset();
    }

    /**
     * Returns once everything enqueued so far, and every consumer's position, is on disk: it
     * survives an OS crash or power loss.
     */
    public void flush() {
        engine.log().checkOpen();
        if (engine.isReadOnly()) {
            // Nothing of the queue's is written here: only this process's consumers' positions.
            engine.syncConsumers();
            return;
        }
        try {
            engine.flusher().flush();
        } catch (IOException e) {
            throw new UncheckedIOException("flush of queue " + engine.directory() + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * Every offset below this one is on disk now: it survives an OS crash or power loss. It only
     * grows; {@link #flush()}, the periodic flush, {@code syncOnWrite} and {@link #whenDurable}
     * move it. At most {@link #tailOffset()}.
     */
    public long durableOffset() {
        engine.log().checkOpen();
        return engine.flusher().durableOffset();
    }

    /**
     * A future that completes, with {@link #durableOffset()} (above {@code offset}), once the
     * message at {@code offset} is on disk: {@code syncOnWrite}'s guarantee without waiting in the
     * enqueue. Concurrent callers share one sync (group commit): a sync covers every message
     * enqueued before it started, so a producer that enqueues a batch needs to wait only on the
     * future of its last message. An offset already durable completes at once; otherwise the
     * queue's sync thread ({@code bigqueue-sync-DIR}, started by the first call that has to wait,
     * ended by {@link #close()}) syncs as soon as a future waits, never on a timer. Futures
     * complete in offset order, never before the sync that covers them is on disk.
     *
     * <p>Dependent stages added without {@code Async} run on the thread that completes the future:
     * the sync thread, or the one calling {@link #close()}. Keep them short; they may call the
     * queue (close included), but must not wait there for another of these futures (use the
     * {@code Async} variants for work that waits).
     *
     * <p>If a sync fails, the futures it was to cover complete exceptionally with its
     * {@link UncheckedIOException}. On {@link #close()}, pending futures complete normally if its
     * final flush made them durable (it does unless it fails), else exceptionally with a
     * {@link QueueClosedException} caused by the flush's error.
     *
     * @param offset an offset returned by an enqueue: in [0, {@link #tailOffset()}).
     * @throws IllegalArgumentException if {@code offset} is not below the tail (names the range).
     * @throws QueueClosedException if the queue is closed.
     */
    public CompletableFuture<Long> whenDurable(long offset) {
        engine.log().checkOpen();
        long tail = engine.log().tailOffset();
        if (offset < 0 || offset >= tail) {
            throw new IllegalArgumentException("offset " + offset + " of " + engine.directory() + " is not a message"
                    + " enqueued so far: whenDurable takes an offset in [0, " + tail + "), 0 to tailOffset()-1");
        }
        return engine.whenDurable(offset);
    }

    /** Deletes the arena files that every consumer has read past, now. */
    public void gc() {
        engine.log().checkOpen();
        engine.checkWritable("gc()");
        try {
            engine.gc().collect();
        } catch (IOException e) {
            throw new UncheckedIOException("arena garbage collection of " + engine.directory() + " failed: "
                    + e.getMessage(), e);
        }
    }

    /** The configuration in effect (with the persisted arena size). */
    public QueueConfig config() {
        return engine.config();
    }

    /** The queue directory. */
    public Path directory() {
        return engine.directory();
    }

    /**
     * Flushes, commits the consumers, releases every mapping and the directory lock. Threads
     * blocked in {@link #take()} or {@link #dequeue(Duration)} get a {@link QueueClosedException}.
     * Calling it again does nothing.
     */
    @Override
    public void close() {
        try {
            engine.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing queue " + engine.directory() + " failed: " + e.getMessage(), e);
        } finally {
            Engines.forget(this);
        }
    }

    @Override
    public String toString() {
        return "BigQueue[" + engine.directory() + "]";
    }
}
