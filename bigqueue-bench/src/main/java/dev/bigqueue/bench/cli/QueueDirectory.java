package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.QueueCorruptedException;
import dev.bigqueue.bench.run.Units;
import dev.bigqueue.internal.FileFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A queue directory as the command line sees it: check that it is one before opening it, open it
 * with the arena size it was created with, and list its files. File names come from
 * {@link FileFormat}, the one place that defines them.
 *
 * <p>Every failure on the directory goes through {@link #failure}, so that all commands tell the
 * same things apart the same way: a permission problem (exit code 5, at once), a queue in use
 * (4, the one failure {@link #openWhenFree} waits out), anything else (1).
 */
final class QueueDirectory {
    /**
     * Arena size of a queue the command line creates: 4 MiB, not the library's 128 MiB. Every arena
     * file is preallocated, so a few lines typed into a new queue would otherwise take 128 MiB; 4 MiB
     * keeps arena creation (an fallocate, two fsyncs and a rename) a small part of each write.
     */
    static final long DEFAULT_ARENA_SIZE = 4L << 20;

    /** The core's advice to Java callers, "set QueueConfig.builder().NAME(..) or bigqueue.NAME". */
    private static final Pattern BUILDER_ADVICE = Pattern.compile(
            "QueueConfig\\.builder\\(\\)\\.(\\w+)\\(\\.\\.\\)(?: or " + Pattern.quote(QueueConfig.PREFIX) + "\\w+)?");
    /** The QueueConfig options a command-line flag sets. */
    private static final Map<String, String> FLAGS = Map.of("arenaSize", "--arena-size", "syncOnWrite", "--sync");

    private final Path dir;

    QueueDirectory(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    Path path() {
        return dir;
    }

    /**
     * Fails with exit code {@link CliException#NOT_A_QUEUE} unless {@code dir} holds a queue, or with
     * {@link CliException#PERMISSION} if this user may not look.
     */
    QueueDirectory requireQueue() {
        BasicFileAttributes attributes = attributes(dir);
        if (attributes == null) {
            throw new CliException(CliException.NOT_A_QUEUE, "no queue at " + dir + ": the directory does not exist");
        }
        if (!attributes.isDirectory()) {
            throw new CliException(CliException.NOT_A_QUEUE, "no queue at " + dir + ": it is a file, not a directory");
        }
        Path meta = dir.resolve(FileFormat.META_FILE);
        BasicFileAttributes metaAttributes = attributes(meta);
        if (metaAttributes == null || !metaAttributes.isRegularFile()) {
            throw new CliException(CliException.NOT_A_QUEUE, dir + " is not a bigqueue directory: it has no "
                    + FileFormat.META_FILE + (isEmpty() ? " (it is empty)" : ""));
        }
        readArenaSize();
        return this;
    }

    /**
     * Fails unless {@code dir} holds a queue, is empty, or does not exist yet, so that producing into
     * a directory never scatters queue files among someone else's.
     */
    QueueDirectory requireQueueOrNew() {
        BasicFileAttributes attributes = attributes(dir);
        if (attributes != null && !attributes.isDirectory()) {
            throw new CliException(CliException.NOT_A_QUEUE, "cannot create a queue at " + dir + ": it is a file");
        }
        if (attributes != null && !isEmpty()) {
            requireQueue();
        }
        return this;
    }

    boolean exists() {
        return Files.isRegularFile(dir.resolve(FileFormat.META_FILE));
    }

    private boolean isEmpty() {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        } catch (IOException | UncheckedIOException e) {
            throw failure("cannot list " + dir, e);
        }
    }

    /**
     * The attributes of {@code file}, or null if it does not exist. Unlike {@link Files#exists}, which
     * says false when it may not look, this tells a missing file from a denied one.
     */
    private BasicFileAttributes attributes(Path file) {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw failure("cannot read " + file, e);
        }
    }

    /** The arena size recorded in the queue's index file. */
    long readArenaSize() {
        Path meta = dir.resolve(FileFormat.META_FILE);
        try (FileChannel channel = FileChannel.open(meta, StandardOpenOption.READ)) {
            ByteBuffer header = ByteBuffer.allocate(FileFormat.META_ARENA_SIZE_OFFSET + 8)
                    .order(ByteOrder.LITTLE_ENDIAN);
            while (header.hasRemaining() && channel.read(header) > 0) {
                // Read the whole header.
            }
            if (header.hasRemaining() || header.getLong(0) != FileFormat.META_MAGIC) {
                throw new CliException(CliException.NOT_A_QUEUE, dir + " is not a bigqueue directory: "
                        + meta.getFileName() + " does not start with the bigqueue magic number");
            }
            return header.getLong(FileFormat.META_ARENA_SIZE_OFFSET);
        } catch (NoSuchFileException e) {
            throw new CliException(CliException.NOT_A_QUEUE, "no queue at " + dir + ": " + FileFormat.META_FILE
                    + " is missing");
        } catch (IOException e) {
            throw failure("cannot read " + meta, e);
        }
    }

    /** Opens the existing queue, with the arena size it was created with. */
    BigQueue open() {
        return open(null, false);
    }

    /**
     * Opens the queue. An existing queue opens with the arena size it was created with; asking for
     * another one ({@code --arena-size}) is an error naming the flag, since the arena size is fixed
     * when a queue is created. A new queue gets {@code arenaSize}, or {@link #DEFAULT_ARENA_SIZE}.
     * Flushing and GC keep their defaults.
     *
     * @param arenaSize the {@code --arena-size} given, or null.
     */
    BigQueue open(Long arenaSize, boolean syncOnWrite) {
        return open(arenaSize, syncOnWrite, QueueConfig.builder());
    }

    /**
     * Opens the queue for {@code gc}: with the queue's own consumer counted or not ({@code
     * --ignore-own-consumer}), and without pretouch, whose thread would make the next arena ahead
     * of a writer past half of its arena: a command run to free disk must not take more.
     */
    BigQueue openForGc(boolean ownConsumer) {
        return open(null, false, QueueConfig.builder().ownConsumer(ownConsumer).pretouch(false));
    }

    private BigQueue open(Long arenaSize, boolean syncOnWrite, QueueConfig.Builder config) {
        try {
            config.syncOnWrite(syncOnWrite);
            if (exists()) {
                long created = readArenaSize();
                if (arenaSize != null && arenaSize != created) {
                    throw new CliException(CliException.USAGE, "--arena-size " + Units.bytes(arenaSize)
                            + " cannot apply to the queue at " + dir + ": it was created with arena size "
                            + Units.bytes(created) + ", fixed for the queue's life; leave --arena-size out, or give"
                            + " a new directory");
                }
                config.arenaSize(created);
            } else {
                config.arenaSize(arenaSize != null ? arenaSize : DEFAULT_ARENA_SIZE);
            }
            return BigQueue.open(dir, config.build());
        } catch (UncheckedIOException | IllegalStateException e) {
            throw failure("cannot open the queue at " + dir, e);
        } catch (IllegalArgumentException e) {
            throw new CliException(CliException.USAGE, "cannot open the queue at " + dir + ": "
                    + inCommandLineWords(e.getMessage()), e);
        }
    }

    /**
     * Opens the queue for {@code consume}: as its owner when it is free (which recovers a queue its
     * last writer left after a crash), without pretouch, whose thread would make the next arena
     * ahead of a writer past half of its arena for a command that writes no message; while another
     * process holds it (its writer: an application, a {@code produce}), read-only beside it
     * ({@code QueueConfig.readOnly}), which never writes the queue's files and needs no lock.
     *
     * @return the queue, read-only or not ({@link dev.bigqueue.QueueConfig#readOnly()} says which).
     */
    BigQueue openForReading() {
        try {
            return open(null, false, QueueConfig.builder().pretouch(false));
        } catch (CliException e) {
            if (e.exitCode() != CliException.LOCKED) {
                throw e;
            }
            return openReadOnly();
        }
    }

    /** Opens the existing queue read-only, beside its writer if it has one. */
    BigQueue openReadOnly() {
        try {
            return BigQueue.open(dir, QueueConfig.builder().readOnly(true).build());
        } catch (UncheckedIOException | IllegalStateException e) {
            throw failure("cannot open the queue at " + dir + " read-only", e);
        } catch (IllegalArgumentException e) {
            throw new CliException(CliException.USAGE, "cannot open the queue at " + dir + " read-only: "
                    + inCommandLineWords(e.getMessage()), e);
        }
    }

    /**
     * Parses {@code --arena-size}: a size from {@link QueueConfig#MIN_ARENA_SIZE} to
     * {@link QueueConfig#MAX_ARENA_SIZE}; anything else, 0 included, is a usage error.
     */
    static long parseArenaSize(String text) {
        long bytes;
        try {
            bytes = Units.parseBytes(text);
        } catch (IllegalArgumentException e) {
            throw new CliException(CliException.USAGE, "--arena-size: " + e.getMessage());
        }
        if (bytes < QueueConfig.MIN_ARENA_SIZE || bytes > QueueConfig.MAX_ARENA_SIZE) {
            throw new CliException(CliException.USAGE, "--arena-size must be " + Units.bytes(QueueConfig.MIN_ARENA_SIZE)
                    + ".." + Units.bytes(QueueConfig.MAX_ARENA_SIZE) + ", got " + text.trim());
        }
        return bytes;
    }

    /**
     * A message of the core, which speaks to Java code ("set QueueConfig.builder().arenaSize(..) or
     * bigqueue.arenaSize"), in the words of the command line: the flag that sets the option, or a
     * plain statement that no flag does.
     */
    static String inCommandLineWords(String message) {
        if (message == null) {
            return "invalid configuration";
        }
        Matcher advice = BUILDER_ADVICE.matcher(message);
        StringBuilder out = new StringBuilder();
        while (advice.find()) {
            String flag = FLAGS.get(advice.group(1));
            advice.appendReplacement(out, Matcher.quoteReplacement(flag != null ? flag
                    : "the option " + advice.group(1) + " (no command-line flag sets it)"));
        }
        advice.appendTail(out);
        String text = out.toString();
        for (Map.Entry<String, String> flag : FLAGS.entrySet()) {
            text = text.replaceAll("\\b" + flag.getKey() + "\\b", Matcher.quoteReplacement(flag.getValue()));
        }
        return text;
    }

    /**
     * {@link #open}, waiting while another process (another bigqueue command, say) holds the queue:
     * one try every 50 ms for up to {@code patience}, then the LOCKED error of the last try.
     * {@code null} patience waits until interrupted. Any other failure, a permission problem
     * included, ends it at once: waiting would not fix it.
     */
    BigQueue openWhenFree(Long arenaSize, boolean syncOnWrite, Duration patience) throws InterruptedException {
        long deadline = patience == null ? 0 : System.nanoTime() + patience.toNanos();
        for (;;) {
            try {
                return open(arenaSize, syncOnWrite);
            } catch (CliException e) {
                if (e.exitCode() != CliException.LOCKED || patience != null && System.nanoTime() - deadline >= 0) {
                    throw e;
                }
            }
            Thread.sleep(50);
        }
    }

    /**
     * Runs {@code operation} on this directory, a whole-queue step that needs the queue closed
     * ({@code verb}: "repair", "upgrade"), with its errors as exit codes: not a queue, damaged beyond
     * it (FAILED, with the reason), or the failures of {@link #failure} (permission, in use).
     */
    <T> T offline(String verb, Function<Path, T> operation) {
        try {
            return operation.apply(path());
        } catch (IllegalArgumentException e) {
            throw new CliException(CliException.NOT_A_QUEUE, e.getMessage(), e);
        } catch (QueueCorruptedException e) {
            throw new CliException(CliException.FAILED, "cannot " + verb + " " + path() + ": " + CliException.reason(e),
                    e);
        } catch (UncheckedIOException | IllegalStateException e) {
            throw failure("cannot " + verb + " the queue at " + path(), e);
        }
    }

    /**
     * The error for {@code doing} ("cannot open the queue at DIR") failing with {@code e}: a
     * permission problem first, then a queue in use, else FAILED with the cause's message.
     */
    CliException failure(String doing, Throwable e) {
        CliException denied = CliException.permissionDenied(dir, e);
        if (denied != null) {
            return denied;
        }
        if (looksLocked(e)) {
            return new CliException(CliException.LOCKED, "the queue at " + dir + " is in use: " + e.getMessage(), e);
        }
        return new CliException(CliException.FAILED, doing + ": " + CliException.reason(e), e);
    }

    /**
     * Whether an open failed because another process or another open holds the queue: the core
     * says so with an IllegalStateException (naming the holder's pid), or the JDK with an
     * OverlappingFileLockException. An IOException never counts, even one naming queue.lock: that
     * is the lock file failing (denied, disk full), which waiting does not fix.
     */
    private static boolean looksLocked(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String message = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (t instanceof OverlappingFileLockException || t instanceof IllegalStateException
                    && (message.contains("already open") || message.contains("lock") || message.contains("pid"))) {
                return true;
            }
        }
        return false;
    }

    /** An arena file on disk. */
    record ArenaFile(long id, Path file, long bytes) {
    }

    /** The arena files, in id order. */
    List<ArenaFile> arenas() {
        List<ArenaFile> arenas = new ArrayList<>();
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path file : (Iterable<Path>) entries::iterator) {
                long id = FileFormat.arenaIdOf(file.getFileName().toString());
                if (id >= 0) {
                    arenas.add(new ArenaFile(id, file, Files.size(file)));
                }
            }
        } catch (IOException | UncheckedIOException e) {
            throw failure("cannot list " + dir, e);
        }
        arenas.sort((a, b) -> Long.compare(a.id(), b.id()));
        return arenas;
    }

    /** Bytes of every file under the directory, arenas included. */
    long diskBytes() {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(file -> {
                try {
                    return Files.size(file);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (IOException | UncheckedIOException e) {
            throw failure("cannot walk " + dir, e);
        }
    }
}
