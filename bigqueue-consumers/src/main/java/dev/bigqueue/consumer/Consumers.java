package dev.bigqueue.consumer;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueClosedException;
import dev.bigqueue.QueueCorruptedException;
import dev.bigqueue.internal.ConsumerFile;
import dev.bigqueue.internal.ConsumerState;
import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.internal.InternalAccess;
import dev.bigqueue.internal.NativeIO;
import dev.bigqueue.internal.QueueEngine;
import dev.bigqueue.internal.RecordLog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
    private static final Logger LOG = LoggerFactory.getLogger(Consumers.class);
    private static final Pattern VALID_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");
    private static final String NAME_RULE = "a consumer name is 1..200 characters of ASCII letters, digits, '.',"
            + " '_' and '-', starting with a letter or digit";
    private static final String TMP_SUFFIX = ".tmp";

    /** One registry per open queue; an entry is removed when its queue closes. */
    private static final Map<QueueEngine, Consumers> REGISTRIES = new ConcurrentHashMap<>();

    private final QueueEngine engine;
    private final RecordLog log;
    private final Path consumersDir;
    private final Object lock = new Object();
    /** Open consumers by name; guarded by {@link #lock}. */
    private final Map<String, Consumer> open = new HashMap<>();
    /** Guarded by {@link #lock}. */
    private boolean closed;

    private Consumers(QueueEngine engine) {
        this.engine = engine;
        this.log = engine.log();
        this.consumersDir = engine.directory().resolve(FileFormat.CONSUMERS_DIR);
        removeUnfinishedCreations();
    }

    private static Consumers create(QueueEngine engine) {
        Consumers consumers = new Consumers(engine);
        engine.addCloseHook(consumers::closeAll);
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
        QueueEngine engine = InternalAccess.engine(queue);
        engine.log().checkOpen();
        Consumers consumers = REGISTRIES.computeIfAbsent(engine, Consumers::create);
        if (engine.isClosed()) {
            // The queue closed while this registry was made; its close hook may have run before
            // the hook was added, so clean up here (closeAll is idempotent).
            consumers.closeAll();
            engine.log().checkOpen();
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
                    throw new IllegalStateException("consumer '" + name + "' of queue " + engine.directory()
                            + " is already open with CommitMode." + existing.commitMode() + ", cannot open it again"
                            + " with CommitMode." + mode + "; share the open Consumer, or close() it first");
                }
                return existing;
            }
            Path file = fileOf(name);
            ConsumerFile f;
            try {
                if (Files.exists(file)) {
                    f = ConsumerFile.open(file);
                } else {
                    f = createPinned(file, log::earliestOffset, mode);
                }
            } catch (QueueCorruptedException e) {
                throw e;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot open consumer '" + name + "' file " + file.toAbsolutePath()
                        + ": " + e.getMessage(), e);
            }
            Consumer c = start(name, f, mode);
            c.register();
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
                        + " (or an earlier open of this one), not to " + engine.directory() + "; copy consumers"
                        + " within one queue");
            }
            source.ensureOpen();
            Path file = fileOf(newName);
            if (open.containsKey(newName) || Files.exists(file)) {
                throw new IllegalArgumentException("consumer '" + newName + "' already exists in queue "
                        + engine.directory() + "; copy onto a new name, or delete(\"" + newName + "\") first");
            }
            ConsumerFile f;
            try {
                f = createPinned(file, source::position, source.commitMode());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create consumer '" + newName + "' file "
                        + file.toAbsolutePath() + ": " + e.getMessage(), e);
            }
            Consumer c = start(newName, f, source.commitMode());
            c.register();
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
            Path file = fileOf(name);
            try {
                boolean existed = Files.deleteIfExists(file);
                if (existed) {
                    // The deletion survives a power loss only once the directory is synced.
                    NativeIO.syncDirectory(consumersDir);
                }
                return existed || c != null;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete consumer '" + name + "' file " + file.toAbsolutePath()
                        + ": " + e.getMessage(), e);
            }
        }
    }

    /** The names of every consumer persisted in the queue directory, open or not, sorted. */
    public Set<String> names() {
        synchronized (lock) {
            checkOpen();
            SortedSet<String> names = new TreeSet<>();
            String pattern = "*" + FileFormat.CONSUMER_SUFFIX;
            try (DirectoryStream<Path> files = Files.newDirectoryStream(consumersDir, pattern)) {
                for (Path p : files) {
                    String file = p.getFileName().toString();
                    String name = file.substring(0, file.length() - FileFormat.CONSUMER_SUFFIX.length());
                    if (VALID_NAME.matcher(name).matches()) {
                        names.add(name);
                    }
                }
            } catch (NoSuchFileException noConsumersYet) {
                // no consumer was ever created
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list consumers in " + consumersDir.toAbsolutePath() + ": "
                        + e.getMessage(), e);
            }
            return Collections.unmodifiableSortedSet(names);
        }
    }

    // ------------------------------------------------------------------ internals

    /** Wraps an open consumer file in a Consumer; closes the file if that fails. */
    private Consumer start(String name, ConsumerFile f, CommitMode mode) {
        try {
            if (f.mode() != mode.fileCode) {
                f.setMode(mode.fileCode);
            }
            String label = "consumer '" + name + "' of queue " + engine.directory();
            ConsumerState state = new ConsumerState(engine, label, f, mode == CommitMode.MANUAL);
            return new Consumer(this, engine, name, mode, state, f);
        } catch (RuntimeException | Error e) {
            f.close();
            throw e;
        }
    }

    /**
     * Creates a consumer file at offset {@code start} (read afresh on each attempt) such that no GC
     * pass can delete the arena it starts in: a pass that listed the consumer files just before the
     * new one appeared would not honour it, so the file is made under the pass lock, after checking
     * that the arena is still there. The offset's position is looked up outside the lock, because
     * reading an arena may wait for a reader's pin, and the writer may wait for the lock (DROP_OLDEST).
     */
    private ConsumerFile createPinned(Path file, LongSupplier start, CommitMode mode) throws IOException {
        for (;;) {
            long offset = start.getAsLong();
            long position;
            try {
                position = engine.reader().positionOf(offset);
            } catch (IllegalArgumentException collectedMeanwhile) {
                continue; // the arena of offset was deleted since it was read; read the start again
            }
            synchronized (engine.gc().passLock()) {
                if (position >= log.earliestPosition()) {
                    // Written to a temporary file and renamed: a crash leaves no half-made consumer.
                    return ConsumerFile.create(file, offset, position, mode.fileCode);
                }
            }
        }
    }

    /** Forgets {@code c} if it is the open instance of its name (Consumer.close()). */
    void release(Consumer c) {
        synchronized (lock) {
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
        REGISTRIES.remove(engine, this);
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

    private void removeUnfinishedCreations() {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(consumersDir,
                "*" + FileFormat.CONSUMER_SUFFIX + TMP_SUFFIX)) {
            for (Path p : files) {
                // A creation cut short by a crash: the consumer was never renamed into place.
                Files.deleteIfExists(p);
            }
        } catch (NoSuchFileException noConsumersYet) {
            // nothing to clean
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list consumers in " + consumersDir.toAbsolutePath() + ": "
                    + e.getMessage(), e);
        }
    }

    private Path fileOf(String name) {
        return FileFormat.consumerFile(engine.directory(), name);
    }

    private void checkOpen() {
        engine.log().checkOpen();
        if (closed) {
            throw new QueueClosedException("queue " + engine.directory() + " is closed; open it again with"
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
        return "Consumers[" + engine.directory() + "]";
    }
}
