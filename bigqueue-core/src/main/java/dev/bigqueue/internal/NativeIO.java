package dev.bigqueue.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicBoolean;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.annotations.IgnoreError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The few system calls the JDK lacks, through jnr-ffi: {@code fallocate} to reserve an
 * arena's blocks at creation, {@code fsync} of a directory so that a created or deleted file
 * survives a power loss, {@code madvise} to pre-fault pages, the background threads' scheduling
 * class, and the pid holding a file lock. Where the native call is missing or refused, a portable fallback does the
 * same job more slowly, and the first use of a fallback is logged once.
 *
 * <p>Design note: this is the only class that touches native code, so that the rest of the core
 * is plain Java and a platform without libc still runs (on the fallbacks).
 */
public final class NativeIO {
    private static final Logger LOG = LoggerFactory.getLogger(NativeIO.class);
    private static final int EOPNOTSUPP = 95;
    private static final int ENOSPC = 28;
    private static final int EINTR = 4;
    private static final int ZERO_FILL_CHUNK = 1 << 20;
    private static final int MADV_POPULATE_WRITE = 23;
    private static final long PAGE = 4096;
    private static volatile boolean populateSupported = true;
    private static volatile boolean backgroundPrioritySupported = true;
    private static final int SCHED_BATCH = 3;
    private static final LibC LIBC = loadLibC();
    private static final AtomicBoolean FALLOCATE_FALLBACK_LOGGED = new AtomicBoolean();

    /** The libc functions we bind; errors come back as return values, not errno. */
    public interface LibC {
        @IgnoreError
        int open(String path, int flags, int mode);

        @IgnoreError
        int close(int fd);

        @IgnoreError
        int fsync(int fd);

        int madvise(jnr.ffi.Pointer address, long length, int advice);

        @IgnoreError
        int gettid();

        @IgnoreError
        int sched_setscheduler(int pid, int policy, @jnr.ffi.annotations.In int[] param);

        @IgnoreError
        int fcntl(int fd, int cmd, @jnr.ffi.annotations.In @jnr.ffi.annotations.Out byte[] flock);

        /** Linux fallocate(2): unlike posix_fallocate it never emulates; errors come back through errno. */
        int fallocate(int fd, int mode, long offset, long length);

        @IgnoreError
        int renameat2(int olddirfd, String oldpath, int newdirfd, String newpath, int flags);

        @IgnoreError
        long lseek(int fd, long offset, int whence);
    }

    /** lseek(2) whence: the next hole at or after the offset (the file's end counts as one). */
    private static final int SEEK_HOLE = 4;

    private static final int AT_FDCWD = -100;
    private static final int RENAME_EXCHANGE = 2;

    /**
     * Swaps two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE): a crash leaves either
     * both as they were or both swapped. False if the system or file system cannot.
     */
    public static boolean exchange(Path a, Path b) {
        if (LIBC == null) {
            return false;
        }
        try {
            return LIBC.renameat2(AT_FDCWD, a.toAbsolutePath().toString(), AT_FDCWD, b.toAbsolutePath().toString(),
                    RENAME_EXCHANGE) == 0;
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return false;
        }
    }

    private NativeIO() {
    }

    private static LibC loadLibC() {
        if (Platform.getNativePlatform().getOS() != Platform.OS.LINUX) {
            return null;
        }
        try {
            return LibraryLoader.create(LibC.class).load("c");
        } catch (Throwable t) {
            LoggerFactory.getLogger(NativeIO.class)
                    .info("libc not available through jnr-ffi ({}); using portable file I/O fallbacks", t.toString());
            return null;
        }
    }

    /** Whether the native calls are in use (Linux with a loadable libc). */
    public static boolean nativeAvailable() {
        return LIBC != null;
    }

    /**
     * Makes {@code file} exactly {@code length} bytes with every block allocated, so that later
     * writes through a mapping cannot fail for lack of space (which would crash the JVM with
     * SIGBUS). The file must exist and be empty.
     *
     * @throws IOException if the space cannot be reserved, for example on a full disk.
     */
    public static void reserve(Path file, long length) throws IOException {
        if (LIBC != null) {
            int fd = LIBC.open(file.toString(), 1 /* O_WRONLY */, 0);
            if (fd >= 0) {
                int rc;
                try {
                    rc = fallocate(fd, length);
                } finally {
                    LIBC.close(fd);
                }
                if (rc == 0) {
                    return;
                }
                if (rc == ENOSPC) {
                    throw new IOException("No space left on device: cannot reserve " + length + " bytes for "
                            + file.toAbsolutePath());
                }
                if (rc != EOPNOTSUPP) {
                    throw new IOException("fallocate of " + length + " bytes for " + file.toAbsolutePath()
                            + " failed with errno " + rc);
                }
            }
        }
        if (FALLOCATE_FALLBACK_LOGGED.compareAndSet(false, true)) {
            LOG.info("fallocate is not supported by the file system of {}; reserving arena space by writing zeros"
                    + " (slower arena creation, same safety)", file.getParent());
        }
        fillWithZeros(file, length);
    }

    /**
     * Allocates the blocks of an existing file that has holes (an arena copied or restored sparse:
     * {@code cp --sparse}, {@code rsync -S}, {@code tar -S}), keeping every byte: fallocate mode 0
     * on a range leaves written blocks alone. A write through a mapping into a hole on a full disk
     * is a SIGBUS, which the JVM reports later at an unrelated line, after an enqueue returned.
     * Where fallocate is not available nothing is done (never zeros: the file holds records).
     *
     * @throws IOException if the holes cannot be allocated, for example on a full disk.
     */
    static void allocateHoles(Path file, long length) throws IOException {
        if (LIBC == null) {
            return;
        }
        int fd = LIBC.open(file.toString(), 1 /* O_WRONLY */, 0);
        if (fd < 0) {
            return; // the open of the file itself reports what is wrong with it
        }
        int rc;
        try {
            // No hole before the end (or no SEEK_HOLE here): nothing to allocate, and no fallocate,
            // which some file systems refuse on a full disk even when every block is there.
            long hole = LIBC.lseek(fd, 0, SEEK_HOLE);
            if (hole < 0 || hole >= length) {
                return;
            }
            rc = fallocate(fd, length);
        } finally {
            LIBC.close(fd);
        }
        if (rc == ENOSPC) {
            throw new IOException("No space left on device: " + file.toAbsolutePath() + " has unallocated blocks"
                    + " (a sparse copy?) and the disk has no room for them");
        }
        if (rc != 0 && rc != EOPNOTSUPP) {
            throw new IOException("fallocate of " + length + " bytes for " + file.toAbsolutePath()
                    + " failed with errno " + rc);
        }
    }

    /**
     * Reserves blocks with fallocate(2), called directly: glibc's posix_fallocate emulates an
     * unsupported call by writing a byte into every block, which on a FUSE file system took 20 to
     * 40 s for a 128 MiB arena, where writing zeros in large chunks takes a fraction of that.
     *
     * @return 0, or the errno.
     */
    private static int fallocate(int fd, long length) {
        jnr.ffi.Runtime runtime = jnr.ffi.Runtime.getSystemRuntime();
        for (;;) {
            if (LIBC.fallocate(fd, 0, 0, length) == 0) {
                return 0;
            }
            int errno = jnr.ffi.LastError.getLastError(runtime);
            if (errno != EINTR) {
                return errno;
            }
        }
    }

    /** Reserves space the portable way: every byte written, then forced. */
    static void fillWithZeros(Path file, long length) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(ZERO_FILL_CHUNK, length));
        Uninterruptible.run(() -> {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                long pos = 0;
                while (pos < length) {
                    zeros.clear().limit((int) Math.min(zeros.capacity(), length - pos));
                    pos += ch.write(zeros, pos);
                }
            }
        });
    }

    /**
     * Pre-faults {@code length} bytes of a mapping from {@code index}, writable, without changing
     * them ({@code madvise(MADV_POPULATE_WRITE)}, Linux 5.14+): a later write to those pages takes
     * no page fault. Safe while other threads write the same pages.
     *
     * @return false if unsupported here (then never tried again).
     */
    public static boolean populateWrite(java.nio.MappedByteBuffer mapping, int index, int length) {
        if (LIBC == null || !populateSupported) {
            return false;
        }
        long start = index & ~(PAGE - 1);
        long end = Math.min(mapping.capacity(), index + (long) length);
        if (end <= start) {
            return true;
        }
        jnr.ffi.Pointer base = jnr.ffi.Pointer.wrap(jnr.ffi.Runtime.getSystemRuntime(), mapping);
        if (LIBC.madvise(base.slice(start), end - start, MADV_POPULATE_WRITE) != 0) {
            populateSupported = false;
            LOG.info("madvise(MADV_POPULATE_WRITE) is not supported here (errno {}); the writer takes its own page"
                    + " faults", jnr.ffi.LastError.getLastError(jnr.ffi.Runtime.getSystemRuntime()));
            return false;
        }
        return true;
    }

    /**
     * Makes the calling thread a background thread for the rest of its life: batch scheduling
     * ({@code SCHED_BATCH}) at nice 0. Linux only; nothing elsewhere or where refused. For the
     * queue's own threads (maintenance, pretouch).
     *
     * <p>Why batch: a normal thread that wakes preempts the application thread on its core at
     * once, for as long as its work lasts (a flush of 10 MB is milliseconds of CPU), which the
     * application sees as a latency spike on a machine with few cores. A batch thread does not
     * preempt on wake-up: it runs on a free core, or when the running thread's slice ends. Yet it
     * keeps its fair share of a busy machine, so its work is delayed by a few slices at most.
     *
     * <p>Why not the idle class (or a high nice value), which would disturb the application even
     * less: such a thread can be starved for seconds while every core is busy, and the queue's
     * threads hold things others wait for, kernel ones included (pages under an msync, the
     * process's mapping lock during a page-populating madvise). See {@link Maintenance}.
     */
    public static void makeCurrentThreadBackground() {
        if (LIBC == null || !backgroundPrioritySupported) {
            return;
        }
        try {
            int tid = LIBC.gettid();
            if (tid <= 0 || LIBC.sched_setscheduler(tid, SCHED_BATCH, new int[] {0}) != 0) {
                backgroundPrioritySupported = false;
            }
        } catch (LinkageError e) {
            // gettid needs glibc 2.30+
            backgroundPrioritySupported = false;
            LOG.debug("background threads keep normal scheduling: {}", e.toString());
        }
    }

    /**
     * The pid of the process holding a POSIX lock on {@code file} (as {@code FileChannel.lock}
     * takes one), asked of the kernel with {@code fcntl(F_GETLK)}: exact even while the holder is
     * still writing its pid into the file. -1 if nobody holds one, or this platform cannot tell.
     */
    public static long lockHolderPid(Path file) {
        if (LIBC == null || Platform.getNativePlatform().getCPU() != Platform.CPU.X86_64
                && Platform.getNativePlatform().getCPU() != Platform.CPU.AARCH64) {
            return -1;
        }
        int fd = LIBC.open(file.toString(), 0 /* O_RDONLY */, 0);
        if (fd < 0) {
            return -1;
        }
        try {
            // struct flock on 64-bit Linux: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid.
            java.nio.ByteBuffer flock = java.nio.ByteBuffer.allocate(32).order(java.nio.ByteOrder.nativeOrder());
            flock.putShort(0, (short) 1 /* F_WRLCK */);
            flock.putShort(2, (short) 0 /* SEEK_SET */);
            byte[] bytes = flock.array();
            if (LIBC.fcntl(fd, 5 /* F_GETLK */, bytes) != 0) {
                return -1;
            }
            java.nio.ByteBuffer out = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.nativeOrder());
            if (out.getShort(0) == 2 /* F_UNLCK */) {
                return -1;
            }
            int pid = out.getInt(24);
            return pid > 0 ? pid : -1;
        } finally {
            LIBC.close(fd);
        }
    }

    /** fsync of a directory: makes the creation, rename or deletion of its entries durable. */
    public static void syncDirectory(Path dir) throws IOException {
        if (LIBC != null) {
            int fd = LIBC.open(dir.toString(), 0 /* O_RDONLY */, 0);
            if (fd >= 0) {
                try {
                    if (LIBC.fsync(fd) == 0) {
                        return;
                    }
                } finally {
                    LIBC.close(fd);
                }
            }
        }
        // OpenJDK on Linux and macOS lets a directory be opened for reading and forced.
        try {
            Uninterruptible.run(() -> {
                try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
                    ch.force(true);
                }
            });
        } catch (IOException e) {
            LOG.debug("directory fsync not supported for {}: {}", dir, e.toString());
        }
    }
}
