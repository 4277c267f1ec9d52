package dev.bigqueue.consumer;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshot files of one {@link LatestValues} store in {@code DIR/latest/}: {@code NAME-OFFSET.snap}
 * (OFFSET in 20 digits: the map holds every record below it) and {@code NAME.origin.snap} (the empty
 * map at the offset where the store began, which makes a full replay possible while its arenas are on
 * disk).
 *
 * <pre>
 * offset  size  field
 *  0      8     magic "BQLVSNAP"
 *  8      4     CRC32C of the entries (56 to the end) followed by the header fields 12..56
 * 12      4     version (2)
 * 16      8     offset: every record below it is in the map
 * 24      8     entries
 * 32      8     length of the file in bytes (a truncated copy fails here before its CRC is read)
 * 40      4     1 if the next two fields describe the record at offset - 1, else 0 (none: the
 *               origin, or a snapshot at offset 0)
 * 44      8     that record's timestamp (ms)
 * 52      4     CRC32C of that record's key, 0 without one (see {@link RecordMark})
 * 56      ...   entries: keyLength int, key UTF-8, timestamp long (ms), record offset long,
 *               valueLength int (-1: tombstone), value
 * </pre>
 *
 * Version 1 (written before 2026-12) has no fields 40..56: its entries start at 40. It is still
 * read, without the check that it belongs to this queue.
 *
 * A snapshot is written to {@code .tmp}, fsynced, renamed and the directory fsynced, so a crash leaves
 * either the complete file or a {@code .tmp} that is ignored and deleted at the next open.
 *
 * <p>Threads: stateless apart from its final fields; the store serializes writes of one name.
 */
final class Snapshots {
    private static final Logger LOG = LoggerFactory.getLogger(Snapshots.class);
    private static final byte[] MAGIC = "BQLVSNAP".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 2;
    private static final int HEADER = 56;
    private static final int HEADER_V1 = 40;
    private static final int BUFFER = 1 << 20;

    /** A snapshot file whose checks failed: the message says which and why. */
    static final class BadSnapshotException extends IOException {
        BadSnapshotException(String message) {
            super(message);
        }
    }

    /** What a snapshot file holds; {@code below} is null if it names no record (version 1, origin, offset 0). */
    record Loaded(long offset, ValueMap map, long entries, RecordMark below) {
    }

    private final Path dir;
    private final String name;
    private final Pattern snapName;
    /** This store's unfinished files: a prefix match would take those of "ab" for store "a". */
    private final Pattern tmpName;

    Snapshots(Path queueDir, String name) {
        this.dir = queueDir.resolve(dev.bigqueue.internal.FileFormat.SNAPSHOTS_DIR);
        this.name = name;
        this.snapName = Pattern.compile(Pattern.quote(name) + "-(\\d{20})\\.snap");
        this.tmpName = Pattern.compile(Pattern.quote(name) + "(-\\d{20}|\\.origin)\\.snap\\.tmp");
    }

    Path directory() {
        return dir;
    }

    Path origin() {
        return dir.resolve(name + ".origin.snap");
    }

    Path fileFor(long offset) {
        return dir.resolve(String.format("%s-%020d.snap", name, offset));
    }

    /** Snapshot files of this store, newest offset first. */
    List<Path> list() throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, name + "-*.snap")) {
            for (Path p : s) {
                if (snapName.matcher(p.getFileName().toString()).matches()) {
                    out.add(p);
                }
            }
        }
        out.sort(Comparator.comparingLong(this::offsetOf).reversed());
        return out;
    }

    long offsetOf(Path snapshot) {
        Matcher m = snapName.matcher(snapshot.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a snapshot of '" + name + "': " + snapshot);
        }
        return Long.parseLong(m.group(1));
    }

    /**
     * Renames a snapshot that must never be loaded to {@code .bad}, with a WARN saying why; it stays
     * for a post-mortem, out of {@link #list()}.
     */
    void setAside(Path snapshot, String why) throws IOException {
        Path bad = snapshot.resolveSibling(snapshot.getFileName() + ".bad");
        Files.move(snapshot, bad, StandardCopyOption.REPLACE_EXISTING);
        LOG.warn("LatestValues: snapshot {} is unusable, renamed to {}: {}", snapshot, bad.getFileName(), why);
    }

    /** Deletes the {@code .tmp} files a crash in the middle of a checkpoint left; returns how many. */
    int deleteUnfinished() throws IOException {
        int n = 0;
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, name + "*.snap.tmp")) {
            for (Path p : s) {
                if (tmpName.matcher(p.getFileName().toString()).matches()) {
                    Files.deleteIfExists(p);
                    n++;
                }
            }
        }
        return n;
    }

    /**
     * Writes {@code map} as the snapshot at {@code offset} to {@code target}, durably and atomically;
     * runs {@code beforeVisible} once the file is synced, just before it takes its name.
     * {@code below} is the record at {@code offset - 1}, or null for none.
     */
    long write(Path target, long offset, RecordMark below, ValueMap map, Runnable beforeVisible)
            throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            // The directory's own entry must survive a power loss as the snapshots in it do.
            syncDirectory(dir.getParent());
        }
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        long size;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                ch.position(HEADER);
                CRC32C crc = new CRC32C();
                long[] count = {0};
                OutputStream raw = Channels.newOutputStream(ch);
                DataOutputStream out = new DataOutputStream(new BufferedOutputStream(new CheckedOutputStream(raw, crc),
                        BUFFER));
                IOException[] failure = {null};
                map.forEach((key, e) -> {
                    if (failure[0] != null) {
                        return;
                    }
                    try {
                        byte[] k = key.getBytes(StandardCharsets.UTF_8);
                        out.writeInt(k.length);
                        out.write(k);
                        out.writeLong(e.timestamp());
                        out.writeLong(e.offset());
                        if (e.value() == null) {
                            out.writeInt(-1);
                        } else {
                            out.writeInt(e.value().length);
                            out.write(e.value());
                        }
                        count[0]++;
                    } catch (IOException x) {
                        failure[0] = x;
                    }
                });
                if (failure[0] != null) {
                    throw failure[0];
                }
                out.flush();
                size = ch.position();
                ByteBuffer h = ByteBuffer.allocate(HEADER - 12);
                h.putInt(VERSION).putLong(offset).putLong(count[0]).putLong(size);
                if (below == null) {
                    h.putInt(0).putLong(0).putInt(0);
                } else {
                    h.putInt(1).putLong(below.timestamp()).putInt(below.keyCrc());
                }
                h.flip();
                crc.update(h.duplicate());
                long bodyCrc = crc.getValue();
                ByteBuffer head = ByteBuffer.allocate(HEADER);
                head.put(MAGIC).putInt((int) bodyCrc).put(h).flip();
                writeFully(ch, head, 0);
                ch.force(true);
            }
            beforeVisible.run();
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException | Error e) {
            // A failed checkpoint (a full disk, most likely) leaves no .tmp taking room until the next open.
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException x) {
                e.addSuppressed(x);
            }
            throw e;
        }
        syncDirectory(dir);
        return size;
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            pos += ch.write(b, pos);
        }
    }

    static void syncDirectory(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    /**
     * Reads and checks a whole snapshot: magic, version, length, the offset in its name (unless
     * {@code expectedOffset} is -1), every length inside it and the CRC over the whole file.
     *
     * @throws BadSnapshotException saying what is wrong; the map is never returned partly read.
     */
    Loaded read(Path file, long expectedOffset) throws IOException {
        long size = Files.size(file);
        if (size < HEADER_V1) {
            throw new BadSnapshotException(file + " is " + size + " bytes, shorter than its " + HEADER_V1
                    + "-byte header (torn or truncated)");
        }
        try (InputStream fin = Files.newInputStream(file)) {
            DataInputStream head = new DataInputStream(fin);
            byte[] magic = new byte[8];
            head.readFully(magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) {
                throw new BadSnapshotException(file + " does not start with the snapshot magic BQLVSNAP");
            }
            int storedCrc = head.readInt();
            int version = head.readInt();
            if (version != VERSION && version != 1) {
                throw new BadSnapshotException(file + " has version " + version + "; this bigqueue reads versions 1"
                        + " and " + VERSION);
            }
            int headerSize = version == 1 ? HEADER_V1 : HEADER;
            if (size < headerSize) {
                throw new BadSnapshotException(file + " is " + size + " bytes, shorter than its " + headerSize
                        + "-byte header (torn or truncated)");
            }
            byte[] fields = new byte[headerSize - 12];
            ByteBuffer.wrap(fields).putInt(version);
            head.readFully(fields, 4, fields.length - 4);
            DataInputStream hf = new DataInputStream(new java.io.ByteArrayInputStream(fields, 4, fields.length - 4));
            CRC32C crc = new CRC32C();
            DataInputStream in = new DataInputStream(new BufferedInputStream(new CheckedInputStream(fin, crc),
                    BUFFER));
            long offset = hf.readLong();
            long entries = hf.readLong();
            long length = hf.readLong();
            RecordMark below = null;
            if (version != 1 && hf.readInt() == 1) {
                below = new RecordMark(offset - 1, hf.readLong(), hf.readInt());
            }
            if (length != size) {
                throw new BadSnapshotException(file + " is " + size + " bytes but says it is " + length
                        + " (torn or truncated)");
            }
            if (expectedOffset >= 0 && offset != expectedOffset) {
                throw new BadSnapshotException(file + " holds offset " + offset + ", not the " + expectedOffset
                        + " of its name");
            }
            if (entries < 0 || entries > (size - headerSize) / 24) {
                throw new BadSnapshotException(file + " says it has " + entries + " entries, impossible in "
                        + size + " bytes");
            }
            ValueMap map = new ValueMap((int) Math.min(entries * 4 / 3 + 1, 1 << 28));
            long left = size - headerSize;
            for (long i = 0; i < entries; i++) {
                int kl = in.readInt();
                left -= 4;
                if (kl < 0 || kl > left) {
                    throw new BadSnapshotException(file + ": entry " + i + " has a key length of " + kl);
                }
                byte[] k = new byte[kl];
                in.readFully(k);
                long ts = in.readLong();
                long off = in.readLong();
                int vl = in.readInt();
                left -= kl + 20L;
                if (vl < -1 || vl > left) {
                    throw new BadSnapshotException(file + ": entry " + i + " has a value length of " + vl);
                }
                byte[] v = null;
                if (vl >= 0) {
                    v = new byte[vl];
                    in.readFully(v);
                    left -= vl;
                }
                map.apply(new String(k, StandardCharsets.UTF_8), new ValueMap.Entry(v, ts, off));
            }
            if (left != 0 || in.read() != -1) {
                throw new BadSnapshotException(file + " has " + left + " bytes after its " + entries + " entries");
            }
            crc.update(fields);
            if ((int) crc.getValue() != storedCrc) {
                throw new BadSnapshotException(file + " fails its CRC32C check (damaged)");
            }
            return new Loaded(offset, map, entries, below);
        } catch (EOFException e) {
            throw new BadSnapshotException(file + " ends in the middle of an entry (torn or truncated)");
        }
    }
}
