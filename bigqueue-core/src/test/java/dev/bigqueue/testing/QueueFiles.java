package dev.bigqueue.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.bigqueue.internal.FileFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Byte-level access to a <em>closed</em> queue directory, for tests that damage files on purpose
 * or forge the state a crash leaves behind. Layout and constants come from {@link FileFormat}.
 */
public final class QueueFiles {
    private QueueFiles() {
    }

    /** How many distinct arena files of {@code dir} this process has mapped right now. */
    public static int mappedArenaFiles(Path dir) throws IOException {
        String prefix = dir.toRealPath().toString() + "/arena-";
        List<String> lines = Files.readAllLines(Path.of("/proc/self/maps"));
        return (int) lines.stream()
                .map(l -> l.contains(prefix) ? l.substring(l.indexOf(prefix)) : null)
                .filter(s -> s != null)
                .distinct()
                .count();
    }

    /**
     * Stream positions of records whose payload sizes are {@code sizes}: element i is where record
     * i starts, the last element is where the next record would start.
     */
    public static long[] positions(int[] sizes) {
        long[] p = new long[sizes.length + 1];
        for (int i = 0; i < sizes.length; i++) {
            p[i + 1] = p[i] + FileFormat.recordBytes(sizes[i]);
        }
        return p;
    }

    /** The arena file holding stream position {@code position}. */
    public static Path arenaFileAt(Path dir, long arenaSize, long position) {
        return FileFormat.arenaFile(dir, position / FileFormat.dataBytes(arenaSize));
    }

    /** The byte within its arena file of stream position {@code position}. */
    public static long indexInArena(long arenaSize, long position) {
        return FileFormat.arenaDataStart(arenaSize) + position % FileFormat.dataBytes(arenaSize);
    }

    public static byte readByte(Path file, long at) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            return b.get(0);
        }
    }

    public static void writeByte(Path file, long at, byte value) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {value}), at);
        }
    }

    /** Inverts every bit of one byte; returns its old value, to restore it. */
    public static byte flipByte(Path file, long at) throws IOException {
        byte old = readByte(file, at);
        writeByte(file, at, (byte) ~old);
        return old;
    }

    /** Overwrites {@code length} bytes from {@code at} with zeros (as if never written). */
    public static void zero(Path file, long at, int length) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(length), at);
        }
    }

    public static void writeInt(Path file, long at, int value) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value), at);
        }
    }

    public static int readInt(Path file, long at) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, at);
            return b.getInt(0);
        }
    }

    /** queue.meta of {@code dir}. */
    public static Path meta(Path dir) {
        return dir.resolve(FileFormat.META_FILE);
    }

    /** Marks the queue as not closed cleanly, as a process killed while it was open leaves it. */
    public static void markUnclean(Path dir) throws IOException {
        writeInt(meta(dir), FileFormat.META_STATE_OFFSET, FileFormat.STATE_OPEN);
    }

    /** Writes a valid slot (offset, position, sequence) at {@code at} of queue.meta. */
    public static void writeSlot(Path dir, int at, long offset, long position, long sequence) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(FileFormat.SLOT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(FileFormat.SLOT_OFFSET, offset);
        b.putLong(FileFormat.SLOT_POSITION, position);
        b.putLong(FileFormat.SLOT_SEQUENCE, sequence);
        b.putLong(FileFormat.SLOT_CHECK, FileFormat.slotCheck(offset, position, sequence));
        try (FileChannel ch = FileChannel.open(meta(dir), StandardOpenOption.WRITE)) {
            ch.write(b, at);
        }
    }

    /** The sequence word of the slot at {@code at} of queue.meta. */
    public static long slotSequence(Path dir, int at) throws IOException {
        try (FileChannel ch = FileChannel.open(meta(dir), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, at + FileFormat.SLOT_SEQUENCE);
            return b.getLong(0);
        }
    }

    /**
     * Rewinds the tail hint to (offset, position), as it stood before a write that a crash cut
     * short, and forgets the durable point (as if no flush had covered that write).
     */
    public static void forgeCrashBefore(Path dir, long offset, long position) throws IOException {
        markUnclean(dir);
        writeSlot(dir, FileFormat.META_TAIL_SLOT, offset, position,
                slotSequence(dir, FileFormat.META_TAIL_SLOT) + 1);
        zero(meta(dir), FileFormat.META_DURABLE_SLOTS, 2 * FileFormat.SLOT_SIZE);
    }

    /**
     * Forges the state of a queue that was flushed up to (offset, position) and then died without
     * a clean close: unclean, with that durable point.
     */
    public static void forgeCrashAfterFlush(Path dir, long offset, long position) throws IOException {
        markUnclean(dir);
        zero(meta(dir), FileFormat.META_DURABLE_SLOTS, 2 * FileFormat.SLOT_SIZE);
        writeSlot(dir, FileFormat.META_DURABLE_SLOTS, offset, position, 1);
    }

    /** Every file of the queue directory (recursively) but the lock file, by relative path. */
    public static TreeMap<String, byte[]> snapshot(Path dir) throws IOException {
        TreeMap<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p) && !p.getFileName().toString().equals(FileFormat.LOCK_FILE)) {
                    files.put(dir.relativize(p).toString(), Files.readAllBytes(p));
                }
            }
        }
        return files;
    }

    /** Asserts that every file but the lock is byte for byte as in {@code before}. */
    public static void assertUnchanged(TreeMap<String, byte[]> before, Path dir, String why) throws IOException {
        TreeMap<String, byte[]> now = snapshot(dir);
        assertEquals(before.keySet(), now.keySet(), why + ": the same files");
        for (String name : before.keySet()) {
            assertArrayEquals(before.get(name), now.get(name), why + ": " + name + " unchanged");
        }
    }

    /** Copies a directory tree (a queue directory, a captured golden queue), replacing files. */
    public static void copyTree(Path from, Path to) throws IOException {
        try (java.util.stream.Stream<Path> s = java.nio.file.Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (java.nio.file.Files.isDirectory(p)) {
                    java.nio.file.Files.createDirectories(target);
                } else {
                    java.nio.file.Files.copy(p, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    /**
     * Dirty kB of this process's mappings of files in {@code dir} whose names start with
     * {@code prefix}, from /proc/self/smaps: 0 means everything mapped there is on disk.
     */
    public static long dirtyKb(Path dir, String prefix) throws IOException {
        String path = dir.toRealPath() + "/" + prefix;
        java.util.regex.Pattern mapping = java.util.regex.Pattern.compile("^[0-9a-f]+-[0-9a-f]+ .*");
        long kb = 0;
        boolean in = false;
        for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/smaps"))) {
            if (mapping.matcher(line).matches()) {
                in = line.contains(path);
            } else if (in && (line.startsWith("Shared_Dirty:") || line.startsWith("Private_Dirty:"))) {
                kb += Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return kb;
    }
}
