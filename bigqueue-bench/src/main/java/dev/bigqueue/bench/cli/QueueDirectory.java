package dev.bigqueue.bench.cli;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.internal.FileFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * A queue directory as the command line sees it: check that it is one before opening it, open it
 * with the arena size it was created with, and list its files. File names come from
 * {@link FileFormat}, the one place that defines them.
 */
final class QueueDirectory {
    private final Path dir;

    QueueDirectory(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    Path path() {
        return dir;
    }

    /** Fails with exit code {@link CliException#NOT_A_QUEUE} unless {@code dir} holds a queue. */
    QueueDirectory requireQueue() {
        if (!Files.exists(dir)) {
            throw new CliException(CliException.NOT_A_QUEUE, "no queue at " + dir + ": the directory does not exist");
        }
        if (!Files.isDirectory(dir)) {
            throw new CliException(CliException.NOT_A_QUEUE, "no queue at " + dir + ": it is a file, not a directory");
        }
        Path meta = dir.resolve(FileFormat.META_FILE);
        if (!Files.isRegularFile(meta)) {
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
        if (Files.exists(dir) && !isEmpty()) {
            requireQueue();
        } else if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new CliException(CliException.NOT_A_QUEUE, "cannot create a queue at " + dir + ": it is a file");
        }
        return this;
    }

    boolean exists() {
        return Files.isRegularFile(dir.resolve(FileFormat.META_FILE));
    }

    private boolean isEmpty() {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        } catch (IOException e) {
            return false;
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
            throw new CliException(CliException.FAILED, "cannot read " + meta + ": " + e.getMessage(), e);
        }
    }

    /**
     * Opens the queue. An existing queue opens with the arena size it was created with, a new one
     * with {@code newArenaSize} (0 = the default). Flushing and GC keep their defaults.
     */
    BigQueue open(long newArenaSize, boolean syncOnWrite) {
        QueueConfig.Builder config = QueueConfig.builder().syncOnWrite(syncOnWrite);
        if (exists()) {
            config.arenaSize(readArenaSize());
        } else if (newArenaSize > 0) {
            config.arenaSize(newArenaSize);
        }
        try {
            return BigQueue.open(dir, config.build());
        } catch (UncheckedIOException | IllegalStateException e) {
            String message = String.valueOf(e.getMessage());
            if (looksLocked(e)) {
                throw new CliException(CliException.LOCKED, "the queue at " + dir + " is in use: " + message, e);
            }
            throw new CliException(CliException.FAILED, "cannot open the queue at " + dir + ": " + message, e);
        } catch (IllegalArgumentException e) {
            throw new CliException(CliException.USAGE, "cannot open the queue at " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * {@link #open}, waiting while another process (another bigqueue command, say) holds the queue:
     * one try every 50 ms for up to {@code patience}, then the LOCKED error of the last try.
     * {@code null} patience waits until interrupted.
     */
    BigQueue openWhenFree(long newArenaSize, boolean syncOnWrite, Duration patience) throws InterruptedException {
        long deadline = patience == null ? 0 : System.nanoTime() + patience.toNanos();
        for (;;) {
            try {
                return open(newArenaSize, syncOnWrite);
            } catch (CliException e) {
                if (e.exitCode() != CliException.LOCKED || patience != null && System.nanoTime() - deadline >= 0) {
                    throw e;
                }
            }
            Thread.sleep(50);
        }
    }

    /** Whether an open failed because another process or another open holds the queue. */
    private static boolean looksLocked(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String message = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (t instanceof java.nio.channels.OverlappingFileLockException || message.contains("lock")
                    || message.contains("already open") || message.contains("pid")) {
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
        } catch (IOException e) {
            throw new CliException(CliException.FAILED, "cannot list " + dir + ": " + e.getMessage(), e);
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
        } catch (IOException e) {
            throw new CliException(CliException.FAILED, "cannot walk " + dir + ": " + e.getMessage(), e);
        }
    }
}
