package dev.bigqueue.bench.cli;

import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.internal.NativeIO;
import dev.bigqueue.internal.PositionSlots;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * What a queue's files record, read without opening the queue as its owner: the commands that only
 * look ({@code inspect}, {@code consumers} list) must change no file, and an owner's open rewrites
 * {@code queue.meta} and the consumer files, and may make an arena ahead.
 */
final class RecordedState {
    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

    private RecordedState() {
    }

    /**
     * The pid of the process holding the queue as its writer, or -1 if none (or this platform cannot
     * tell). Asked of the kernel ({@code F_GETLK}) rather than by taking the lock: a probe that took
     * it, however briefly, could make a writer starting at that instant fail as "in use".
     */
    static long writerPid(Path dir) {
        Path lock = dir.resolve(FileFormat.LOCK_FILE);
        return Files.isRegularFile(lock) ? NativeIO.lockHolderPid(lock) : -1;
    }

    /**
     * What {@code queue.meta} records of the last writer's open. Meaningful only while no writer
     * holds the queue (a writer moves head and durable point on, and its state says "open").
     *
     * @param head the queue's own consumer's committed offset; -1 for a slot pair neither of whose
     *     slots is valid.
     * @param durable every record below it was synced at the last flush; -1 likewise.
     * @param closedCleanly whether the last writer closed the queue; false if it died while open
     *     (kill -9, a crash, a power loss) and no writer has opened it since.
     * @param rebooted whether the kernel that last opened the queue as its writer is not this one
     *     (the machine restarted since); false when either boot id is unknown.
     */
    record Meta(long head, long durable, boolean closedCleanly, boolean rebooted) {
    }

    static Meta read(Path dir) {
        Path meta = dir.resolve(FileFormat.META_FILE);
        ByteBuffer b = ByteBuffer.allocate(FileFormat.META_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel channel = FileChannel.open(meta, StandardOpenOption.READ)) {
            while (b.hasRemaining() && channel.read(b) > 0) {
                // Read the whole file: it is one page.
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + meta + ": " + e.getMessage(), e);
        }
        PositionSlots head = new PositionSlots(b, FileFormat.META_HEAD_SLOTS);
        PositionSlots durable = new PositionSlots(b, FileFormat.META_DURABLE_SLOTS);
        boolean clean = b.getInt(FileFormat.META_STATE_OFFSET) == FileFormat.STATE_CLOSED_CLEANLY;
        UUID recordedBoot = new UUID(b.getLong(FileFormat.META_BOOT_ID_OFFSET),
                b.getLong(FileFormat.META_BOOT_ID_OFFSET + 8));
        UUID boot = currentBoot();
        boolean rebooted = boot != null && !recordedBoot.equals(new UUID(0, 0)) && !recordedBoot.equals(boot);
        return new Meta(head.valid() ? head.offset() : -1, durable.valid() ? durable.offset() : -1, clean, rebooted);
    }

    /** This kernel boot's id (Linux), as the queue records it; null if unknown. */
    private static UUID currentBoot() {
        try {
            return UUID.fromString(Files.readString(BOOT_ID, StandardCharsets.US_ASCII).trim());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
