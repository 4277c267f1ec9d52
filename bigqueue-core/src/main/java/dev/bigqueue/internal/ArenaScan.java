package dev.bigqueue.internal;

import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableSet;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The arena files of a queue directory as found on open, each verified before it is trusted:
 * exact size, magic, version, the id in its header equal to the id in its name, the arena size
 * equal to the queue's, and the ids one contiguous run. Reads 64 bytes per file and changes
 * nothing; what it finds is applied later ({@link #deleteLeftovers}), once the whole open has
 * been checked.
 *
 * <p>Which files must exist follows from {@code queue.meta}: every arena from the start's (the
 * earliest record kept) to the one holding the last byte that must be there (the exact tail of a
 * clean close, else the durable point). A file missing there is damage, named in the error.
 * Files below the start are left over from a collection that a crash cut short. Files above the
 * tail's arena are made ahead of the writer and must not hold a record yet.
 */
final class ArenaScan {
    private static final Logger LOG = LoggerFactory.getLogger(ArenaScan.class);

    private final Path dir;
    private final long arenaSize;
    private final long dataBytes;
    /** Arena id -> its first record (null if none starts there), for every verified file. */
    private final TreeMap<Long, StreamPoint> found = new TreeMap<>();
    private final List<Path> temporaries = new ArrayList<>();
    /** Pool files (arenaPool): never arenas, whatever their bytes; {@link ArenaPool#open} judges them. */
    private final List<Path> pools = new ArrayList<>();

    private ArenaScan(Path dir, long arenaSize) {
        this.dir = dir;
        this.arenaSize = arenaSize;
        this.dataBytes = FileFormat.dataBytes(arenaSize);
    }

    /**
     * Lists and verifies every arena file in {@code dir}.
     *
     * @throws QueueCorruptedException naming the first file that fails, or the first id missing
     *     between the lowest and the highest.
     */
    static ArenaScan of(Path dir, long arenaSize) throws IOException {
        ArenaScan scan = new ArenaScan(dir, arenaSize);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                long id = FileFormat.arenaIdOf(name);
                if (id >= 0) {
                    scan.found.put(id, scan.verify(p, id));
                } else if (FileFormat.poolIdOf(name) >= 0) {
                    scan.pools.add(p);
                } else if (FileFormat.isOwnTemporary(name)) {
                    scan.temporaries.add(p);
                } else if (!name.equals(FileFormat.META_FILE) && !name.equals(FileFormat.LOCK_FILE)
                        && !name.equals(FileFormat.CONSUMERS_DIR) && !name.equals(FileFormat.SNAPSHOTS_DIR)
                        && !name.equals(FileFormat.WRITEBACK_FAILED_FILE)) {
                    LOG.warn("queue {}: ignoring file '{}', which is not part of the queue", dir, name);
                }
            }
        }
        if (!scan.found.isEmpty()) {
            long expected = scan.found.firstKey();
            for (long id : scan.found.keySet()) {
                if (id != expected) {
                    throw new QueueCorruptedException(FileFormat.arenaFile(dir, expected), 0, "arena file is missing"
                            + " between " + FileFormat.arenaFileName(scan.found.firstKey()) + " and "
                            + FileFormat.arenaFileName(scan.found.lastKey()));
                }
                expected++;
            }
        }
        return scan;
    }

    /** Reads and checks one arena file's header; returns its first record, or null if none. */
    private StreamPoint verify(Path file, long id) throws IOException {
        if (Files.isDirectory(file)) {
            throw new QueueCorruptedException(file, 0, "an arena file's name is taken by a directory");
        }
        ByteBuffer header = ByteBuffer.allocate(FileFormat.ARENA_HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        long size = Uninterruptible.call(() -> {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                while (header.hasRemaining() && ch.read(header, header.position()) > 0) {
                    // keep reading
                }
                return ch.size();
            }
        });
        if (size != arenaSize) {
            throw new QueueCorruptedException(file, size, "arena file is " + size + " bytes, expected " + arenaSize
                    + " (truncated, or written with another arenaSize)");
        }
        String problem = ArenaHeader.problem(header, id, arenaSize);
        if (problem != null) {
            throw new QueueCorruptedException(file, 0, problem);
        }
        StreamPoint first = ArenaHeader.firstRecord(header);
        if (first != null && (first.position() / dataBytes != id || first.offset() < 0)) {
            throw new QueueCorruptedException(file, FileFormat.ARENA_FIRST_RECORD_SLOT, "the first-record slot says"
                    + " position " + first.position() + ", which is not in this arena");
        }
        return first;
    }

    /** The ids of the arena files found, lowest first. */
    NavigableSet<Long> arenaIds() {
        return found.navigableKeySet();
    }

    /** The pool files found, oldest pooled (lowest arena id) first. */
    List<Path> poolFiles() {
        List<Path> sorted = new ArrayList<>(pools);
        sorted.sort(null);
        return sorted;
    }

    boolean isEmpty() {
        return found.isEmpty();
    }

    long lowestId() {
        return found.isEmpty() ? -1 : found.firstKey();
    }

    long highestId() {
        return found.isEmpty() ? -1 : found.lastKey();
    }

    /**
     * For a queue written before the start was recorded: the first record of the lowest arena
     * that has one, or null.
     */
    StreamPoint legacyStart() {
        for (StreamPoint first : found.values()) {
            if (first != null) {
                return first;
            }
        }
        return null;
    }

    /**
     * Checks that every arena holding bytes that must exist is here: from the start's arena to
     * the arena of the last byte before {@code mustExistUpTo}.
     */
    void checkHolds(StreamPoint start, long mustExistUpTo, String why) {
        if (mustExistUpTo <= start.position()) {
            return;
        }
        long first = start.position() / dataBytes;
        long last = (mustExistUpTo - 1) / dataBytes;
        if (found.isEmpty() || lowestId() > first) {
            throw new QueueCorruptedException(FileFormat.arenaFile(dir, first), 0, "arena file is missing: it holds"
                    + " the earliest message kept, " + start + ", and every message up to stream position "
                    + mustExistUpTo + " must be there (" + why + ")");
        }
        if (highestId() < last) {
            throw new QueueCorruptedException(FileFormat.arenaFile(dir, highestId() + 1), 0, "arena file is missing:"
                    + " messages up to stream position " + mustExistUpTo + " must be there (" + why + "), but the"
                    + " last arena file is " + FileFormat.arenaFileName(highestId()));
        }
    }

    /**
     * Checks that no arena after the tail's holds a record: such a file does not belong to this
     * queue.meta (restored from another backup, say), and writing over it would lose it.
     */
    void checkNothingAfter(StreamPoint tail) {
        long tailArena = tail.position() / dataBytes;
        for (var e : found.tailMap(tailArena, false).entrySet()) {
            if (e.getValue() != null) {
                throw new QueueCorruptedException(FileFormat.arenaFile(dir, e.getKey()), 0, "arena file holds records"
                        + " from " + e.getValue() + " on, past the queue's tail, " + tail + ": queue.meta and the"
                        + " arena files do not belong together (restored from different backups?)");
            }
        }
    }

    /** Registers the verified arenas at or after the start's with the ArenaManager. */
    void registerFrom(long startArena, ArenaManager arenas) {
        for (var e : found.tailMap(startArena, true).entrySet()) {
            arenas.register(e.getKey(), e.getValue());
        }
    }

    /** Deletes what a crash left: arenas below the start (a collection cut short) and temporary files. */
    void deleteLeftovers(long startArena) throws IOException {
        boolean deleted = false;
        for (long id : found.headMap(startArena, false).keySet()) {
            Files.deleteIfExists(FileFormat.arenaFile(dir, id));
            deleted = true;
        }
        if (deleted) {
            LOG.info("queue {}: deleted arena files {}..{}, below the earliest message kept (a collection was cut"
                    + " short)", dir, FileFormat.arenaFileName(found.firstKey()),
                    FileFormat.arenaFileName(startArena - 1));
        }
        for (Path tmp : temporaries) {
            // A creation cut short by a crash; the real file was never renamed into place.
            Files.deleteIfExists(tmp);
            deleted = true;
        }
        if (deleted) {
            NativeIO.syncDirectory(dir);
        }
    }
}
