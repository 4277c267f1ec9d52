package dev.bigqueue.internal;

import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One arena file, mapped read-write in full. A mapping is used only while pinned
 * ({@link #tryPin()} .. {@link #unpin()}); {@link #tryRetire()} succeeds only when nobody holds a
 * pin and forbids pinning from then on, so that {@link #unmap()} can never pull the pages from
 * under a reader or writer (touching an unmapped buffer would crash the JVM).
 */
public final class Arena {
    private static final int RETIRED = -1;
    private static final sun.misc.Unsafe UNSAFE = loadUnsafe();

    final long id;
    final Path file;
    private final MappedByteBuffer buffer;
    /** Pin count, or {@link #RETIRED}. */
    private final AtomicInteger pins = new AtomicInteger();
    /** Approximate last-use clock for LRU eviction; racy writes are fine. */
    long lastUse;

    private Arena(long id, Path file, MappedByteBuffer buffer) {
        this.id = id;
        this.file = file;
        this.buffer = buffer;
    }

    /**
     * Maps an existing arena file and checks its header.
     *
     * @throws QueueCorruptedException if the header is not this arena's.
     */
    static Arena map(Path file, long id, long arenaSize) throws IOException {
        MappedByteBuffer buffer = Uninterruptible.call(() -> {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                long size = ch.size();
                if (size != arenaSize) {
                    throw new QueueCorruptedException(file, size, "arena file is " + size + " bytes, expected "
                            + arenaSize + " (truncated or foreign file)");
                }
                return ch.map(FileChannel.MapMode.READ_WRITE, 0, arenaSize);
            }
        });
        buffer.order(ByteOrder.LITTLE_ENDIAN);
        Arena arena = new Arena(id, file, buffer);
        String problem = null;
        if (buffer.getLong(0) != FileFormat.ARENA_MAGIC) {
            problem = "not an arena file (bad magic)";
        } else if (buffer.getInt(FileFormat.ARENA_VERSION_OFFSET) != FileFormat.VERSION) {
            problem = "incompatible arena file version " + buffer.getInt(FileFormat.ARENA_VERSION_OFFSET)
                    + ", this bigqueue reads version " + FileFormat.VERSION;
        } else if (buffer.getLong(FileFormat.ARENA_ID_OFFSET) != id) {
            problem = "arena header says id " + buffer.getLong(FileFormat.ARENA_ID_OFFSET) + ", file name says " + id;
        } else if (buffer.getLong(FileFormat.ARENA_SIZE_OFFSET) != arenaSize) {
            problem = "arena header says size " + buffer.getLong(FileFormat.ARENA_SIZE_OFFSET)
                    + ", the queue's arenaSize is " + arenaSize;
        }
        if (problem != null) {
            arena.pins.set(RETIRED);
            arena.unmap();
            throw new QueueCorruptedException(file, 0, problem);
        }
        return arena;
    }

    /** Pins the mapping for use; false if it was retired (then ask the ArenaManager again). */
    public boolean tryPin() {
        for (;;) {
            int p = pins.get();
            if (p < 0) {
                return false;
            }
            if (pins.compareAndSet(p, p + 1)) {
                return true;
            }
        }
    }

    /** Releases a pin taken by {@link #tryPin()}; returns true if it was the last one. */
    boolean unpin() {
        return pins.decrementAndGet() == 0;
    }

    /** Forbids further pins if none is held; the caller must then {@link #unmap()}. */
    boolean tryRetire() {
        return pins.compareAndSet(0, RETIRED);
    }

    boolean isPinned() {
        return pins.get() > 0;
    }

    public long id() {
        return id;
    }

    /** The mapping; use only while pinned, and only with absolute get/put (it is shared). */
    public MappedByteBuffer buffer() {
        return buffer;
    }

    /** msync of {@code length} bytes from {@code index}. */
    void force(int index, int length) {
        if (length > 0) {
            buffer.force(index, length);
        }
    }

    /** Releases the mapping now, not whenever the garbage collector gets to it. */
    void unmap() {
        unmap(buffer);
    }

    /** The one way the core releases a mapping; on Java 17 Unsafe.invokeCleaner needs no --add-opens. */
    static void unmap(MappedByteBuffer mapping) {
        UNSAFE.invokeCleaner(mapping);
    }

    private static sun.misc.Unsafe loadUnsafe() {
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            return (sun.misc.Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @Override
    public String toString() {
        return "Arena[" + id + ", " + file + "]";
    }
}
