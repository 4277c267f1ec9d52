package dev.bigqueue.internal;

import static dev.bigqueue.internal.FileFormat.META_SIZE;

import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * The mapped {@code queue.meta} file (layout in {@link FileFormat}): the persisted arena size, the
 * clean-shutdown state, the tail hint, the queue's own consumer head and the durable point. Stores
 * go to the page cache at once, so they survive a process crash; {@link #force()} makes them
 * survive a power loss.
 *
 * <p>Not thread-safe: each slot has one writer (the tail: the writer lock; the head: the queue's
 * reader lock; the durable point: the flusher).
 */
public final class Index implements AutoCloseable {
    private final Path file;
    private final MappedByteBuffer buffer;
    private final PositionSlots head;
    private final PositionSlots durable;
    private long tailSequence;

    private Index(Path file, MappedByteBuffer buffer) {
        this.file = file;
        this.buffer = buffer;
        this.head = new PositionSlots(buffer, FileFormat.META_HEAD_SLOTS);
        this.durable = new PositionSlots(buffer, FileFormat.META_DURABLE_SLOTS);
        this.tailSequence = buffer.getLong(FileFormat.META_TAIL_SLOT + FileFormat.SLOT_SEQUENCE);
    }

    /** Creates a new {@code queue.meta} atomically (temp file, sync, rename, directory sync). */
    static Index create(Path dir, long arenaSize) throws IOException {
        Path file = dir.resolve(FileFormat.META_FILE);
        ByteBuffer b = ByteBuffer.allocate(META_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, FileFormat.META_MAGIC);
        b.putInt(FileFormat.META_VERSION_OFFSET, FileFormat.VERSION);
        b.putInt(FileFormat.META_STATE_OFFSET, FileFormat.STATE_CLOSED_CLEANLY);
        b.putLong(FileFormat.META_ARENA_SIZE_OFFSET, arenaSize);
        b.putLong(FileFormat.META_CREATED_OFFSET, System.currentTimeMillis());
        PositionSlots.writeSlot(b, FileFormat.META_TAIL_SLOT, 0, 0, 1);
        DurableFiles.writeAtomically(file, b);
        return open(file);
    }

    /**
     * Maps an existing {@code queue.meta} and checks its magic and version.
     *
     * @throws QueueCorruptedException if it is not one, or of an unknown version.
     */
    static Index open(Path file) throws IOException {
        MappedByteBuffer b = Uninterruptible.call(() -> {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                if (ch.size() != META_SIZE) {
                    throw new QueueCorruptedException(file, ch.size(), "queue.meta is " + ch.size()
                            + " bytes, expected " + META_SIZE + " (truncated or foreign file)");
                }
                return ch.map(FileChannel.MapMode.READ_WRITE, 0, META_SIZE);
            }
        });
        b.order(ByteOrder.LITTLE_ENDIAN);
        String problem = null;
        if (b.getLong(0) != FileFormat.META_MAGIC) {
            problem = "not a bigqueue queue.meta file (bad magic)";
        } else if (b.getInt(FileFormat.META_VERSION_OFFSET) != FileFormat.VERSION) {
            problem = "incompatible queue.meta version " + b.getInt(FileFormat.META_VERSION_OFFSET)
                    + ", this bigqueue reads version " + FileFormat.VERSION;
        }
        if (problem != null) {
            Arena.unmap(b);
            throw new QueueCorruptedException(file, 0, problem);
        }
        return new Index(file, b);
    }

    public Path file() {
        return file;
    }

    public long arenaSize() {
        return buffer.getLong(FileFormat.META_ARENA_SIZE_OFFSET);
    }

    boolean closedCleanly() {
        return buffer.getInt(FileFormat.META_STATE_OFFSET) == FileFormat.STATE_CLOSED_CLEANLY;
    }

    void setState(int state) {
        buffer.putInt(FileFormat.META_STATE_OFFSET, state);
    }

    /** The tail hint as {offset, position}, or null if its slot is torn. */
    long[] tailHint() {
        int at = FileFormat.META_TAIL_SLOT;
        if (PositionSlots.validSequence(buffer, at) == 0) {
            return null;
        }
        return new long[] {buffer.getLong(at + FileFormat.SLOT_OFFSET), buffer.getLong(at + FileFormat.SLOT_POSITION)};
    }

    /** Updates the tail hint; a single slot, because a torn one just means a longer recovery scan. */
    void writeTailHint(long offset, long position) {
        PositionSlots.writeSlot(buffer, FileFormat.META_TAIL_SLOT, offset, position, ++tailSequence);
    }

    public PositionSlots head() {
        return head;
    }

    PositionSlots durable() {
        return durable;
    }

    /** Whether the boot id recorded at the last open is this kernel's: no OS crash since. */
    boolean sameBoot() {
        UUID now = BootId.current();
        if (now == null) {
            return false;
        }
        return buffer.getLong(FileFormat.META_BOOT_ID_OFFSET) == now.getMostSignificantBits()
                && buffer.getLong(FileFormat.META_BOOT_ID_OFFSET + 8) == now.getLeastSignificantBits();
    }

    void recordBoot() {
        UUID now = BootId.current();
        buffer.putLong(FileFormat.META_BOOT_ID_OFFSET, now == null ? 0 : now.getMostSignificantBits());
        buffer.putLong(FileFormat.META_BOOT_ID_OFFSET + 8, now == null ? 0 : now.getLeastSignificantBits());
    }

    /** msync of the whole file. */
    void force() {
        buffer.force();
    }

    @Override
    public void close() {
        Arena.unmap(buffer);
    }

    /** This kernel boot's id (Linux), which changes on every boot: tells a process crash from an OS crash. */
    static final class BootId {
        private static final UUID CURRENT = read();

        static UUID current() {
            return CURRENT;
        }

        private static UUID read() {
            try {
                String s = Files.readString(Path.of("/proc/sys/kernel/random/boot_id"), StandardCharsets.US_ASCII);
                return UUID.fromString(s.trim());
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }

        private BootId() {
        }
    }
}
