package dev.bigqueue.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One owner per queue directory: an OS file lock on {@code queue.lock}, which the kernel releases
 * when the owner dies (even by {@code kill -9}). Opens within this JVM are also tracked in a set,
 * because the OS lock cannot tell threads of one process apart, and because closing any channel on
 * the file would release it.
 *
 * <p>The lock is taken before anything in the directory is looked at or created, so of two opens
 * racing on a directory, new or not, exactly one goes on; the other fails at once naming the
 * holder's pid, which it asks of the kernel ({@code fcntl(F_GETLK)}): exact even before the
 * holder has written its pid into the file (which it does, for people, once its open succeeded).
 * The file is never deleted: a process still waiting on the old file while a new one is created
 * under the same name would believe it holds the lock too.
 */
public final class DirectoryLock implements AutoCloseable {
    private static final Set<Path> OPEN_IN_THIS_JVM = ConcurrentHashMap.newKeySet();
    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;

    private DirectoryLock(Path dir, FileChannel channel, FileLock lock) {
        this.dir = dir;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the directory, which must exist.
     *
     * @throws IllegalStateException naming the directory and the holder's pid if it is open elsewhere.
     */
    public static DirectoryLock acquire(Path dir) throws IOException {
        Path key = dir.toRealPath();
        long pid = ProcessHandle.current().pid();
        if (!OPEN_IN_THIS_JVM.add(key)) {
            throw new IllegalStateException("queue directory " + key + " is already open in this process (pid "
                    + pid + "); share that BigQueue instance, or close it before opening again");
        }
        FileChannel[] opened = new FileChannel[1];
        try {
            return Uninterruptible.call(() -> {
                Path file = key.resolve(FileFormat.LOCK_FILE);
                FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE);
                opened[0] = ch;
                FileLock lock = ch.tryLock();
                if (lock == null) {
                    throw new IllegalStateException("queue directory " + key + " is already open in another process"
                            + " (pid " + holder(file, ch) + "); close it there first. A holder that died releases the"
                            + " lock by itself");
                }
                return new DirectoryLock(key, ch, lock);
            });
        } catch (IOException | RuntimeException e) {
            FileChannel ch = opened[0];
            OPEN_IN_THIS_JVM.remove(key);
            if (ch != null) {
                ch.close();
            }
            throw e;
        }
    }

    private static String holder(Path file, FileChannel ch) {
        long pid = NativeIO.lockHolderPid(file);
        if (pid > 0) {
            return Long.toString(pid);
        }
        try {
            ByteBuffer b = ByteBuffer.allocate(32);
            ch.read(b, 0);
            String s = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).trim();
            return s.isEmpty() ? "unknown" : s;
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Writes this process's pid into the lock file, for people; once the open has succeeded. */
    void writePid() throws IOException {
        long pid = ProcessHandle.current().pid();
        Uninterruptible.run(() -> {
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((pid + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
        });
    }

    public Path directory() {
        return dir;
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
            channel.close();
        } finally {
            OPEN_IN_THIS_JVM.remove(dir);
        }
    }
}
