package dev.bigqueue.consumer;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueClosedException;
import dev.bigqueue.QueueCorruptedException;
import dev.bigqueue.internal.ConsumerFile;
import dev.bigqueue.internal.ConsumerState;
import dev.bigqueue.internal.ConsumerStore;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The named consumers of one open {@link BigQueue}: each reads the whole queue at its own pace and
 * keeps a durable offset in {@code consumers/NAME.consumer} in the queue directory, Kafka-style.
 *
 * <pre>{@code
 * Consumers consumers = Consumers.of(queue);
 * Consumer billing = consumers.open("billing");                    // CommitMode.AUTO
 * Consumer ledger = consumers.open("ledger", CommitMode.MANUAL);
 * }</pre>
 *
 * <p><b>Guarantees.</b> Every method is safe to call from any number of threads. A consumer that
 * exists on disk, open in this run or not, holds every arena it has not read: the queue's
 * {@code gc()} deletes an arena only once every consumer has passed it, so a restart that runs GC
 * before the application reopens its consumers loses nothing. Creating a consumer ({@link #open},
 * {@link #copy}) and deleting one are atomic on disk: after a crash the file is either complete or
 * absent. Opening a damaged consumer file throws {@link QueueCorruptedException} naming the file;
 * the queue and the other consumers stay usable, and {@link #delete(String)} removes it.
 *
 * <p><b>Where they stop.</b> One {@code Consumers} belongs to one open queue instance: when the
 * queue closes, every consumer it opened is committed (AUTO) and closed, and {@link #of} must be
 * called again on the reopened queue. The queue's own consumer ({@code queue.dequeue()}) holds
 * arenas too: an application that reads only through named consumers opens the queue with
 * {@code QueueConfig.builder().ownConsumer(false)}, so that arenas go once the named ones have read them.
 *
 * <p>A consumer name is 1..200 characters of ASCII letters, digits, {@code .}, {@code _} and
 * {@code -}, starting with a letter or digit; it is also the file name, so it is case-sensitive
 * where the file system is.
 */
public final class Consumers {
    private static final Pattern VALID_NAME = ConsumerFile.VALID_NAME;
    private static final String NAME_RULE = "a consumer name is 1..200 characters of ASCII letters, digits, '.',"
            + " '_' and '-', starting with a letter or digit";

    /** One registry per open queue (keyed by its engine); an entry is removed when its queue closes. */
    private static final Map<Object, Consumers> REGISTRIES = new ConcurrentHashMap<>();

    private final ConsumerStore store;
    private final Object lock = new Object();
    /** Open consumers by name; guarded by {@link #lock}. */
    private final Map<String, Consumer> open = new HashMap<>();
    /** Guarded by {@link #lock}. */
    private boolean closed;

    private Consumers(ConsumerStore store) {
        this.store = store;
    }

    private static Consumers create(ConsumerStore store) {
        store.removeUnfinishedCreations();
        Consumers consumers = new Consumers(store);
        store.addCloseHook(consumers::closeAll);
        return consumers;
    }

    /**
     * The named consumers of {@code queue}. Calling it again for the same queue instance returns
     * the same object; after the queue is closed and reopened, call it again on the new instance.
     *
     * @throws QueueClosedException if the queue is closed.
     */
    public static Consumers of(BigQueue queue) {
        Objects.requireNonNull(queue, "queue must not be null");
        ConsumerStore store = ConsumerStore.of(queue);
        store.checkOpen();
        Consumers consumers = REGISTRIES.computeIfAbsent(store.queueKey(), key -> create(store));
        if (store.isClosed()) {
            // The queue closed while this registry was made; its close hook may have run before
            // the hook was added, so clean up here (closeAll is idempotent).
            consumers.closeAll();
            store.checkOpen();
        }
        return consumers;
    }

    /**
     * {@link #open(String, CommitMode)} with {@link CommitMode#AUTO}, the default, also for a
     * consumer that was last opened as MANUAL (it then resumes at its committed offset and commits
     * on every dequeue from there).
     */
    public Consumer open(String name) {
        return open(name, CommitMode.AUTO);
    }

    /**
     * Opens the consumer {@code name}, creating it if it does not exist. A new consumer starts at
     * the oldest message still on disk, {@code earliestOffset()}; an existing one at its committed
     * offset. The mode applies to this open only (the file records it, for information); an
     * existing MANUAL consumer may be reopened as AUTO and the other way round.
     *
     * <p>Each name has at most one open {@link Consumer} per queue: opening a name that is already
     * open with the same mode returns that same instance (threads sharing it compete for
     * messages); with another mode it throws, since the two modes cannot share one position.
     *
     * @throws IllegalArgumentException if {@code name} breaks the naming rule.
     * @throws IllegalStateException if {@code name} is already open with the other mode.
     * @throws QueueCorruptedException if the consumer's file is damaged (the exception names it);
     *     {@link #delete(String)} removes it.
     * @throws QueueClosedException if the queue is closed.
     */
    public Consumer open(String name, CommitMode mode) {
        checkName(name);
        Objects.requireNonNull(mode, "mode must not be null; use CommitMode.AUTO or CommitMode.MANUAL");
        synchronized (lock) {
            checkOpen();
            Consumer existing = open.get(name);
            if (existing != null) {
                if (existing.commitMode() != mode) {
                    throw new IllegalStateException("consumer '" + name + "' of queue " + store.directory()
                            + " is already open with CommitMode." + existing.commitMode() + ", cannot open it again"
                            + " with CommitMode." + mode + "; share the open Consumer, or close() it first");
                }
                return existing;
            }
            ConsumerState state = store.open(name, mode == CommitMode.MANUAL, mode.fileCode, label(name));
            Consumer c = new Consumer(this, store, name, mode, state);
            open.put(name, c);
            return c;
        }
    }

    /**
     * Creates consumer {@code newName} at {@code source}'s current {@link Consumer#position()},
     * with {@code source}'s commit mode. From then on the two move independently.
     *
     * @throws IllegalArgumentException if {@code newName} breaks the naming rule or already
     *     exists, or {@code source} belongs to another queue.
     * @throws IllegalStateException if {@code source} is closed or deleted.
     */
    public Consumer copy(String newName, Consumer source) {
        checkName(newName);
        Objects.requireNonNull(source, "source must not be null");
        synchronized (lock) {
            checkOpen();
            if (source.owner() != this) {
                throw new IllegalArgumentException("source consumer '" + source.name() + "' belongs to another queue"
                        + " (or an earlier open of this one), not to " + store.directory() + "; copy consumers"
                        + " within one queue");
            }
            source.ensureOpen();
            if (open.containsKey(newName) || store.exists(newName)) {
                throw new IllegalArgumentException("consumer '" + newName + "' already exists in queue "
                        + store.directory() + "; copy onto a new name, or delete(\"" + newName + "\") first");
            }
            CommitMode mode = source.commitMode();
            ConsumerState state = store.create(newName, source::position, mode == CommitMode.MANUAL, mode.fileCode,
                    label(newName));
            Consumer c = new Consumer(this, store, newName, mode, state);
            open.put(newName, c);
            return c;
        }
    }

    /**
     * Deletes consumer {@code name}: closes it if open (threads using it get an
     * {@link IllegalStateException} saying it was deleted), deletes its file, and releases the
     * arenas it held (the next {@code gc()} may delete them). A damaged consumer file is deleted
     * too.
     *
     * @return whether the consumer existed.
     * @throws IllegalArgumentException if {@code name} breaks the naming rule.
     */
    public boolean delete(String name) {
        checkName(name);
        synchronized (lock) {
            checkOpen();
            Consumer c = open.remove(name);
            if (c != null) {
                c.shutdown("deleted: Consumers.delete(\"" + name + "\") removed it; open a new one with"
                        + " Consumers.open(\"" + name + "\")");
            }
            return store.delete(name) || c != null;
        }
    }

    /**
     * The names of every consumer persisted in the queue directory, open or not, sorted. A consumer
     * file whose name breaks the naming rule (a copy, {@code billing copy.consumer}) is not one: it
     * is left out, yet it keeps arenas like a consumer; the garbage collector warns of it, naming it.
     */
    public Set<String> names() {
        synchronized (lock) {
            checkOpen();
            SortedSet<String> names = store.names();
            names.removeIf(name -> !VALID_NAME.matcher(name).matches());
            return Collections.unmodifiableSortedSet(names);
        }
    }

    // ------------------------------------------------------------------ internals

    private String label(String name) {
        return "consumer '" + name + "' of queue " + store.directory();
    }

    /**
     * Consumer.close(): shuts {@code c} down, then forgets it if it is the open instance of its
     * name, both under the registry lock, as {@link #delete} does. Forgetting it first would let an
     * open of the same name start while {@code c} still holds the name's ownership (one open
     * instance per name in this JVM and across processes), and fail.
     */
    void close(Consumer c, String reason) {
        synchronized (lock) {
            c.shutdown(reason);
            open.remove(c.name(), c);
        }
    }

    /** The queue's close hook: commits (AUTO) and closes every open consumer. */
    private void closeAll() {
        List<Consumer> toClose;
        synchronized (lock) {
            closed = true;
            toClose = new ArrayList<>(open.values());
            open.clear();
        }
        REGISTRIES.remove(store.queueKey(), this);
        RuntimeException first = null;
        for (Consumer c : toClose) {
            try {
                c.shutdown("closed: the queue was closed");
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private void checkOpen() {
        store.checkOpen();
        if (closed) {
            throw new QueueClosedException("queue " + store.directory() + " is closed; open it again with"
                    + " BigQueue.open(..) and call Consumers.of(queue) on the new instance");
        }
    }

    private static void checkName(String name) {
        Objects.requireNonNull(name, "consumer name must not be null; " + NAME_RULE);
        if (!VALID_NAME.matcher(name).matches()) {
            String shown = name.length() > 60 ? name.substring(0, 60) + "...(" + name.length() + " characters)" : name;
            throw new IllegalArgumentException("invalid consumer name '" + shown + "': " + NAME_RULE);
        }
    }

    @Override
    public String toString() {
        return "Consumers[" + store.directory() + "]";
    }
}
