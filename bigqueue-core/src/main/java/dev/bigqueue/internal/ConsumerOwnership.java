package dev.bigqueue.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One open instance per named consumer across processes: an OS file lock on
 * {@code consumers/NAME.lock}, held from the consumer's open to its close, which the kernel
 * releases when the holder dies (even by {@code kill -9}). A queue's writer and any number of
 * read-only opens of it in other processes each open consumers; two of them opening the same name
 * would hand out the same messages twice and overwrite each other's commits, so the second open
 * fails at once naming the holder's pid. Opens within this JVM (a writer and a read-only open of
 * one queue side by side) are tracked in a set, as the OS lock cannot tell them apart.
 *
 * <p>Like {@code queue.lock}, the file is never deleted (a process still waiting on an old file
 * while a new one is made under its name would think it holds the lock too); it holds the
 * holder's pid, for people. Its channel is closed only by {@link #close()}, which owns it.
 */
public final class ConsumerOwnership implements AutoCloseable {
    private static final Set<Path> OPEN_IN_THIS_JVM = ConcurrentHashMap.newKeySet();
    private final Path key;
    private final FileChannel channel;

    private ConsumerOwnership(Path key, FileChannel channel) {
        this.key = key;
        this.channel = channel;
    }

    /**
     * Takes consumer {@code name} of the queue in {@code dir}.
     *
     * @throws IllegalStateException naming the consumer, the queue and the holder's pid if it is
     *     open elsewhere.
     */
    public static ConsumerOwnership acquire(Path dir, String name) throws IOException {
        Path consumers = dir.resolve(FileFormat.CONSUMERS_DIR);
        DurableFiles.createDirectories(consumers);
        Path file = consumers.toRealPath().resolve(name + ".lock");
        long pid = ProcessHandle.current().pid();
        if (!OPEN_IN_THIS_JVM.add(file)) {
            throw new IllegalStateException("consumer '" + name + "' of queue " + dir.toAbsolutePath() + " is already"
                    + " open in this process (pid " + pid + ") through another open of the queue (a writer and a"
                    + " read-only open side by side); use that Consumer, close it first, or use another name");
        }
        FileChannel ch = null;
        try {
            FileChannel opened = Uninterruptible.call(() -> FileChannel.open(file, StandardOpenOption.CREATE,
                    StandardOpenOption.READ, StandardOpenOption.WRITE));
            ch = opened;
            FileLock lock = Uninterruptible.call(opened::tryLock);
            if (lock == null) {
                throw new IllegalStateException("consumer '" + name + "' of queue " + dir.toAbsolutePath() + " is"
                        + " open in another process (pid " + holder(file) + "); each consumer is open in one"
                        + " process at a time: close it there, or use another consumer name. A holder that died"
                        + " releases it by itself");
            }
            Uninterruptible.run(() -> {
                opened.truncate(0);
                opened.write(ByteBuffer.wrap((pid + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            });
            return new ConsumerOwnership(file, opened);
        } catch (IOException | RuntimeException | Error e) {
            OPEN_IN_THIS_JVM.remove(file);
            if (ch != null) {
                ch.close();
            }
            throw e;
        }
    }

    /** Only when this process does not hold the lock: the look-up opens and closes the file. */
    private static String holder(Path file) {
        long pid = NativeIO.lockHolderPid(file);
        if (pid > 0) {
            return Long.toString(pid);
        }
        try {
            String s = Files.readString(file, StandardCharsets.US_ASCII).trim();
            return s.isEmpty() ? "unknown" : s;
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Releases the consumer (closing the channel releases the lock); idempotent. */
    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // closing a lock file's channel fails only if it is already closed: the lock is gone either way
        } finally {
            OPEN_IN_THIS_JVM.remove(key);
        }
    }
}
