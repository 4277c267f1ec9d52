package dev.bigqueue.internal;

import static dev.bigqueue.internal.FileFormat.META_SIZE;

import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * The mapped {@code queue.meta} file (layout in {@link FileFormat}): the persisted arena size, the
 * clean-shutdown state, the exact tail of a clean close, the queue's own consumer head, the durable
 * point, and the start (earliest record kept). Stores go to the page cache at once, so they
 * survive a process crash; {@link #force()} makes them survive a power loss.
 *
 * <p><b>Lifetime.</b> Every method pins the file's {@link Mapping} around its access and throws
 * {@code QueueClosedException} once {@link #close()} has retired it; close waits for the accesses
 * in progress, so none can touch the pages after they are unmapped.
 *
 * <p><b>Threads.</b> Each slot pair has one writer, which serialises its writes: the head, the
 * queue's own consumer (under its lock); the durable point, the flusher (under its flush lock);
 * the start and the dropped mark, the collector (under its pass lock); state and tail, open and
 * close.
 */
public final class Index implements AutoCloseable {
    private final Path file;
    private final Mapping mapping;
    private final String closedMessage;
    private final PositionSlots head;
    private final PositionSlots durable;
    private final PositionSlots start;
    private final PositionSlots dropped;
    private final boolean headBlank;
    private final boolean startBlank;
    private final boolean droppedBlank;

    private Index(Path file, Mapping mapping) {
        this.file = file;
        this.mapping = mapping;
        this.closedMessage = "queue " + file.getParent().toAbsolutePath() + " is closed; open it again with"
                + " BigQueue.open(..)";
        ByteBuffer b = mapping.buffer();
        this.head = new PositionSlots(b, FileFormat.META_HEAD_SLOTS);
        this.durable = new PositionSlots(b, FileFormat.META_DURABLE_SLOTS);
        this.start = new PositionSlots(b, FileFormat.META_START_SLOTS);
        this.dropped = new PositionSlots(b, FileFormat.META_DROPPED_SLOTS);
        this.headBlank = PositionSlots.blank(b, FileFormat.META_HEAD_SLOTS);
        this.startBlank = PositionSlots.blank(b, FileFormat.META_START_SLOTS);
        this.droppedBlank = PositionSlots.blank(b, FileFormat.META_DROPPED_SLOTS);
    }

    /** Creates a new {@code queue.meta} atomically (temp file, sync, rename, directory sync). */
    static Index create(Path dir, long arenaSize) throws IOException {
        Path file = dir.resolve(FileFormat.META_FILE);
        ByteBuffer b = ByteBuffer.allocate(META_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        long created = System.currentTimeMillis();
        b.putLong(0, FileFormat.META_MAGIC);
        b.putInt(FileFormat.META_VERSION_OFFSET, FileFormat.VERSION);
        b.putInt(FileFormat.META_STATE_OFFSET, FileFormat.STATE_CLOSED_CLEANLY);
        b.putLong(FileFormat.META_ARENA_SIZE_OFFSET, arenaSize);
        b.putLong(FileFormat.META_CREATED_OFFSET, created);
        b.putLong(FileFormat.META_HEADER_CHECK_OFFSET, FileFormat.metaHeaderCheck(arenaSize, created));
        PositionSlots.writeSlot(b, FileFormat.META_TAIL_SLOT, 0, 0, 1);
        PositionSlots.writeSlot(b, FileFormat.META_HEAD_SLOTS, 0, 0, 1);
        PositionSlots.writeSlot(b, FileFormat.META_DURABLE_SLOTS, 0, 0, 1);
        PositionSlots.writeSlot(b, FileFormat.META_START_SLOTS, 0, 0, 1);
        DurableFiles.writeAtomically(file, b);
        return open(file);
    }

    /**
     * Maps an existing {@code queue.meta} and checks every field it will trust.
     *
     * @throws QueueCorruptedException naming the file if it is not one, of an unknown version, or
     *     damaged.
     */
    static Index open(Path file) throws IOException {
        return open(file, false);
    }

    /** {@link #open(Path)}, mapped read-only for a read-only queue: every write method then throws. */
    static Index open(Path file, boolean readOnly) throws IOException {
        Mapping mapping = Mapping.map(file, size -> {
            if (size != META_SIZE) {
                throw new QueueCorruptedException(file, size, "queue.meta is " + size + " bytes, expected " + META_SIZE
                        + " (truncated or foreign file)");
            }
        }, readOnly);
        int version = mapping.buffer().getInt(FileFormat.META_VERSION_OFFSET);
        if (mapping.buffer().getLong(0) == FileFormat.META_MAGIC && version == FileFormat.VERSION_1) {
            mapping.discard();
            throw versionOne(file.getParent());
        }
        String problem = problem(mapping.buffer());
        if (problem != null) {
            mapping.discard();
            throw new QueueCorruptedException(file, 0, problem);
        }
        return new Index(file, mapping);
    }

    /** The refusal of a version-1 queue: names both versions and the two ways to upgrade. */
    public static dev.bigqueue.QueueFormatException versionOne(Path dir) {
        Path abs = dir.toAbsolutePath();
        return new dev.bigqueue.QueueFormatException(abs, FileFormat.VERSION_1, FileFormat.VERSION, "queue " + abs
                + " is in on-disk format version 1; this bigqueue reads format version 2 (messages with key,"
                + " headers and timestamp) and never reads version 1 as 2. Nothing was changed. Upgrade it once,"
                + " with the queue closed everywhere: 'bigqueue upgrade " + abs + "' or BigQueue.upgrade(Path.of(\""
                + abs + "\")) from Java; the version-1 files are kept aside until you delete them");
    }

    private static String problem(ByteBuffer b) {
        if (b.getLong(0) != FileFormat.META_MAGIC) {
            return "not a bigqueue queue.meta file (bad magic)";
        }
        int version = b.getInt(FileFormat.META_VERSION_OFFSET);
        if (version != FileFormat.VERSION) {
            return "incompatible queue.meta version " + version + ", this bigqueue reads version " + FileFormat.VERSION;
        }
        long arenaSize = b.getLong(FileFormat.META_ARENA_SIZE_OFFSET);
        long check = b.getLong(FileFormat.META_HEADER_CHECK_OFFSET);
        if (check != 0 && check != FileFormat.metaHeaderCheck(arenaSize, b.getLong(FileFormat.META_CREATED_OFFSET))) {
            return "queue.meta is damaged: its fixed fields fail their check (arenaSize reads " + arenaSize + ")";
        }
        if (arenaSize < FileFormat.MIN_ARENA_SIZE || arenaSize > FileFormat.MAX_ARENA_SIZE) {
            return "queue.meta is damaged: it records an arenaSize of " + arenaSize + " bytes, outside the valid range "
                    + FileFormat.MIN_ARENA_SIZE + ".." + FileFormat.MAX_ARENA_SIZE;
        }
        int state = b.getInt(FileFormat.META_STATE_OFFSET);
        if (state != FileFormat.STATE_OPEN && state != FileFormat.STATE_CLOSED_CLEANLY
                && state != FileFormat.STATE_REPAIRING) {
            return "queue.meta is damaged: unknown state " + state;
        }
        return null;
    }

    public Path file() {
        return file;
    }

    private void pin() {
        mapping.pin(closedMessage);
    }

    public long arenaSize() {
        pin();
        try {
            return mapping.buffer().getLong(FileFormat.META_ARENA_SIZE_OFFSET);
        } finally {
            mapping.unpin();
        }
    }

    boolean closedCleanly() {
        pin();
        try {
            return mapping.buffer().getInt(FileFormat.META_STATE_OFFSET) == FileFormat.STATE_CLOSED_CLEANLY;
        } finally {
            mapping.unpin();
        }
    }

    /** Whether a repair began and has not finished (killed, or stopped by an error): open must refuse. */
    boolean repairCutShort() {
        pin();
        try {
            return mapping.buffer().getInt(FileFormat.META_STATE_OFFSET) == FileFormat.STATE_REPAIRING;
        } finally {
            mapping.unpin();
        }
    }

    /**
     * The refusal of a queue whose repair was cut short ({@link #repairCutShort()}): names the
     * directory and the repair to run again.
     */
    QueueCorruptedException repairCutShortError() {
        String abs = file.getParent().toAbsolutePath().toString();
        return new QueueCorruptedException(file, FileFormat.META_STATE_OFFSET, "queue " + abs + " cannot be opened:"
                + " a repair was cut short (killed, or stopped by an error, once it had begun; it may have changed"
                + " files),"
                + " and queue.meta (state 2, repairing) does not describe the log until a repair finishes",
                "nothing was changed. Run `bigqueue repair " + abs + "` (or BigQueue.repair(dir)) again: it finishes"
                + " the work, and gives up nothing that the repair cut short would have kept");
    }

    void setState(int state) {
        pin();
        try {
            mapping.buffer().putInt(FileFormat.META_STATE_OFFSET, state);
        } finally {
            mapping.unpin();
        }
    }

    /** The exact tail written by the last clean close, or null if its slot is torn. */
    StreamPoint cleanTail() {
        pin();
        try {
            ByteBuffer b = mapping.buffer();
            int at = FileFormat.META_TAIL_SLOT;
            if (PositionSlots.validSequence(b, at) == 0) {
                return null;
            }
            return new StreamPoint(b.getLong(at + FileFormat.SLOT_OFFSET), b.getLong(at + FileFormat.SLOT_POSITION));
        } finally {
            mapping.unpin();
        }
    }

    /** Zeros the tail slot (read as null): a repair of a queue not closed cleanly, before state 2. */
    void blankCleanTail() {
        pin();
        try {
            ByteBuffer b = mapping.buffer();
            for (int i = 0; i < FileFormat.SLOT_SIZE; i += 8) {
                b.putLong(FileFormat.META_TAIL_SLOT + i, 0);
            }
        } finally {
            mapping.unpin();
        }
    }

    /** Records the exact tail at a clean close; a single slot, written only then. */
    void writeCleanTail(StreamPoint tail) {
        pin();
        try {
            ByteBuffer b = mapping.buffer();
            long sequence = Math.max(1, b.getLong(FileFormat.META_TAIL_SLOT + FileFormat.SLOT_SEQUENCE) + 1);
            PositionSlots.writeSlot(b, FileFormat.META_TAIL_SLOT, tail.offset(), tail.position(), sequence);
        } finally {
            mapping.unpin();
        }
    }

    /** The own consumer's committed head; null if never written (blank). */
    StreamPoint head() {
        return head.point();
    }

    /** Whether the head slots hold neither a valid value nor zeros: damage. */
    boolean headDamaged() {
        return !head.valid() && !headBlank;
    }

    /** Commits the own consumer's head (a store into the page cache; survives a process crash). */
    void commitHead(long offset, long position) {
        pin();
        try {
            head.write(offset, position);
        } finally {
            mapping.unpin();
        }
    }

    /** The durable point of the last flush, or null if none was recorded. */
    StreamPoint durable() {
        return durable.point();
    }

    void writeDurable(StreamPoint point) {
        pin();
        try {
            durable.write(point.offset(), point.position());
        } finally {
            mapping.unpin();
        }
    }

    /** The earliest record kept, or null if never recorded (a queue made before the slot existed). */
    StreamPoint start() {
        return start.point();
    }

    /**
     * The start and the drop mark as another process (the writer) last wrote them, for a
     * read-only queue: {@code [start, dropped]}, either null if never written.
     */
    StreamPoint[] startAndDroppedNow() {
        pin();
        try {
            ByteBuffer b = mapping.buffer();
            return new StreamPoint[] {PositionSlots.readNow(b, FileFormat.META_START_SLOTS),
                PositionSlots.readNow(b, FileFormat.META_DROPPED_SLOTS)};
        } finally {
            mapping.unpin();
        }
    }

    /** Whether the start slots hold neither a valid value nor zeros: damage. */
    boolean startDamaged() {
        return !start.valid() && !startBlank;
    }

    void writeStart(StreamPoint point) {
        pin();
        try {
            start.write(point.offset(), point.position());
        } finally {
            mapping.unpin();
        }
    }

    /** The start after the last drop of unread records by rule, or null if none ever happened. */
    StreamPoint dropped() {
        return dropped.point();
    }

    boolean droppedDamaged() {
        return !dropped.valid() && !droppedBlank;
    }

    void writeDropped(StreamPoint point) {
        pin();
        try {
            dropped.write(point.offset(), point.position());
        } finally {
            mapping.unpin();
        }
    }

    /** Whether the boot id recorded at the last open is this kernel's (reported by recovery as a fact). */
    boolean sameBoot() {
        UUID now = BootId.current();
        if (now == null) {
            return false;
        }
        pin();
        try {
            ByteBuffer b = mapping.buffer();
            return b.getLong(FileFormat.META_BOOT_ID_OFFSET) == now.getMostSignificantBits()
                    && b.getLong(FileFormat.META_BOOT_ID_OFFSET + 8) == now.getLeastSignificantBits();
        } finally {
            mapping.unpin();
        }
    }

    void recordBoot() {
        UUID now = BootId.current();
        pin();
        try {
            ByteBuffer b = mapping.buffer();
            b.putLong(FileFormat.META_BOOT_ID_OFFSET, now == null ? 0 : now.getMostSignificantBits());
            b.putLong(FileFormat.META_BOOT_ID_OFFSET + 8, now == null ? 0 : now.getLeastSignificantBits());
        } finally {
            mapping.unpin();
        }
    }

    /** msync of the whole file. */
    void force() {
        pin();
        try {
            mapping.force();
        } finally {
            mapping.unpin();
        }
    }

    /** Retires the mapping and waits until the accesses in progress have ended and it is unmapped. */
    @Override
    public void close() {
        mapping.retireAndAwait();
    }

    /** This kernel boot's id (Linux), which changes on every boot. */
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
