package dev.bigqueue.internal;

import dev.bigqueue.QueueClosedException;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One memory-mapped file and its lifetime: the single mechanism that keeps mapped memory alive
 * while a thread uses it, for arenas, {@code queue.meta} and consumer files alike. Touching a
 * mapping after it was unmapped crashes the JVM; the rules below make that impossible.
 *
 * <ul>
 *   <li><b>Pins.</b> A thread reads or writes the mapped bytes only between a successful
 *       {@link #tryPin()} (or {@link #pin}) and its {@link #unpin()}.
 *   <li><b>A pin is short.</b> While it holds a pin, a thread never waits: not for a lock, a
 *       condition, another thread or application code. Its work on the bytes is bounded (a copy, a
 *       checksum, an msync), so every pin is released soon, and waiting for pins to drain always
 *       ends. The one long-lived pin, the writer's lease on its arena, is held between appends only
 *       while nobody needs it back, and given back on request (see {@code Appender}).
 *   <li><b>Retire, then unmap.</b> {@link #retire()} forbids new pins. The mapping is unmapped
 *       exactly once, by whichever thread brings the pin count to zero after that (the retiring
 *       thread itself if no pin is held), and {@link #awaitUnmapped()} waits for it.
 *   <li><b>Eviction</b> ({@link #tryUnmapIdle()}) unmaps only a mapping that nobody has pinned, at
 *       once, and otherwise leaves it alone.
 * </ul>
 *
 * <p>Publication: the buffer is a final field; the pin count and the two flags share one
 * {@link AtomicInteger}, so every transition is one atomic step and "pinned" and "unmapped" can
 * never both hold.
 */
public final class Mapping {
    private static final sun.misc.Unsafe UNSAFE = loadUnsafe();
    private static final int RETIRED = 1 << 30;
    private static final int PINS = RETIRED - 1;
    /** The terminal state: the pages are gone. */
    private static final int UNMAPPED = -1;

    private final Path file;
    private final MappedByteBuffer buffer;
    /** Pin count in the low bits, {@link #RETIRED} flag; or {@link #UNMAPPED}. */
    private final AtomicInteger state = new AtomicInteger();
    private final CountDownLatch unmapped = new CountDownLatch(1);

    private Mapping(Path file, MappedByteBuffer buffer) {
        this.file = file;
        this.buffer = buffer;
        buffer.order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Maps {@code file} read-write, whole, after {@code check} has seen its size.
     *
     * @param check throws (a {@code QueueCorruptedException} naming the file) if the size is wrong.
     */
    static Mapping map(Path file, SizeCheck check) throws IOException {
        return map(file, check, false);
    }

    /**
     * Maps {@code file} whole, after {@code check} has seen its size; with {@code readOnly} the
     * file is opened for reading only and mapped read-only (a read-only queue: a store into it
     * throws instead of changing the file).
     */
    static Mapping map(Path file, SizeCheck check, boolean readOnly) throws IOException {
        MappedByteBuffer b = Uninterruptible.call(() -> {
            try (FileChannel ch = readOnly ? FileChannel.open(file, StandardOpenOption.READ)
                    : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                long size = ch.size();
                check.check(size);
                return ch.map(readOnly ? FileChannel.MapMode.READ_ONLY : FileChannel.MapMode.READ_WRITE, 0, size);
            }
        });
        return new Mapping(file, b);
    }

    /**
     * Maps the first {@code length} bytes of {@code file} read-write, after {@code check} has seen
     * its size: a short-lived mapping that one thread owns and {@link #discard}s (the re-head of a
     * pooled file, {@link ArenaPool}); never pinned, never shared, never an arena's.
     */
    static Mapping mapHead(Path file, SizeCheck check, int length) throws IOException {
        MappedByteBuffer b = Uninterruptible.call(() -> {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                check.check(ch.size());
                return ch.map(FileChannel.MapMode.READ_WRITE, 0, length);
            }
        });
        return new Mapping(file, b);
    }

    /** Validates a file's size before it is mapped. */
    interface SizeCheck {
        void check(long size) throws IOException;
    }

    public Path file() {
        return file;
    }

    /** The mapped bytes, little-endian. Use only while pinned, and only with absolute get/put (it is shared). */
    public MappedByteBuffer buffer() {
        return buffer;
    }

    /** Pins the mapping; false once it is retired or unmapped. */
    public boolean tryPin() {
        for (;;) {
            int s = state.get();
            if (s < 0 || (s & RETIRED) != 0) {
                return false;
            }
            if (state.compareAndSet(s, s + 1)) {
                return true;
            }
        }
    }

    /**
     * Pins the mapping, or throws the queue-closed error: for files that are retired only when
     * the queue or the consumer owning them closes.
     */
    void pin(String whatClosed) {
        if (!tryPin()) {
            throw new QueueClosedException(whatClosed);
        }
    }

    /**
     * Releases a pin. If the mapping was retired and this was the last pin, unmaps it here.
     *
     * @return whether the pin count reached zero (the mapping became idle, or was unmapped).
     */
    public boolean unpin() {
        int s;
        do {
            s = state.get();
            if (s < 0 || (s & PINS) == 0) {
                // A release without a pin would make the count lie: fail loudly, touch nothing.
                throw new IllegalStateException("unpin of " + file + " without a pin (state " + s + ")");
            }
        } while (!state.compareAndSet(s, s - 1));
        s--;
        if (s == RETIRED) {
            unmapIfRetiredAndIdle();
            return true;
        }
        return (s & PINS) == 0;
    }

    /** Whether a pin is held right now (a hint; it may change at once). */
    boolean isPinned() {
        int s = state.get();
        return s > 0 && (s & PINS) != 0;
    }

    /** Whether the pages are gone. */
    boolean isUnmapped() {
        return state.get() == UNMAPPED;
    }

    /**
     * Forbids new pins; the mapping is unmapped as soon as no pin is held (now, if none is).
     * Idempotent.
     */
    void retire() {
        int s;
        do {
            s = state.get();
            if (s < 0 || (s & RETIRED) != 0) {
                return;
            }
        } while (!state.compareAndSet(s, s | RETIRED));
        if ((s & PINS) == 0) {
            unmapIfRetiredAndIdle();
        }
    }

    /** {@link #retire()}, then waits until the mapping is unmapped (bounded: pins are short). */
    void retireAndAwait() {
        retire();
        awaitUnmapped();
    }

    /** Waits until unmapped; an interrupt is kept for the caller, not obeyed (the wait is short). */
    void awaitUnmapped() {
        boolean interrupted = false;
        for (;;) {
            try {
                unmapped.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Unmaps now if nobody holds a pin (LRU eviction).
     *
     * @return false if a pin is held, or it was retired meanwhile: then it is left alone.
     */
    boolean tryUnmapIdle() {
        if (!state.compareAndSet(0, UNMAPPED)) {
            return false;
        }
        release();
        return true;
    }

    private void unmapIfRetiredAndIdle() {
        if (state.compareAndSet(RETIRED, UNMAPPED)) {
            release();
        }
    }

    /** msync of {@code length} bytes from {@code index}; the caller holds a pin. */
    void force(int index, int length) {
        if (length > 0) {
            buffer.force(index, length);
        }
    }

    /** msync of the whole mapping; the caller holds a pin. */
    void force() {
        buffer.force();
    }

    private void release() {
        try {
            // The one way the core releases a mapping; Unsafe.invokeCleaner needs no --add-opens.
            UNSAFE.invokeCleaner(buffer);
        } finally {
            unmapped.countDown();
        }
    }

    /**
     * Unmaps {@code buffer} now, for a caller that mapped it itself and is its only user (the
     * upgrade's read of version-1 arenas): without it the mapping, and the file under it, would
     * stay until the garbage collector found the buffer.
     */
    static void unmapOwned(java.nio.MappedByteBuffer buffer) {
        UNSAFE.invokeCleaner(buffer);
    }

    /** Unmaps a mapping no other thread has seen yet (a file that failed its checks while being opened). */
    void discard() {
        if (state.compareAndSet(0, UNMAPPED)) {
            release();
        }
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
        return "Mapping[" + file + ", state " + state.get() + "]";
    }
}
