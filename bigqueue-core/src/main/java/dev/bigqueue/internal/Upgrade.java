package dev.bigqueue.internal;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.QueueCorruptedException;
import dev.bigqueue.UpgradeReport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rewrites a closed format-1 queue as format 2 ({@code BigQueue.upgrade}). The version-1 files
 * are only read. The new queue is built beside it in {@code DIR.upgrading}, made durable, and
 * swapped with {@code DIR} in one atomic step (renameat2 RENAME_EXCHANGE); the old files are then
 * renamed to {@code DIR.v1-yyyyMMdd'T'HHmmss'Z'}. A kill at any moment leaves {@code DIR} holding
 * either the whole version-1 queue (run the upgrade again: it throws the half-built copy away) or
 * the whole version-2 queue (a later run finishes renaming the old files aside). Where the file
 * system cannot exchange atomically, two renames are used and a crash between them leaves no
 * {@code DIR} but {@code DIR.upgrading} (version 2, complete) beside the kept version-1 files; an
 * upgrade run again renames it into place.
 *
 * <p>Offsets are kept: message n of version 1 is message n of version 2, the queue's own
 * consumer and every named consumer resume at the same offset. Version 1 had no timestamps: each
 * message gets the modification time of the version-1 arena file it starts in, which is at or
 * after the time it was written (the last write to that file), so a later seek by time starts at
 * or before the messages written after that time: it may replay, never skip.
 */
public final class Upgrade {
    private static final Logger LOG = LoggerFactory.getLogger(Upgrade.class);
    private static final int V1_ARENA_HEADER = 64;
    private static final int V1_RECORD_HEADER = 8;

    private final Path dir;
    private final long arenaSize;
    private final long dataBytes;
    private final TreeMap<Long, Long> arenaTimes = new TreeMap<>();
    private long mappedId = -1;
    private MappedByteBuffer mapped;

    private Upgrade(Path dir, long arenaSize) {
        this.dir = dir;
        this.arenaSize = arenaSize;
        this.dataBytes = (arenaSize - V1_ARENA_HEADER) & ~7L;
    }

    public static UpgradeReport upgrade(Path dir) throws IOException {
        dir = realDirectory(dir);
        Path building = dir.resolveSibling(dir.getFileName() + ".upgrading");
        boolean halfBuilt = !Files.exists(dir) && Files.isRegularFile(building.resolve(FileFormat.META_FILE))
                && metaVersion(building) == FileFormat.VERSION;
        if (halfBuilt && keptVersion1Exists(dir)) {
            // A crash between the two renames of the fallback: the version-1 files were renamed
            // aside, which happens only once the new queue is complete.
            Files.move(building, dir, StandardCopyOption.ATOMIC_MOVE);
            NativeIO.syncDirectory(dir.getParent());
            LOG.info("queue {}: finished an upgrade cut short (moved {} into place)", dir, building);
        }
        if (!Files.isRegularFile(dir.resolve(FileFormat.META_FILE))) {
            throw new IllegalArgumentException(dir + " is not a queue directory (no " + FileFormat.META_FILE + ")"
                    + (halfBuilt && Files.isDirectory(building) ? "; " + building + " beside it is the copy of an"
                    + " upgrade cut short before it was complete, not a queue: put the version-1 queue back in " + dir
                    + " and upgrade again" : ""));
        }
        try (DirectoryLock lock = DirectoryLock.acquire(dir)) {
            pauseAt("begin");
            int version = metaVersion(dir);
            if (version == FileFormat.VERSION) {
                Path kept = null;
                if (Files.isDirectory(building) && metaVersion(building) == FileFormat.VERSION_1) {
                    // Swapped in, but the old files were not yet renamed aside.
                    kept = keepAside(dir, building);
                }
                return new UpgradeReport(dir, kept, 0, 0, 0);
            }
            if (version != FileFormat.VERSION_1) {
                throw new IllegalStateException("queue " + dir + " has format version " + version + ": this bigqueue"
                        + " reads version " + FileFormat.VERSION + " and upgrades version " + FileFormat.VERSION_1);
            }
            deleteTree(building); // a half-built copy from an upgrade cut short
            ByteBuffer meta = readFile(dir.resolve(FileFormat.META_FILE), FileFormat.META_SIZE);
            if (meta.getInt(FileFormat.META_STATE_OFFSET) != FileFormat.STATE_CLOSED_CLEANLY) {
                throw new IllegalStateException("queue " + dir + " (format version 1) was not closed cleanly: open it"
                        + " once with the version-1 bigqueue and close it (its recovery runs then), then upgrade");
            }
            Upgrade u = new Upgrade(dir, meta.getLong(FileFormat.META_ARENA_SIZE_OFFSET));
            UpgradeReport report;
            try {
                report = u.build(meta, building);
            } catch (IOException | RuntimeException | Error e) {
                // The partial copy is worth nothing (a next run throws it away), and after a full
                // disk it holds the space the user needs back before anything else works.
                try {
                    deleteTree(building);
                } catch (IOException | RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
                throw e;
            } finally {
                u.unmapArena();
            }
            pauseAt("built");
            Path kept;
            if (NativeIO.exchange(dir, building)) {
                NativeIO.syncDirectory(dir.getParent());
                pauseAt("exchanged");
                kept = keepAside(dir, building);
            } else {
                kept = keptName(dir);
                Files.move(dir, kept, StandardCopyOption.ATOMIC_MOVE);
                Files.move(building, dir, StandardCopyOption.ATOMIC_MOVE);
                NativeIO.syncDirectory(dir.getParent());
            }
            LOG.info("queue {}: upgraded from format version 1 to 2; the version-1 files are in {}", dir, kept);
            return new UpgradeReport(dir, kept, report.messages(), report.firstOffset(), report.consumers());
        }
    }

    /**
     * Damage in a version-1 file. Not the usual advice to run a repair: this bigqueue repairs only
     * version 2 and refuses a version-1 queue, naming the upgrade, which would send the user round
     * in a circle.
     */
    private static QueueCorruptedException damagedV1(Path file, long at, String detail) {
        String consumer = file.getFileName().toString().endsWith(FileFormat.CONSUMER_SUFFIX)
                ? ", or delete this consumer's file (the consumer then starts again at the earliest message)" : "";
        return new QueueCorruptedException(file, at, detail, "the upgrade changed nothing. This bigqueue repairs"
                + " only format version 2: restore the file from a backup, or repair the queue with the version-1"
                + " bigqueue" + consumer + ", then upgrade again");
    }

    /**
     * Where the queue's files are: through symbolic links, their target. The new queue is built
     * beside that directory and exchanged with it: beside a link, it would be built on the link's
     * file system and replace the link itself, leaving the files the link points to in version 1.
     * A dangling link is followed too (the target renamed aside by an upgrade cut short).
     */
    private static Path realDirectory(Path dir) throws IOException {
        Path at = dir.toAbsolutePath();
        if (Files.exists(at)) {
            return at.toRealPath(); // the kernel's own resolution, ".." after a link included
        }
        at = at.normalize();
        for (int links = 0; Files.isSymbolicLink(at); links++) {
            if (links == 40) { // the kernel's own limit (ELOOP)
                throw new IOException("cannot upgrade " + dir + ": too many levels of symbolic links");
            }
            // A relative target is taken from where the link really is, not from the path written.
            Path from = at.getParent();
            at = (Files.isDirectory(from) ? from.toRealPath() : from).resolve(Files.readSymbolicLink(at)).normalize();
        }
        Path parent = at.getParent();
        return parent != null && Files.isDirectory(parent) ? parent.toRealPath().resolve(at.getFileName()) : at;
    }

    /** For the crash test only: pauses at {@code step} if {@code bigqueue.upgrade.pauseAt} names it. */
    private static void pauseAt(String step) {
        CrashPause.at("bigqueue.upgrade.pauseAt", step);
    }

    private static Path keepAside(Path dir, Path oldFiles) throws IOException {
        Path kept = keptName(dir);
        Files.move(oldFiles, kept, StandardCopyOption.ATOMIC_MOVE);
        Files.deleteIfExists(kept.resolve(FileFormat.LOCK_FILE));
        NativeIO.syncDirectory(dir.getParent());
        return kept;
    }

    /** Whether the version-1 files of {@code dir} have been renamed aside ({@link #keptName}). */
    private static boolean keptVersion1Exists(Path dir) throws IOException {
        String prefix = dir.getFileName() + ".v1-";
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir.getParent(), p -> p.getFileName().toString()
                .startsWith(prefix))) {
            for (Path kept : s) {
                if (Files.isRegularFile(kept.resolve(FileFormat.META_FILE))
                        && metaVersion(kept) == FileFormat.VERSION_1) {
                    return true;
                }
            }
        }
        return false;
    }

    private static Path keptName(Path dir) {
        String stamp = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC)
                .format(Instant.now());
        Path kept = dir.resolveSibling(dir.getFileName() + ".v1-" + stamp);
        for (int i = 2; Files.exists(kept); i++) {
            kept = dir.resolveSibling(dir.getFileName() + ".v1-" + stamp + "-" + i);
        }
        return kept;
    }

    private static int metaVersion(Path d) throws IOException {
        ByteBuffer b = readFile(d.resolve(FileFormat.META_FILE), 16);
        if (b.getLong(0) != FileFormat.META_MAGIC) {
            throw damagedV1(d.resolve(FileFormat.META_FILE), 0, "not a bigqueue queue.meta file");
        }
        return b.getInt(FileFormat.META_VERSION_OFFSET);
    }

    private static ByteBuffer readFile(Path file, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
                // keep reading
            }
        }
        b.clear();
        return b;
    }

    private UpgradeReport build(ByteBuffer meta, Path building) throws IOException {
        StreamPoint tail = new PositionSlots(slotPair(meta, FileFormat.META_TAIL_SLOT), 0).point();
        if (tail == null) {
            throw damagedV1(dir.resolve(FileFormat.META_FILE), FileFormat.META_TAIL_SLOT,
                    "the tail slot of a cleanly closed queue is damaged");
        }
        StreamPoint start = new PositionSlots(meta, FileFormat.META_START_SLOTS).point();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                long id = FileFormat.arenaIdOf(p.getFileName().toString());
                if (id >= 0) {
                    arenaTimes.put(id, Files.getLastModifiedTime(p).toMillis());
                }
            }
        }
        if (start == null) {
            start = arenaTimes.isEmpty() ? tail : firstRecordV1(arenaTimes.firstKey());
        }
        StreamPoint head = new PositionSlots(meta, FileFormat.META_HEAD_SLOTS).point();
        if (head == null && !PositionSlots.blank(meta, FileFormat.META_HEAD_SLOTS)) {
            // Taking it as "never read" would rewind the queue's own consumer to the start, silently;
            // an open of a version-2 queue refuses the same damage.
            throw damagedV1(dir.resolve(FileFormat.META_FILE), FileFormat.META_HEAD_SLOTS,
                    "queue.meta is damaged: both slots of the queue's own consumer position fail their check, so"
                    + " the upgrade cannot tell where it was");
        }
        long headOffset = inLog("the queue's own consumer", head == null ? start.offset() : head.offset(), start,
                tail);
        // Named consumers: name -> {offset, mode}.
        TreeMap<String, long[]> consumers = new TreeMap<>();
        Path consumersDir = dir.resolve(FileFormat.CONSUMERS_DIR);
        if (Files.isDirectory(consumersDir)) {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(consumersDir, "*" + FileFormat.CONSUMER_SUFFIX)) {
                for (Path p : s) {
                    ByteBuffer b = readFile(p, FileFormat.CONSUMER_FILE_SIZE);
                    if (b.getLong(0) != FileFormat.CONSUMER_MAGIC) {
                        throw damagedV1(p, 0, "not a consumer file");
                    }
                    StreamPoint at = new PositionSlots(b, FileFormat.CONSUMER_SLOTS).point();
                    if (at == null) {
                        throw damagedV1(p, FileFormat.CONSUMER_SLOTS, "both position slots are"
                                + " damaged");
                    }
                    String name = p.getFileName().toString();
                    name = name.substring(0, name.length() - FileFormat.CONSUMER_SUFFIX.length());
                    consumers.put(name, new long[] {inLog("consumer '" + name + "'", at.offset(), start, tail),
                        b.getInt(FileFormat.CONSUMER_MODE_OFFSET)});
                }
            }
        }
        Files.createDirectories(building);
        Index index = Index.create(building, arenaSize);
        try {
            StreamPoint v2Start = new StreamPoint(start.offset(), 0);
            index.writeStart(v2Start);
            index.writeCleanTail(v2Start);
            index.commitHead(v2Start.offset(), 0);
            index.force();
        } finally {
            index.close();
        }
        TreeMap<Long, Long> positions = new TreeMap<>(); // offsets wanted -> v2 position
        positions.put(headOffset, -1L);
        for (long[] c : consumers.values()) {
            positions.put(c[0], -1L);
        }
        long count = 0;
        QueueConfig config = QueueConfig.builder().arenaSize(arenaSize).pretouch(false).build();
        try (BigQueue q = BigQueue.open(building, config)) {
            Cursor c = new Cursor();
            c.moveTo(start);
            long v2Position = 0;
            CRC32C crc = new CRC32C();
            while (c.offset() < tail.offset()) {
                if (positions.containsKey(c.offset())) {
                    positions.put(c.offset(), v2Position);
                }
                long arena = c.position() / dataBytes;
                byte[] payload = readV1(c, tail, crc);
                Long mtime = arenaTimes.get(arena);
                long offset = q.enqueue(Message.builder().timestamp(Instant.ofEpochMilli(mtime == null ? 0 : mtime))
                        .value(payload).build());
                if (offset != c.offset() - 1) {
                    throw new IllegalStateException("upgrade of " + dir + ": message " + (c.offset() - 1)
                            + " became offset " + offset);
                }
                v2Position += FileFormat.recordBytes(payload.length);
                if (count++ == 0) {
                    pauseAt("building");
                }
            }
            if (positions.containsKey(tail.offset())) {
                positions.put(tail.offset(), v2Position);
            }
            q.flush();
        }
        Index after = Index.open(building.resolve(FileFormat.META_FILE));
        try {
            after.commitHead(headOffset, positions.get(headOffset));
            after.force();
        } finally {
            after.close();
        }
        for (var e : consumers.entrySet()) {
            long offset = e.getValue()[0];
            ConsumerFile.create(FileFormat.consumerFile(building, e.getKey()), offset, positions.get(offset),
                    (int) e.getValue()[1]).close();
        }
        NativeIO.syncDirectory(building.resolve(FileFormat.CONSUMERS_DIR).toFile().isDirectory()
                ? building.resolve(FileFormat.CONSUMERS_DIR) : building);
        NativeIO.syncDirectory(building);
        NativeIO.syncDirectory(building.getParent());
        return new UpgradeReport(dir, building, count, start.offset(), consumers.size());
    }

    /**
     * A consumer's offset, moved into [start, tail]: only offsets of that range get a version-2
     * position. Past the tail is what a version-1 queue could keep after an OS crash (the position
     * on disk, the records not; version 1 moved such a consumer back only while no other consumer
     * file was damaged): it resumes at the tail, as a version-2 open moves it.
     */
    private long inLog(String who, long offset, StreamPoint start, StreamPoint tail) {
        if (offset > tail.offset()) {
            LOG.warn("queue {}: {} was committed at offset {}, past the tail {}: those records did not survive an OS"
                    + " crash or power loss; it resumes at the tail", dir, who, offset, tail.offset());
            return tail.offset();
        }
        return Math.max(offset, start.offset());
    }

    private static ByteBuffer slotPair(ByteBuffer meta, int at) {
        // The tail is one slot; present it as a pair whose second slot is blank.
        ByteBuffer b = ByteBuffer.allocate(2 * FileFormat.SLOT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < FileFormat.SLOT_SIZE; i++) {
            b.put(i, meta.get(at + i));
        }
        return b;
    }

    private StreamPoint firstRecordV1(long id) throws IOException {
        ByteBuffer h = readFile(FileFormat.arenaFile(dir, id), V1_ARENA_HEADER);
        StreamPoint p = new PositionSlots(slotPair(h, FileFormat.ARENA_FIRST_RECORD_SLOT), 0).point();
        return p == null ? StreamPoint.ZERO : p;
    }

    private ByteBuffer arena(long id) throws IOException {
        if (id != mappedId) {
            unmapArena();
            Path file = FileFormat.arenaFile(dir, id);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                // A read-only map cannot reach past the end of the file: check the size first.
                if (ch.size() < arenaSize) {
                    throw damagedV1(file, ch.size(), "version-1 arena file is " + ch.size() + " bytes, expected "
                            + arenaSize + " (the queue's arena size)");
                }
                mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, arenaSize);
                mapped.order(ByteOrder.LITTLE_ENDIAN);
            } catch (NoSuchFileException e) {
                throw damagedV1(file, 0, "version-1 arena file is missing");
            }
            mappedId = id;
        }
        return mapped;
    }

    /** Unmaps the version-1 arena read last: one at a time, none once the build ends. */
    private void unmapArena() {
        if (mapped != null) {
            MappedByteBuffer m = mapped;
            mapped = null;
            mappedId = -1;
            Mapping.unmapOwned(m);
        }
    }

    /** Reads and checks the version-1 record at {@code c}, moving past it. */
    private byte[] readV1(Cursor c, StreamPoint tail, CRC32C crc) throws IOException {
        long position = c.position();
        long id = position / dataBytes;
        ByteBuffer m = arena(id);
        int at = (int) (V1_ARENA_HEADER + position % dataBytes);
        int len = m.getInt(at);
        int stored = m.getInt(at + 4);
        long bytes = (V1_RECORD_HEADER + (long) len + 7) & ~7L;
        if (len < 0 || position + bytes > tail.position()) {
            throw damagedV1(FileFormat.arenaFile(dir, id), at, "version-1 record at offset "
                    + c.offset() + " has a bad length " + len);
        }
        byte[] out = new byte[len];
        int done = 0;
        long p = position + V1_RECORD_HEADER;
        while (done < len) {
            long aid = p / dataBytes;
            int in = (int) (V1_ARENA_HEADER + p % dataBytes);
            int n = (int) Math.min(len - done, dataBytes - p % dataBytes);
            arena(aid).get(in, out, done, n);
            done += n;
            p += n;
        }
        crc.reset();
        crc.update(out, 0, len);
        if (((int) crc.getValue() ^ FileFormat.recordSalt(c.offset(), len)) != stored) {
            throw damagedV1(FileFormat.arenaFile(dir, id), at, "version-1 record at offset "
                    + c.offset() + " fails its checksum");
        }
        c.moveTo(c.offset() + 1, position + bytes);
        return out;
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
