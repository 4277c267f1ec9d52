package dev.bigqueue.internal;

import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * One named consumer's persisted position, {@code consumers/NAME.consumer} (layout in
 * {@link FileFormat}). Kept in the core because the garbage collector must honour consumers that
 * are persisted but not open in this run. Commits are stores into a mapped file: they survive a
 * process crash at once and a power loss after the next flush.
 */
public final class ConsumerFile implements AutoCloseable {
    private final Path file;
    private final MappedByteBuffer buffer;
    private final PositionSlots slots;

    private ConsumerFile(Path file, MappedByteBuffer buffer) {
        this.file = file;
        this.buffer = buffer;
        this.slots = new PositionSlots(buffer, FileFormat.CONSUMER_SLOTS);
    }

    /**
     * Creates the file for a new consumer at (offset, position), atomically: a reader of the
     * directory sees either no file or a complete one.
     */
    public static ConsumerFile create(Path file, long offset, long position, int mode) throws IOException {
        Files.createDirectories(file.getParent());
        ByteBuffer b = ByteBuffer.allocate(FileFormat.CONSUMER_FILE_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, FileFormat.CONSUMER_MAGIC);
        b.putInt(FileFormat.CONSUMER_VERSION_OFFSET, FileFormat.VERSION);
        b.putInt(FileFormat.CONSUMER_MODE_OFFSET, mode);
        PositionSlots.writeSlot(b, FileFormat.CONSUMER_SLOTS, offset, position, 1);
        DurableFiles.writeAtomically(file, b);
        return open(file);
    }

    /**
     * Maps an existing consumer file.
     *
     * @throws QueueCorruptedException naming the file if it is not a valid consumer file.
     */
    public static ConsumerFile open(Path file) throws IOException {
        MappedByteBuffer b = Uninterruptible.call(() -> {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                if (ch.size() != FileFormat.CONSUMER_FILE_SIZE) {
                    throw new QueueCorruptedException(file, ch.size(), "consumer file is " + ch.size()
                            + " bytes, expected " + FileFormat.CONSUMER_FILE_SIZE
                            + "; delete the consumer or restore the file");
                }
                return ch.map(FileChannel.MapMode.READ_WRITE, 0, FileFormat.CONSUMER_FILE_SIZE);
            }
        });
        b.order(ByteOrder.LITTLE_ENDIAN);
        String problem = check(b);
        if (problem != null) {
            Arena.unmap(b);
            throw new QueueCorruptedException(file, 0, problem + "; delete the consumer or restore the file");
        }
        return new ConsumerFile(file, b);
    }

    private static String check(ByteBuffer b) {
        if (b.getLong(0) != FileFormat.CONSUMER_MAGIC) {
            return "not a consumer file (bad magic)";
        }
        if (b.getInt(FileFormat.CONSUMER_VERSION_OFFSET) != FileFormat.VERSION) {
            return "incompatible consumer file version " + b.getInt(FileFormat.CONSUMER_VERSION_OFFSET)
                    + ", this bigqueue reads version " + FileFormat.VERSION;
        }
        if (PositionSlots.validSequence(b, FileFormat.CONSUMER_SLOTS) == 0
                && PositionSlots.validSequence(b, FileFormat.CONSUMER_SLOTS + FileFormat.SLOT_SIZE) == 0) {
            return "both position slots fail their check";
        }
        return null;
    }

    /**
     * Reads the committed positions of every consumer file in {@code consumersDir} without mapping
     * them, as name -> {offset, position}.
     *
     * @throws QueueCorruptedException if one of them cannot be read: the caller must then keep
     *     everything, since that consumer's position is unknown.
     */
    public static Map<String, long[]> readAll(Path consumersDir) throws IOException {
        Map<String, long[]> out = new TreeMap<>();
        if (!Files.isDirectory(consumersDir)) {
            return out;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(consumersDir, "*" + FileFormat.CONSUMER_SUFFIX)) {
            for (Path f : files) {
                ByteBuffer b = ByteBuffer.allocate(FileFormat.CONSUMER_FILE_SIZE).order(ByteOrder.LITTLE_ENDIAN);
                boolean present = Uninterruptible.call(() -> {
                    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                        while (b.hasRemaining() && ch.read(b) > 0) {
                            // keep reading
                        }
                        return true;
                    } catch (java.nio.file.NoSuchFileException deletedMeanwhile) {
                        return false;
                    }
                });
                if (!present) {
                    continue;
                }
                String problem = b.hasRemaining() ? "consumer file is truncated" : check(b);
                if (problem != null) {
                    throw new QueueCorruptedException(f, 0, problem);
                }
                PositionSlots slots = new PositionSlots(b, FileFormat.CONSUMER_SLOTS);
                String name = f.getFileName().toString();
                out.put(name.substring(0, name.length() - FileFormat.CONSUMER_SUFFIX.length()),
                        new long[] {slots.offset(), slots.position()});
            }
        }
        return out;
    }

    public Path file() {
        return file;
    }

    public long committedOffset() {
        return slots.offset();
    }

    public long committedPosition() {
        return slots.position();
    }

    public int mode() {
        return buffer.getInt(FileFormat.CONSUMER_MODE_OFFSET);
    }

    public void setMode(int mode) {
        buffer.putInt(FileFormat.CONSUMER_MODE_OFFSET, mode);
    }

    /** Stores a new committed position (not thread-safe: the owner serialises commits). */
    public void commit(long offset, long position) {
        slots.write(offset, position);
    }

    /** msync: the committed position survives a power loss. */
    public void force() {
        buffer.force();
    }

    @Override
    public void close() {
        Arena.unmap(buffer);
    }
}
