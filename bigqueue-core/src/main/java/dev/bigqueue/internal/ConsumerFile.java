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
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;

/**
 * One named consumer's persisted position, {@code consumers/NAME.consumer} (layout in
 * {@link FileFormat}). Kept in the core because the garbage collector must honour consumers that
 * are persisted but not open in this run. Commits are stores into a mapped file: they survive a
 * process crash at once and a power loss after the next flush.
 *
 * <p><b>Lifetime.</b> Every access pins the file's {@link Mapping}; {@link #close()} retires it
 * and waits for the accesses in progress, after which every method throws
 * {@link IllegalStateException} (a consumer closed or deleted while another thread used it) and
 * {@link #force()} does nothing. <b>Threads:</b> commits are serialised by the consumer's lock.
 */
public final class ConsumerFile implements PositionStore, AutoCloseable {
    private final Path file;
    private final Mapping mapping;
    private final PositionSlots slots;
    private final String closedMessage;
    /** The cross-process ownership of this consumer, released by close; null if none was attached. */
    private volatile ConsumerOwnership owner;

    private ConsumerFile(Path file, Mapping mapping) {
        this.file = file;
        this.mapping = mapping;
        this.slots = new PositionSlots(mapping.buffer(), FileFormat.CONSUMER_SLOTS);
        String name = file.getFileName().toString();
        name = name.substring(0, name.length() - FileFormat.CONSUMER_SUFFIX.length());
        this.closedMessage = "consumer '" + name + "' was closed or deleted while in use; open it again with"
                + " Consumers.open(\"" + name + "\")";
    }

    /**
     * Creates the file for a new consumer at (offset, position), atomically: a reader of the
     * directory sees either no file or a complete one.
     */
    public static ConsumerFile create(Path file, long offset, long position, int mode) throws IOException {
        DurableFiles.createDirectories(file.getParent());
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
        Mapping mapping = Mapping.map(file, size -> {
            if (size != FileFormat.CONSUMER_FILE_SIZE) {
                throw new QueueCorruptedException(file, size, "consumer file is " + size + " bytes, expected "
                        + FileFormat.CONSUMER_FILE_SIZE + "; delete the consumer or restore the file");
            }
        });
        String problem = check(mapping.buffer());
        if (problem != null) {
            mapping.discard();
            throw new QueueCorruptedException(file, 0, problem + "; delete the consumer or restore the file");
        }
        return new ConsumerFile(file, mapping);
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
     * The consumer naming rule (SPEC, named consumers): 1..200 ASCII letters, digits, '.', '_' and
     * '-', starting with a letter or digit. A file whose name breaks it (a user's copy,
     * {@code billing copy.consumer}) is still read by {@link #readAll}: its position may be what
     * keeps a consumer's records, so the collector counts it (and warns of it).
     */
    public static final Pattern VALID_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");

    /**
     * Reads the committed positions of every consumer file in {@code consumersDir} without mapping
     * them, as name -> {offset, position}.
     *
     * @throws QueueCorruptedException if one of them cannot be read: the caller must then keep
     *     everything, since that consumer's position is unknown.
     */
    public static Map<String, long[]> readAll(Path consumersDir) throws IOException {
        return readEach(consumersDir, (f, problem) -> {
            throw new QueueCorruptedException(f, 0, problem);
        });
    }

    /**
     * {@link #readAll}, but a file that cannot be read is left out and handed to {@code unreadable}
     * with what is wrong with it: for work that each readable consumer needs whatever another one's
     * file holds (moving those committed past a recovered tail back to it).
     */
    public static Map<String, long[]> readEach(Path consumersDir, BiConsumer<Path, String> unreadable)
            throws IOException {
        Map<String, long[]> out = new TreeMap<>();
        if (!Files.isDirectory(consumersDir)) {
            return out;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(consumersDir, "*" + FileFormat.CONSUMER_SUFFIX)) {
            for (Path f : files) {
                ByteBuffer b = ByteBuffer.allocate(FileFormat.CONSUMER_FILE_SIZE).order(ByteOrder.LITTLE_ENDIAN);
                boolean present;
                try {
                    present = Uninterruptible.call(() -> {
                        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                            while (b.hasRemaining() && ch.read(b) > 0) {
                                // keep reading
                            }
                            return true;
                        } catch (java.nio.file.NoSuchFileException deletedMeanwhile) {
                            return false;
                        }
                    });
                } catch (IOException e) {
                    // One consumer's position is unknown (a directory under its name, no permission,
                    // an I/O error): the others are still read, and the caller decides.
                    unreadable.accept(f, "consumer file cannot be read (" + e + ")");
                    continue;
                }
                if (!present) {
                    continue;
                }
                String problem = b.hasRemaining() ? "consumer file is truncated" : check(b);
                if (problem != null) {
                    unreadable.accept(f, problem);
                    continue;
                }
                PositionSlots slots = new PositionSlots(b, FileFormat.CONSUMER_SLOTS);
                String name = f.getFileName().toString();
                out.put(name.substring(0, name.length() - FileFormat.CONSUMER_SUFFIX.length()),
                        new long[] {slots.offset(), slots.position()});
            }
        }
        return out;
    }

    /**
     * Syncs every consumer file in {@code consumersDir} (open in this process, in another, or in
     * none), so that the committed positions {@link #readAll} saw survive a power loss.
     */
    public static void syncAll(Path consumersDir) throws IOException {
        if (!Files.isDirectory(consumersDir)) {
            return;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(consumersDir, "*" + FileFormat.CONSUMER_SUFFIX)) {
            for (Path f : files) {
                Uninterruptible.call(() -> {
                    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                        ch.force(false);
                    } catch (java.nio.file.NoSuchFileException deletedMeanwhile) {
                        // a deleted consumer holds nothing
                    }
                    return null;
                });
            }
        }
    }

    public Path file() {
        return file;
    }

    @Override
    public long committedOffset() {
        return slots.offset();
    }

    @Override
    public long committedPosition() {
        return slots.position();
    }

    private void pin() {
        if (!mapping.tryPin()) {
            throw new IllegalStateException(closedMessage);
        }
    }

    public int mode() {
        pin();
        try {
            return mapping.buffer().getInt(FileFormat.CONSUMER_MODE_OFFSET);
        } finally {
            mapping.unpin();
        }
    }

    public void setMode(int mode) {
        pin();
        try {
            mapping.buffer().putInt(FileFormat.CONSUMER_MODE_OFFSET, mode);
        } finally {
            mapping.unpin();
        }
    }

    /** Stores a new committed position; the consumer's lock serialises commits. */
    @Override
    public void commit(long offset, long position) {
        pin();
        try {
            slots.write(offset, position);
        } finally {
            mapping.unpin();
        }
    }

    @Override
    public void sync() {
        force();
    }

    /** msync: the committed position survives a power loss. Does nothing once closed. */
    public void force() {
        if (mapping.tryPin()) {
            try {
                mapping.force();
            } finally {
                mapping.unpin();
            }
        }
    }

    /** Hands this file the consumer's ownership, which {@link #close()} releases after the last access. */
    void ownedBy(ConsumerOwnership ownership) {
        this.owner = ownership;
    }

    /**
     * Syncs, then retires the mapping and waits until the accesses in progress have ended, then
     * releases the consumer's ownership (another process may open it from then on); idempotent.
     */
    @Override
    public void close() {
        try {
            force();
            mapping.retireAndAwait();
        } finally {
            ConsumerOwnership o = owner;
            if (o != null) {
                o.close();
            }
        }
    }
}
