package dev.bigqueue.internal;

import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.function.LongSupplier;

/**
 * The named consumers' files of one open queue ({@code consumers/NAME.consumer}): the narrow way
 * the {@code bigqueue-consumers} module reaches into the core, with {@link ConsumerState}. It
 * creates a consumer's file so that no collection pass can delete the arena it starts in, opens
 * one as a {@link ConsumerState} that owns its file and is known to the queue (flushed with it,
 * closed with it), closes such a state, deletes a file, and lists them. Naming rules, commit
 * modes and one open instance per name within one queue object are the module's business; one
 * open per name across processes is this class's, through {@link ConsumerOwnership}.
 *
 * <p>Threads: every method may be called from any thread; the caller serialises the operations
 * on one name (the module holds its lock around them).
 */
public final class ConsumerStore {
    private static final String TMP_SUFFIX = ".tmp";
    private final QueueEngine engine;
    private final Path consumersDir;

    ConsumerStore(QueueEngine engine) {
        this.engine = engine;
        this.consumersDir = engine.directory().resolve(FileFormat.CONSUMERS_DIR);
    }

    /**
     * The consumer store of an open queue.
     *
     * @throws dev.bigqueue.QueueClosedException if it is closed.
     */
    public static ConsumerStore of(Object queue) {
        return Engines.of(queue).consumerStore();
    }

    /** The queue's directory, for messages. */
    public Path directory() {
        return engine.directory();
    }

    /** The queue's open engine, as a key the module may keep per open queue. */
    public Object queueKey() {
        return engine;
    }

    public void checkOpen() {
        engine.log().checkOpen();
    }

    /** Runs {@code hook} when the queue closes, before its consumers are closed and its final flush. */
    public void addCloseHook(Runnable hook) {
        engine.addCloseHook(hook);
    }

    /** Forgets a hook whose owner closed first, so that the queue does not keep it reachable. */
    public void removeCloseHook(Runnable hook) {
        engine.removeCloseHook(hook);
    }

    public boolean isClosed() {
        return engine.isClosed();
    }

    public boolean exists(String name) {
        return Files.exists(FileFormat.consumerFile(engine.directory(), name));
    }

    /**
     * Opens consumer {@code name}, creating it at the earliest message kept if it does not exist.
     *
     * @throws QueueCorruptedException naming the file if it is damaged, or if the consumer's
     *     position lies before the earliest message kept and no drop by rule explains it.
     */
    public ConsumerState open(String name, boolean manual, int modeCode, String label) {
        Path file = FileFormat.consumerFile(engine.directory(), name);
        ConsumerOwnership owner = own(name);
        try {
            // A read-only queue: what the writer appended and deleted since the last look, first.
            engine.log().refreshStart();
            engine.log().refreshTail();
            ConsumerFile f = Files.exists(file) ? ConsumerFile.open(file) : createNew(name, file, modeCode);
            f.ownedBy(owner);
            owner = null;
            return start(f, manual, modeCode, label);
        } catch (QueueCorruptedException e) {
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open consumer '" + name + "' file " + file.toAbsolutePath() + ": "
                    + why(e), e);
        } finally {
            if (owner != null) {
                owner.close();
            }
        }
    }

    /** {@link #createPinned} at the earliest message kept, its I/O error naming the consumer. */
    private ConsumerFile createNew(String name, Path file, int modeCode) {
        try {
            return createPinned(file, engine.log()::earliestOffset, modeCode);
        } catch (QueueCorruptedException e) {
            throw e;
        } catch (UncheckedIOException e) {
            throw new UncheckedIOException("cannot create consumer '" + name + "' file " + file.toAbsolutePath()
                    + ": " + why(e.getCause()), e.getCause());
        }
    }

    /**
     * Takes consumer {@code name} for this process (one open per name across processes).
     *
     * @throws IllegalStateException naming the holder's pid if it is open in another process.
     */
    private ConsumerOwnership own(String name) {
        try {
            return ConsumerOwnership.acquire(engine.directory(), name);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lock consumer '" + name + "' of queue " + engine.directory() + ": "
                    + why(e), e);
        }
    }

    /**
     * Creates consumer {@code name} at the offset {@code start} gives (another consumer's position,
     * read afresh if the collector deletes it meanwhile) and opens it.
     */
    public ConsumerState create(String name, LongSupplier start, boolean manual, int modeCode, String label) {
        Path file = FileFormat.consumerFile(engine.directory(), name);
        ConsumerOwnership owner = own(name);
        try {
            ConsumerFile f = createPinned(file, start, modeCode);
            f.ownedBy(owner);
            owner = null;
            return start(f, manual, modeCode, label);
        } catch (UncheckedIOException e) {
            throw new UncheckedIOException("cannot create consumer '" + name + "' file " + file.toAbsolutePath()
                    + ": " + why(e.getCause()), e.getCause());
        } finally {
            if (owner != null) {
                owner.close();
            }
        }
    }

    private ConsumerState start(ConsumerFile f, boolean manual, int modeCode, String label) {
        try {
            if (f.mode() != modeCode) {
                f.setMode(modeCode);
            }
            ConsumerState state = new ConsumerState(engine, label, f, manual);
            engine.register(state);
            return state;
        } catch (RuntimeException | Error e) {
            f.close();
            throw e;
        }
    }

    /**
     * Closes an open consumer (AUTO: commits what was handed out), syncs and unmaps its file, and
     * makes it unknown to the queue. Idempotent.
     */
    public void close(ConsumerState state, String reason) {
        // Known to the queue until its file is unmapped: a queue close racing this one then closes it
        // too (idempotent: both wait for the unmap), and returns only once it is gone.
        try {
            state.close(reason);
        } finally {
            engine.unregister(state);
        }
    }

    /**
     * Creates a consumer file at the offset {@code start} gives (read afresh on each attempt) such
     * that no collection pass can delete the arena it starts in: a pass that listed the consumer
     * files just before the new one appeared would not honour it, so the file is made under the
     * pass lock, after checking that the arena is still there. The offset's position is looked up
     * outside the lock (reading an arena may wait for a mapping).
     */
    private ConsumerFile createPinned(Path file, LongSupplier start, int modeCode) {
        RecordLog log = engine.log();
        for (;;) {
            long at = start.getAsLong();
            long position;
            try {
                position = engine.reader().positionOf(at);
            } catch (IllegalArgumentException collectedMeanwhile) {
                continue; // the arena of the start was deleted since it was read; read it again
            }
            ConsumerFile made = engine.whileCollectionHeld(() -> {
                if (position < log.earliestPosition()) {
                    return null;
                }
                // Written to a temporary file and renamed: a crash leaves no half-made consumer.
                try {
                    return ConsumerFile.create(file, at, position, modeCode);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            if (made != null) {
                return made;
            }
        }
    }

    /**
     * Deletes consumer {@code name}'s file (the caller closed the consumer first), making the
     * deletion durable.
     *
     * @return whether there was one.
     */
    public boolean delete(String name) {
        Path file = FileFormat.consumerFile(engine.directory(), name);
        // Not while another process has it open: it would go on committing to a file nobody lists.
        try (ConsumerOwnership owner = own(name)) {
            boolean existed = Files.deleteIfExists(file);
            if (existed) {
                // The deletion survives a power loss only once the directory is synced.
                NativeIO.syncDirectory(consumersDir);
            }
            return existed;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete consumer '" + name + "' file " + file.toAbsolutePath()
                    + ": " + why(e), e);
        }
    }

    /**
     * What went wrong, for a message that already names the file: the JDK's message of a
     * permission refusal (EACCES) is the file name alone.
     */
    private static String why(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied to this process (user " + System.getProperty("user.name") + ") on "
                    + ((AccessDeniedException) e).getFile() + "; give that user read and write access to the"
                    + " consumers directory and its files, or run as the user that owns the queue";
        }
        return e.getMessage();
    }

    /** The names of the consumer files in the queue directory, sorted. */
    public SortedSet<String> names() {
        SortedSet<String> names = new TreeSet<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(consumersDir, "*" + FileFormat.CONSUMER_SUFFIX)) {
            for (Path p : files) {
                String file = p.getFileName().toString();
                names.add(file.substring(0, file.length() - FileFormat.CONSUMER_SUFFIX.length()));
            }
        } catch (NoSuchFileException noConsumersYet) {
            // no consumer was ever created
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list consumers in " + consumersDir.toAbsolutePath() + ": "
                    + e.getMessage(), e);
        }
        return names;
    }

    /**
     * Deletes consumer files whose creation a crash cut short (never renamed into place). A
     * creation holds its name's ownership from before its temporary file is written until after
     * the rename, so a name this can take is no creation in progress: another process (a read-only
     * open beside the writer, or the writer beside one) may be creating a consumer right now, and
     * deleting its temporary file would fail that creation.
     */
    public void removeUnfinishedCreations() {
        String suffix = FileFormat.CONSUMER_SUFFIX + TMP_SUFFIX;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(consumersDir, "*" + suffix)) {
            for (Path p : files) {
                String file = p.getFileName().toString();
                ConsumerOwnership owner;
                try {
                    owner = ConsumerOwnership.acquire(engine.directory(),
                            file.substring(0, file.length() - suffix.length()));
                } catch (IllegalStateException beingCreated) {
                    continue; // its owner is creating it: its file is no leftover
                }
                try (owner) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (NoSuchFileException noConsumersYet) {
            // nothing to clean
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list consumers in " + consumersDir.toAbsolutePath() + ": "
                    + e.getMessage(), e);
        }
    }
}
