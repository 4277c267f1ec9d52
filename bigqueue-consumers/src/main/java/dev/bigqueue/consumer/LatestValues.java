package dev.bigqueue.consumer;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import dev.bigqueue.QueueClosedException;
import dev.bigqueue.internal.ConsumerStore;
import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.internal.MessageCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The latest value of every key of a queue, in memory, persisted by the queue itself: a
 * Kafka-style compacted view. {@link #put} appends a keyed {@link Message} and updates the map;
 * {@link #delete} appends a tombstone; {@link #get} reads the map. Records with a key that other
 * writers of the same queue enqueue are applied too, by a follower that reads the queue through the
 * named consumer {@code latest-follow.NAME}.
 *
 * <pre>{@code
 * try (LatestValues profiles = LatestValues.open(queue, "profiles")) {   // loads, then follows
 *     profiles.put("user-42", json);
 *     byte[] v = profiles.get("user-42");                                  // json: read your writes
 * }
 * }</pre>
 *
 * <p><b>Which value wins.</b> The newest by timestamp, then by offset; a tombstone is kept in the
 * map (not in {@link #keys()}) so that an older record of a deleted key cannot bring it back.
 * {@code put} stamps its records with a clock that never goes back within a store (the largest
 * timestamp loaded, at least), and never below the key's current timestamp, so a put that starts
 * after another one returned (or after a record was applied) wins over it, even if the wall clock
 * steps back. {@code get} after {@code put} in any thread sees that put
 * or a newer one: {@code put} updates the map itself once its record is in the queue. Records of
 * other writers are seen once the follower has read them ({@link #awaitFollowed}).
 *
 * <p><b>Start-up and checkpoints.</b> {@link #checkpoint()} writes the map, tombstones included, to
 * {@code latest/NAME-OFFSET.snap} in the queue directory (temp file, fsync, rename, directory fsync,
 * a CRC32C over the whole file; see {@link Snapshots}) at an offset below which every record is in
 * it, then moves the named consumer {@code latest.NAME} to the oldest snapshot kept, so that the
 * queue's garbage collector may delete the arenas before it. {@link #open} loads the newest snapshot
 * that passes its checks and replays the queue from its offset; it returns once the map holds every
 * record enqueued before it was called. A damaged snapshot, one past the queue's tail (a tail lost
 * after it was written) or one whose record below its offset is not this queue's (a snapshot copied
 * from another queue) is renamed {@code .bad} with a WARN and the one before is used, or,
 * with none left, a full replay from where the store began (the {@code NAME.origin.snap} file) if
 * the queue still holds those records; otherwise {@code open} fails and says so: it never returns
 * a map that misses a record. Automatic checkpoints ({@link LatestValuesOptions}) run on the
 * follower thread.
 *
 * <p><b>Crashes.</b> After {@code kill -9} at any moment, a reopened store holds, for every key, the
 * value of the last acknowledged put or a newer one (a put in flight at the kill may or may not be
 * there), never an older one. After a power loss, the map holds exactly what the surviving records
 * make (tested under LazyFS): a snapshot takes its name only once the queue is flushed past every
 * record whose value it holds, those applied while it was being written included.
 *
 * <p><b>Threads.</b> Every method may be called from any number of threads. The store owns one
 * thread, the follower ({@code bigqueue-latest-NAME}), started by {@link #open} once the store is
 * built and ended by {@link #close()} (or when the queue closes, or by an error, which later calls
 * report). The map is a {@link ConcurrentHashMap} updated per key; {@code followed} (every record
 * below it applied) is a volatile written by the follower only, which moves past the store's own
 * puts without reading them back once their values are in the map ({@code ownPuts}, set after the
 * map); checkpoints take turns in the
 * {@link Checkpointer}, whose monitor is never held across I/O or a
 * wait on another thread. At most one store of a name is open per queue instance.
 *
 * <p><b>Lifetime.</b> {@link #close()} may run at any time from any thread; a call that starts after
 * it throws {@link IllegalStateException}. It checkpoints (unless configured off), stops the
 * follower, waits for it to end and releases both named consumers (their files stay: they hold the
 * arenas the next open needs); a close() called meanwhile in another thread returns once it has.
 * Closing the queue closes the store too (without the checkpoint: the queue can no longer be read)
 * and returns once its follower has ended.
 *
 * <p><b>Limits.</b> Keys are strings (UTF-8 on disk): {@code put} and {@code delete} refuse one with
 * an unpaired surrogate, which UTF-8 cannot hold; a record of another writer whose key is not
 * valid UTF-8 is applied under its decoded form. Tombstones stay in the map and in snapshots (key
 * and 20 bytes each) until a checkpoint finds them older than
 * {@link LatestValuesOptions#tombstoneRetention()} (a day by default) and below its offset (the
 * follower has passed them); after that, a record of the
 * key with an older timestamp, appended later by another writer, brings the key back. A queue's
 * retention or {@code DROP_OLDEST} deleting records the store has not read stops the store with an
 * error naming the lost offsets, since its map would miss them.
 */
public final class LatestValues implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LatestValues.class);
    private static final Pattern VALID_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,149}");
    private static final String NAME_RULE = "a store name is 1..150 characters of ASCII letters, digits, '.', '_'"
            + " and '-', starting with a letter or digit";
    /** Longest the follower waits for a record before it looks at the clock of timed checkpoints. */
    private static final Duration IDLE_WAIT = Duration.ofSeconds(1);

    /** The stores open now, by queue instance (identity: BigQueue keeps Object.equals) and name. */
    private static final Map<Key, Object> OPEN = new ConcurrentHashMap<>();
    /** What reserves a name in {@link #OPEN} while its store loads. */
    private static final Object LOADING = new Object();

    /** Choices of the start point {@code open} makes when collections keep taking the records after it. */
    private static final int START_ATTEMPTS = 3;

    /**
     * Runs in {@code open} between the choice of the start point and the seeks to it, where a
     * collection (retention, {@code DROP_OLDEST}, a gc past consumers that did not hold it yet) may
     * come: a seam for tests, which make one happen there; nothing otherwise.
     */
    static volatile Runnable afterChoiceForTests = () -> { };

    /** Slots for this store's latest puts, for the follower to pass without reading them back. */
    private static final int OWN_PUTS = 1024;
    private static final String[] NO_HEADER_NAMES = {};
    private static final byte[][] NO_HEADER_VALUES = {};

    private record Key(BigQueue queue, String name) {
    }

    /** A put of this store, already in the map: its record and the bytes it takes in the queue. */
    private record OwnPut(RecordMark record, long bytes) {
    }

    /** A record the follower read, with the bytes it takes in the queue (counted for checkpoints by bytes). */
    private record Read(Message message, long bytes) {
    }

    private static final MessageCodec.Decoder<Read> READ = (offset, stamp, payload) ->
            new Read(MessageCodec.decode(offset, stamp, payload), FileFormat.recordBytes(payload.length));

    private final Key key;
    private final BigQueue queue;
    private final String name;
    private final LatestValuesOptions options;
    private final Snapshots snapshots;
    private final ValueMap map;
    /** Reads the queue for the follower; AUTO, so it holds no arena the hold does not. */
    private final Consumer reader;
    /** Never read: its committed position, the oldest snapshot kept, holds the arenas start-up needs. */
    private final Consumer hold;
    private final Thread follower;
    /** The timestamp of the last put; puts never go below it. */
    private final AtomicLong clock;
    private final Checkpointer checkpointer;
    private final AtomicBoolean closing = new AtomicBoolean();
    /** Counted down when the close() that won {@link #closing} has ended; other close() calls wait for it. */
    private final CountDownLatch closedLatch = new CountDownLatch(1);
    /**
     * Run by the queue's close (a close hook, added by {@link #open}, removed by {@link #close}):
     * the store's follower writes into the queue's directory, so the queue's close must not return,
     * and release the directory to another process, while that thread may still write a snapshot.
     */
    private final Runnable closeWithQueue = () -> closeAs(false);
    private final AtomicInteger waiters = new AtomicInteger();
    /** Monitor for awaitFollowed; notified by the follower when waiters > 0 and when it ends. */
    private final Object progress = new Object();
    /**
     * This store's recent puts, by offset modulo {@value #OWN_PUTS}: the follower moves past such a
     * record without copying or checking its value, which the map holds already. A slot is set
     * (volatile) only after the put's value is in the map, so a follower that sees it may count the
     * record as applied; a slot overwritten by a later put only means that record is read back.
     */
    private final AtomicReferenceArray<OwnPut> ownPuts = new AtomicReferenceArray<>(OWN_PUTS);

    /** Every record below it is in the map; written by the follower only. */
    private volatile long followed;
    private volatile boolean closed;
    private volatile boolean followerDone;
    /** Why the follower stopped, if it did before close; reported by every later call. */
    private volatile Throwable failure;

    private LatestValues(Key key, LatestValuesOptions options, Snapshots snapshots, StartPoint start,
            Consumer reader, Consumer hold) {
        this.key = key;
        this.queue = key.queue();
        this.name = key.name();
        this.options = options;
        this.snapshots = snapshots;
        this.map = start.map();
        this.reader = reader;
        this.hold = hold;
        this.followed = start.offset();
        this.checkpointer = new Checkpointer(queue, name, snapshots, map, hold, options.keepSnapshots(),
                options.tombstoneRetention(), start.offset());
        this.clock = new AtomicLong(Long.MIN_VALUE);
        // Created here, started by open() once every field is set.
        this.follower = new Thread(this::follow, "bigqueue-latest-" + name);
        follower.setDaemon(true);
    }

    /** {@link #open(BigQueue, String, LatestValuesOptions)} with {@link LatestValuesOptions#defaults()}. */
    public static LatestValues open(BigQueue queue, String name) {
        return open(queue, name, LatestValuesOptions.defaults());
    }

    /**
     * Loads store {@code name} of {@code queue} (a new one starts empty at {@code earliestOffset()}),
     * replays the queue up to its tail, and starts following it.
     *
     * @throws IllegalArgumentException if {@code name} breaks the naming rule.
     * @throws IllegalStateException if the store is already open on this queue instance, the queue
     *     is open read-only (a store needs the writer), or the store cannot be loaded without missing
     *     records (the message says what was found and what to do). A collection that takes the
     *     records after the chosen start point while the store opens makes it choose again (a new
     *     store then begins where the queue now does), up to three times.
     * @throws UncheckedIOException on an I/O error.
     */
    public static LatestValues open(BigQueue queue, String name, LatestValuesOptions options) {
        Objects.requireNonNull(queue, "queue must not be null");
        Objects.requireNonNull(name, "store name must not be null; " + NAME_RULE);
        Objects.requireNonNull(options, "options must not be null; use LatestValuesOptions.defaults()");
        if (!VALID_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid store name '" + name + "': " + NAME_RULE);
        }
        if (queue.config().readOnly()) {
            // A store holds two named consumers and writes snapshots; in a reader process it would
            // take them from the writer's store, or write beside it. Not designed yet: say so.
            throw new IllegalStateException("LatestValues '" + name + "' needs the queue's writer, but "
                    + queue.directory() + " is open read-only here; open the store in the process that writes"
                    + " the queue (a read-only store for reader processes is not supported yet)");
        }
        Key key = new Key(queue, name);
        if (OPEN.putIfAbsent(key, LOADING) != null) {
            throw new IllegalStateException("LatestValues '" + name + "' of queue " + queue.directory() + " is"
                    + " already open in this process; share that instance, or close() it first");
        }
        LatestValues store = null;
        try {
            store = load(key, options);
            OPEN.put(key, store);
            // Added before the follower starts. If the queue closed before this, its close has closed
            // the store's consumers: the follower ends and the wait below fails, which stops it.
            ConsumerStore.of(queue).addCloseHook(store.closeWithQueue);
            store.follower.start();
            long tail = queue.tailOffset();
            store.awaitFollowedInternal(tail);
            store.checkUsable();
            LOG.info("LatestValues '{}' of {}: {} keys, {} entries with tombstones, followed to offset {}", name,
                    queue.directory(), store.map.live(), store.map.entries(), store.followed);
            return store;
        } catch (RuntimeException | Error e) {
            if (store != null) {
                store.stop();
                try {
                    ConsumerStore.of(queue).removeCloseHook(store.closeWithQueue);
                } catch (RuntimeException again) {
                    e.addSuppressed(again);
                }
            }
            OPEN.remove(key);
            throw e;
        } catch (IOException e) {
            OPEN.remove(key);
            throw new UncheckedIOException("cannot open LatestValues '" + name + "' of " + queue.directory() + ": "
                    + e.getMessage(), e);
        }
    }

    private static LatestValues load(Key key, LatestValuesOptions options) throws IOException {
        BigQueue queue = key.queue();
        Consumers consumers = Consumers.of(queue);
        String holdName = "latest." + key.name();
        boolean holdExisted = consumers.names().contains(holdName);
        Snapshots snapshots = new Snapshots(queue.directory(), key.name());
        String followName = "latest-follow." + key.name();
        boolean followExisted = consumers.names().contains(followName);
        Consumer reader = consumers.open(followName, CommitMode.AUTO);
        long followedAt = reader.committedPosition();
        Consumer hold = null;
        try {
            StartPoint start = StartPoint.choose(queue, snapshots, holdExisted, holdName, reader);
            for (int attempt = 1; ; attempt++) {
                afterChoiceForTests.run();
                if (hold == null) {
                    hold = consumers.open(holdName, CommitMode.AUTO);
                }
                if (seekTo(queue, start.offset(), hold, reader)) {
                    break;
                }
                // Collected between the choice and the seeks: choose again, from what the queue holds now.
                if (attempt == START_ATTEMPTS) {
                    throw new IllegalStateException("LatestValues '" + key.name() + "' of " + queue.directory()
                            + ": the queue's records from the store's start point " + start.offset() + " were"
                            + " collected (retention, DROP_OLDEST or gc) while the store was opening, " + attempt
                            + " times in a row (earliest offset now " + queue.earliestOffset() + "); open it again");
                }
                LOG.info("LatestValues '{}' of {}: the queue's records from {} were collected while the store was"
                        + " opening (earliest offset now {}); choosing the start point again", key.name(),
                        queue.directory(), start.offset(), queue.earliestOffset());
                if (start.began()) {
                    // A new store: it begins where the queue begins now, and has missed nothing.
                    Files.deleteIfExists(snapshots.origin());
                }
                start = StartPoint.choose(queue, snapshots, holdExisted, holdName, reader);
            }
            LatestValues store = new LatestValues(key, options, snapshots, start, reader, hold);
            store.clock.set(start.map().maxTimestamp());
            return store;
        } catch (RuntimeException | IOException e) {
            if (hold != null) {
                hold.close();
            }
            // The choice probed through the follower (seeks that commit): a failed open leaves it
            // as it was, and does not leave a new one behind holding arenas from where it began.
            try {
                if (followExisted && followedAt >= queue.earliestOffset()) {
                    reader.seek(followedAt); // else the queue collected it there: it resumes at the earliest
                }
                reader.close();
                if (!followExisted) {
                    consumers.delete(followName);
                }
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /**
     * Moves the hold back to {@code offset} (never forward: it holds the oldest snapshot kept) and
     * the follower's consumer to it. False if the queue no longer holds the record at {@code offset}:
     * a collection came after the start point was chosen. Once both consumers are there, the
     * collector keeps it; retention and {@code DROP_OLDEST} may still take it, which the follower
     * then reports as records deleted before the store read them.
     */
    private static boolean seekTo(BigQueue queue, long offset, Consumer hold, Consumer reader) {
        try {
            if (hold.position() > offset) {
                hold.seek(offset);
            }
            reader.seek(offset);
        } catch (IllegalArgumentException e) {
            if (queue.earliestOffset() <= offset) {
                throw e; // not a collection
            }
            return false;
        }
        return queue.earliestOffset() <= offset;
    }

    // ------------------------------------------------------------------ the API

    /**
     * Appends a record with {@code key}, {@code value} and a timestamp, then makes it the key's value
     * (unless a newer record of another writer is already there).
     *
     * @return the record's offset.
     * @throws IllegalArgumentException if {@code key} has an unpaired surrogate (UTF-8 cannot hold it).
     */
    public long put(String key, byte[] value) {
        Objects.requireNonNull(key, "key must not be null");
        Objects.requireNonNull(value, "value must not be null; use delete(key) to remove a key");
        return append(key, value.clone());
    }

    /** The key's value (a copy); null if absent or deleted. */
    public byte[] get(String key) {
        Objects.requireNonNull(key, "key must not be null");
        checkUsable();
        byte[] v = map.get(key);
        return v == null ? null : v.clone();
    }

    /**
     * Appends a tombstone for {@code key} and removes it from the map.
     *
     * @return whether the key had a value just before.
     * @throws IllegalArgumentException if {@code key} has an unpaired surrogate (UTF-8 cannot hold it).
     */
    public boolean delete(String key) {
        Objects.requireNonNull(key, "key must not be null");
        boolean had = map.get(key) != null;
        append(key, null);
        return had;
    }

    private long append(String key, byte[] value) {
        checkUsable();
        // Message.Builder.key refuses a key UTF-8 cannot hold (it would come back as another key).
        long ts = clock.updateAndGet(last -> Math.max(last, System.currentTimeMillis()));
        ValueMap.Entry current = map.entry(key);
        if (current != null && current.timestamp() > ts) {
            // Another writer's record stamped in the future: equal stamps fall to the offset, where this one wins.
            ts = current.timestamp();
        }
        Message m = Message.builder().key(key).timestamp(Instant.ofEpochMilli(ts)).value(value).build();
        long offset = queue.enqueue(m);
        map.apply(key, new ValueMap.Entry(value, ts, offset));
        byte[] keyBytes = m.key();
        long bytes = FileFormat.recordBytes(MessageCodec.encodedSize(keyBytes, NO_HEADER_NAMES, NO_HEADER_VALUES,
                value));
        ownPuts.set(ownSlot(offset), new OwnPut(RecordMark.of(offset, ts, keyBytes), bytes));
        return offset;
    }

    /** Keys with a value. */
    public int size() {
        checkUsable();
        return map.live();
    }

    /** The keys with a value, sorted: a copy taken now. */
    public Set<String> keys() {
        checkUsable();
        return Collections.unmodifiableSet(map.keys());
    }

    /** The store's name. */
    public String name() {
        return name;
    }

    /** Every record below this offset has been applied to the map. */
    public long followedOffset() {
        return followed;
    }

    /** Offset of the newest snapshot written or loaded (where the store began if none). */
    public long checkpointOffset() {
        return checkpointer.lastOffset();
    }

    /**
     * Waits until the follower has applied every record below {@code offset} (for instance
     * {@code queue.tailOffset()}: everything other writers enqueued so far).
     *
     * @return false if {@code timeout} passed first.
     * @throws IllegalStateException if the store is closed or its follower stopped.
     */
    public boolean awaitFollowed(long offset, Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout must not be null");
        checkUsable();
        long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
        waiters.incrementAndGet();
        try {
            synchronized (progress) {
                while (followed < offset) {
                    checkUsable();
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    progress.wait(Math.max(1, left / 1_000_000));
                }
            }
        } finally {
            waiters.decrementAndGet();
        }
        return true;
    }

    /**
     * Writes a snapshot of the map that holds every record enqueued before this call, durably, then
     * lets the queue collect the arenas before the oldest snapshot kept. Waits for a checkpoint
     * another thread is writing, then writes its own.
     *
     * @throws UncheckedIOException if the snapshot cannot be written (the previous ones stay).
     * @throws IllegalStateException if the store is closed, or closes while this waits.
     */
    public void checkpoint() {
        checkUsable();
        awaitFollowedInternal(queue.tailOffset());
        checkUsable();
        checkpointer.takeTurn();
        try {
            // Again with the turn: close waits for the turn, so no checkpoint writes after it returned.
            checkUsable();
            checkpointer.write("requested");
        } finally {
            checkpointer.releaseTurn();
        }
    }

    /**
     * Checkpoints (unless {@link LatestValuesOptions#checkpointOnClose()} is off), stops the follower
     * and releases the store's named consumers. A checkpoint another thread is writing is finished
     * first (a snapshot is bounded work), so nothing of the store is written once this returns.
     * A close() called while another thread's is in progress waits for it to end; calling it again
     * after that does nothing.
     */
    @Override
    public void close() {
        closeAs(options.checkpointOnClose());
    }

    /**
     * The first caller closes, with a last checkpoint if {@code checkpoint} (not when the queue is
     * closing: it can no longer be read); later ones wait for it to have ended.
     */
    private void closeAs(boolean checkpoint) {
        if (!closing.compareAndSet(false, true)) {
            awaitClosed();
            return;
        }
        try {
            closeOnce(checkpoint);
        } finally {
            closedLatch.countDown();
            try {
                ConsumerStore.of(queue).removeCloseHook(closeWithQueue);
            } catch (RuntimeException e) {
                LOG.debug("LatestValues '{}': the queue's close hook was not removed", name, e);
            }
        }
    }

    /** Waits, not interruptibly, for the close() in progress in another thread. */
    private void awaitClosed() {
        boolean interrupted = false;
        while (true) {
            try {
                closedLatch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void closeOnce(boolean checkpoint) {
        try {
            if (checkpoint && failure == null && !followerDone) {
                try {
                    awaitFollowedInternal(queue.tailOffset());
                    checkpointer.takeTurn();
                    try {
                        if (failure == null && !followerDone) {
                            checkpointer.write("close");
                        }
                    } finally {
                        checkpointer.releaseTurn();
                    }
                } catch (RuntimeException e) {
                    LOG.warn("LatestValues '{}' of {}: no checkpoint at close ({}); the next open replays from"
                            + " offset {}", name, queue.directory(), e.toString(), checkpointer.lastOffset());
                }
            }
        } finally {
            closed = true;
            // With the turn held: a checkpoint() that took it before is finished first (its snapshot
            // and the hold consumer it moves must not close under it), one that asks after sees the
            // store closed, and the follower's automatic ones (which only try for it) cannot start.
            checkpointer.takeTurn();
            try {
                stop();
            } finally {
                checkpointer.releaseTurn();
            }
            OPEN.remove(key, this);
        }
    }

    /** Ends the follower and releases the consumers; waits for the follower to end. */
    private void stop() {
        closed = true;
        try {
            reader.close();
        } catch (RuntimeException e) {
            LOG.debug("closing the follower's consumer", e);
        }
        boolean interrupted = false;
        while (follower.isAlive() && Thread.currentThread() != follower) {
            try {
                follower.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        try {
            hold.close();
        } catch (RuntimeException e) {
            LOG.debug("closing the hold consumer", e);
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ the follower thread

    private void follow() {
        // Everything inside the try: whatever ends this thread must wake the waiters in its finally.
        try {
            long nextDue = nextTimedCheckpoint(System.nanoTime());
            while (!closed) {
                long now = System.nanoTime();
                Duration wait = IDLE_WAIT;
                if (nextDue != Long.MAX_VALUE) {
                    wait = Duration.ofNanos(Math.max(0, Math.min(IDLE_WAIT.toNanos(), nextDue - now)));
                }
                if (!passOwnPut()) {
                    Read r = reader.dequeue(wait, READ);
                    if (r != null) {
                        apply(r.message(), r.bytes());
                    }
                }
                boolean byBytes = checkpointer.dueByBytes(options.checkpointEveryBytes());
                boolean byTime = System.nanoTime() - nextDue >= 0;
                if ((byBytes || byTime) && !closed) {
                    if (checkpointer.tryTakeTurn()) {
                        try {
                            checkpointer.write(byBytes ? "bytes" : "interval");
                        } catch (RuntimeException e) {
                            LOG.error("LatestValues '{}' of {}: automatic checkpoint failed; will try again", name,
                                    queue.directory(), e);
                        } finally {
                            checkpointer.releaseTurn();
                        }
                    }
                    nextDue = nextTimedCheckpoint(System.nanoTime());
                }
            }
        } catch (IllegalStateException e) {
            // The reader was closed (by close(), or by the queue's close), or records went missing.
            if (!closed) {
                failure = e;
                if (!(e instanceof QueueClosedException)) {
                    LOG.error("LatestValues '{}' of {} stopped following the queue", name, queue.directory(), e);
                }
            }
        } catch (Throwable t) {
            failure = t;
            LOG.error("LatestValues '{}' of {} stopped following the queue", name, queue.directory(), t);
        } finally {
            followerDone = true;
            synchronized (progress) {
                progress.notifyAll();
            }
        }
    }

    private long nextTimedCheckpoint(long now) {
        return Checkpointer.nextDue(now, options.checkpointInterval());
    }

    /**
     * Applies a record of any writer, keyed or not, and counts its {@code bytes} toward
     * {@code checkpointEveryBytes}: a start-up replays every record after the last snapshot, and the
     * store holds every arena from it, whether the records have a key or not.
     */
    private void apply(Message m, long bytes) {
        long offset = m.offset();
        if (offset != followed) {
            throw new IllegalStateException("LatestValues '" + name + "' of " + queue.directory() + ": records "
                    + followed + ".." + (offset - 1) + " were deleted by the queue (retention or DROP_OLDEST) before"
                    + " the store read them, so its map would miss them; give the queue a retention longer than the"
                    + " store's checkpoint interval, then reopen the store");
        }
        byte[] k = m.key();
        long ts = m.timestamp().toEpochMilli();
        if (k != null) {
            byte[] v = m.value();
            map.apply(new String(k, StandardCharsets.UTF_8), new ValueMap.Entry(v, ts, offset));
        }
        checkpointer.addBytes(bytes);
        checkpointer.followed(RecordMark.of(offset, ts, k));
        advanceFollowed(offset + 1);
    }

    /**
     * Moves the follower past the next record if it is one of this store's own puts (in the map
     * already): a 100 KB value is then neither copied nor checksummed a second time.
     */
    private boolean passOwnPut() {
        long next = followed;
        OwnPut own = ownPuts.get(ownSlot(next));
        if (own == null || own.record().offset() != next || !reader.skipOwn(next)) {
            return false;
        }
        checkpointer.addBytes(own.bytes());
        checkpointer.followed(own.record());
        advanceFollowed(next + 1);
        return true;
    }

    private static int ownSlot(long offset) {
        return (int) (offset & (OWN_PUTS - 1));
    }

    private void advanceFollowed(long offset) {
        followed = offset;
        if (waiters.get() > 0) {
            synchronized (progress) {
                progress.notifyAll();
            }
        }
    }

    // ------------------------------------------------------------------ internals

    /** awaitFollowed for open, checkpoint and close: uninterruptible, ends if the follower stops. */
    private void awaitFollowedInternal(long offset) {
        boolean interrupted = false;
        waiters.incrementAndGet();
        try {
            synchronized (progress) {
                while (followed < offset && !followerDone) {
                    try {
                        progress.wait();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
        } finally {
            waiters.decrementAndGet();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void checkUsable() {
        if (closed || closing.get()) {
            throw new IllegalStateException("LatestValues '" + name + "' of queue " + queue.directory() + " is"
                    + " closed; open it again with LatestValues.open(queue, \"" + name + "\")");
        }
        Throwable f = failure;
        if (f != null) {
            if (f instanceof QueueClosedException q) {
                throw new QueueClosedException("LatestValues '" + name + "': its queue " + queue.directory()
                        + " is closed; reopen the queue, then the store");
            }
            throw new IllegalStateException("LatestValues '" + name + "' of queue " + queue.directory()
                    + " stopped following the queue: " + f + "; close it and open it again", f);
        }
        if (followerDone) {
            throw new IllegalStateException("LatestValues '" + name + "' of queue " + queue.directory()
                    + " stopped following the queue (was its queue closed?); open it again");
        }
    }

    @Override
    public String toString() {
        return "LatestValues[" + name + ", " + queue.directory() + "]";
    }
}
