package dev.bigqueue.internal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Keeps the writer's arena collection and a read-only queue's consumer moves apart across
 * processes: an OS file lock on {@code consumers/.gc.lock} (a name no consumer can have).
 *
 * <p>Why: a collection pass reads every consumer file, then deletes the arenas all of them have
 * passed. A reader in another process that creates a consumer at the earliest message, or moves
 * one back, between the pass's reading and its deleting would lose the arena it now needs. The
 * writer's pass holds the fence while it reads and deletes; the reader holds it while it checks
 * that its target is still kept ({@code queue.meta}'s start, written before any arena goes) and
 * commits. The writer only tries: a pass that finds a reader in there is skipped (the next one
 * collects), so the writer never blocks on another process's lock. An enqueue that needed that
 * pass for room lets go of the writer lock and looks again shortly, whatever the {@code whenFull}
 * policy (DiskSpace): a skipped pass must not pass for one that found nothing to free. A reader
 * waits, for at most one pass.
 *
 * <p>The kernel's record locks belong to a process, and closing any channel of the file releases
 * them, so the holders in one JVM are serialised first by an in-JVM lock per directory, and a
 * channel is opened and closed only while that lock is held.
 */
final class GcFence implements AutoCloseable {
    private static final Map<Path, ReentrantLock> IN_THIS_JVM = new ConcurrentHashMap<>();
    private final ReentrantLock jvmLock;
    private final FileChannel channel;

    private GcFence(ReentrantLock jvmLock, FileChannel channel) {
        this.jvmLock = jvmLock;
        this.channel = channel;
    }

    /** The writer's pass: the fence, or null if a reader holds it now. */
    static GcFence tryHold(Path dir) throws IOException {
        ReentrantLock jvm = jvmLock(dir);
        if (!jvm.tryLock()) {
            return null;
        }
        return lockFile(dir, jvm, false);
    }

    /** A reader's move: waits for a pass in progress to end. */
    static GcFence hold(Path dir) throws IOException {
        ReentrantLock jvm = jvmLock(dir);
        jvm.lock();
        return lockFile(dir, jvm, true);
    }

    private static ReentrantLock jvmLock(Path dir) throws IOException {
        return IN_THIS_JVM.computeIfAbsent(dir.toRealPath(), k -> new ReentrantLock());
    }

    private static GcFence lockFile(Path dir, ReentrantLock jvm, boolean wait) throws IOException {
        FileChannel ch = null;
        try {
            Path consumers = dir.resolve(FileFormat.CONSUMERS_DIR);
            DurableFiles.createDirectories(consumers);
            Path file = consumers.resolve(".gc.lock");
            FileChannel opened = Uninterruptible.call(() -> FileChannel.open(file, StandardOpenOption.CREATE,
                    StandardOpenOption.READ, StandardOpenOption.WRITE));
            ch = opened;
            FileLock lock = Uninterruptible.call(() -> wait ? opened.lock() : opened.tryLock());
            if (lock == null) {
                opened.close();
                jvm.unlock();
                return null;
            }
            return new GcFence(jvm, opened);
        } catch (IOException | RuntimeException | Error e) {
            if (ch != null) {
                ch.close();
            }
            jvm.unlock();
            throw e;
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // the lock goes with the channel either way
        } finally {
            jvmLock.unlock();
        }
    }
}
