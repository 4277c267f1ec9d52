package dev.bigqueue.metrics;

import dev.bigqueue.internal.ConsumerFile;
import dev.bigqueue.internal.FileFormat;
import io.micrometer.core.instrument.Clock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Collections;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a queue directory holds, read from the file system: arena files, bytes on disk, and the
 * committed offset of every persisted named consumer. One scan serves every meter that asks within
 * {@code maxAgeNs}, so a registry that reads ten meters per scrape lists the directory once.
 *
 * <p><b>Design note:</b> this is the one class of the module that reads the core's internals
 * ({@link FileFormat} for the arena file names, {@link ConsumerFile#readEach} for the consumer
 * files, the read the queue's open makes to check them against a recovered tail). The public API
 * gives neither the arena count nor a persisted consumer's position without opening that consumer,
 * and opening it here would take it from the application: a second open of an open name returns the
 * application's instance (or fails for the other commit mode), and closing it would close theirs. A
 * public read of both would replace this class; the module's README section names the methods.
 *
 * <p><b>Threads:</b> safe from any number; a scan runs under this object's lock.
 */
final class QueueFiles {
    private static final Logger LOG = LoggerFactory.getLogger(QueueFiles.class);

    /** One scan; {@code NaN} for what could not be read. */
    record Snapshot(double arenaFiles, double arenaBytes, double diskBytes, Map<String, Long> committedOffsets) {
        static final Snapshot UNKNOWN = new Snapshot(Double.NaN, Double.NaN, Double.NaN, Map.of());
    }

    private final Path dir;
    private final Clock clock;
    private final long maxAgeNs;
    /** Guarded by this. */
    private Snapshot last;
    /** Guarded by this; the clock's monotonic time of {@link #last}. */
    private long lastAtNs;
    /** Guarded by this: each failure is logged once, not on every scrape. */
    private final Set<String> warned = new HashSet<>();

    QueueFiles(Path dir, Clock clock, long maxAgeNs) {
        this.dir = dir;
        this.clock = clock;
        this.maxAgeNs = maxAgeNs;
    }

    /** The latest scan, made now if the last one is older than the maximum age. */
    synchronized Snapshot snapshot() {
        long now = clock.monotonicTime();
        if (last == null || now - lastAtNs >= maxAgeNs) {
            last = scan();
            lastAtNs = now;
        }
        return last;
    }

    private Snapshot scan() {
        long[] arenaFilesAndBytes = new long[2];
        long diskBytes;
        try {
            diskBytes = bytesUnder(dir, arenaFilesAndBytes);
        } catch (IOException | UncheckedIOException e) {
            warnOnce("cannot list queue directory " + dir + ": " + e.getMessage());
            return Snapshot.UNKNOWN;
        }
        Map<String, Long> offsets;
        try {
            Map<String, Long> read = new TreeMap<>();
            // One damaged consumer file must not blind the meters of the others: only its own read NaN.
            ConsumerFile.readEach(dir.resolve(FileFormat.CONSUMERS_DIR), (file, problem) ->
                            warnOnce("cannot read consumer file " + file + " (" + problem + ")"))
                    .forEach((name, offsetAndPosition) -> read.put(name, offsetAndPosition[0]));
            offsets = Collections.unmodifiableMap(read);
        } catch (IOException | UncheckedIOException e) {
            warnOnce("cannot read the consumer files of " + dir + ": " + e.getMessage());
            offsets = Map.of();
        }
        return new Snapshot(arenaFilesAndBytes[0], arenaFilesAndBytes[1], diskBytes, offsets);
    }

    /**
     * Bytes of the regular files under {@code directory}, counting the arena files of the queue
     * directory itself into {@code arenaFilesAndBytes}. A file the collector deletes while the scan
     * runs counts as gone, never as an error.
     */
    private long bytesUnder(Path directory, long[] arenaFilesAndBytes) throws IOException {
        long total = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                BasicFileAttributes attributes;
                try {
                    attributes = Files.readAttributes(entry, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                } catch (NoSuchFileException deletedMeanwhile) {
                    continue;
                }
                if (attributes.isDirectory()) {
                    total += bytesUnder(entry, arenaFilesAndBytes);
                } else if (attributes.isRegularFile()) {
                    total += attributes.size();
                    if (directory.equals(dir) && FileFormat.arenaIdOf(entry.getFileName().toString()) >= 0) {
                        arenaFilesAndBytes[0]++;
                        arenaFilesAndBytes[1] += attributes.size();
                    }
                }
            }
        } catch (NoSuchFileException deletedMeanwhile) {
            if (directory.equals(dir)) {
                throw deletedMeanwhile;
            }
        }
        return total;
    }

    private void warnOnce(String message) {
        if (warned.add(message)) {
            LOG.warn("{}; the meters read NaN until it can be read (logged once)", message);
        }
    }
}
