package dev.bigqueue.bench.cli;

import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.internal.NativeIO;
import dev.bigqueue.internal.PositionSlots;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * What a queue's files record, read without opening the queue as its owner: the commands that only
 * look ({@code inspect}, {@code consumers} list) must change no file, and an owner's open rewrites
 * {@code queue.meta} and the consumer files, and may make an arena ahead.
 */
final class RecordedState {
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
     * {head offset, durable offset} as {@code queue.meta} records them: the queue's own consumer and
     * the point below which every record was synced. Meaningful only while no writer holds the queue
     * (a writer moves them on); -1 for a slot pair neither of whose slots is valid.
     */
    static long[] headAndDurable(Path dir) {
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
        return new long[] {head.valid() ? head.offset() : -1, durable.valid() ? durable.offset() : -1};
    }
}
