package dev.bigqueue.internal;

import dev.bigqueue.QueueCorruptedException;
import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;

/**
 * One arena file, mapped read-write in full, and its identity (id, file). Its bytes are touched
 * only under a pin of its {@link Mapping}, taken through the {@link ArenaManager} or
 * {@link #tryPin()}; see {@link Mapping} for who may touch them and until when.
 */
public final class Arena {
    final long id;
    final Path file;
    private final Mapping mapping;
    /** Approximate last-use clock for LRU eviction; written under the ArenaManager's lock. */
    long lastUse;

    private Arena(long id, Path file, Mapping mapping) {
        this.id = id;
        this.file = file;
        this.mapping = mapping;
    }

    /**
     * Maps an existing arena file and checks its header again (the file was verified when the
     * queue opened; this catches a file replaced since).
     *
     * @throws QueueCorruptedException if the file is not this arena.
     */
    static Arena map(Path file, long id, long arenaSize) throws IOException {
        return map(file, id, arenaSize, false);
    }

    /** {@link #map(Path, long, long)}; {@code readOnly}: opened and mapped read-only. */
    static Arena map(Path file, long id, long arenaSize, boolean readOnly) throws IOException {
        Mapping mapping = Mapping.map(file, size -> {
            if (size != arenaSize) {
                throw new QueueCorruptedException(file, size, "arena file is " + size + " bytes, expected "
                        + arenaSize + " (truncated or foreign file)");
            }
        }, readOnly);
        String problem = ArenaHeader.problem(mapping.buffer(), id, arenaSize);
        if (problem != null) {
            mapping.discard();
            throw new QueueCorruptedException(file, 0, problem);
        }
        return new Arena(id, file, mapping);
    }

    /** Pins the mapping for use; false if it was retired (then ask the ArenaManager again). */
    public boolean tryPin() {
        return mapping.tryPin();
    }

    /** Releases a pin; returns true if the count reached zero. Use {@link ArenaManager#release}. */
    boolean unpin() {
        return mapping.unpin();
    }

    Mapping mapping() {
        return mapping;
    }

    public long id() {
        return id;
    }

    /** The mapping; use only while pinned, and only with absolute get/put (it is shared). */
    public MappedByteBuffer buffer() {
        return mapping.buffer();
    }

    /** msync of {@code length} bytes from {@code index}; the caller holds a pin. */
    void force(int index, int length) {
        mapping.force(index, length);
    }

    @Override
    public String toString() {
        return "Arena[" + id + ", " + file + "]";
    }
}
