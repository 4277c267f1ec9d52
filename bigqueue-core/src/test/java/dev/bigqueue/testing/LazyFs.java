package dev.bigqueue.testing;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A LazyFS mount for power-loss tests: a FUSE file system that keeps every write in its own page
 * cache until the file is fsynced, and drops all of it on {@link #powerLoss()}. The test supplies
 * LazyFS (it is not part of this project): the path of its {@code lazyfs} binary comes from the
 * system property {@value #BIN_PROPERTY} or the environment variable {@value #BIN_ENV}; without
 * it, or where FUSE cannot mount (no {@code /dev/fuse}, no permission), the calling test is skipped
 * with a message saying why. The config file is written here, one per mount.
 *
 * <p>What it models and what it does not: LazyFS passes directory operations (create, rename,
 * unlink) straight to the file system below, so a created or deleted file survives the loss even
 * without a directory fsync; it answers {@code statfs} with 0 bytes free and {@code fallocate(2)}
 * with EOPNOTSUPP (no handler), as many FUSE file systems do. glibc's {@code posix_fallocate} then
 * emulates by writing one byte per block, one FUSE request each: measured here at about 90 ms per
 * MiB (5.7 s for 64 MiB), against 0.08 s to write 64 MiB of zeros in 1 MiB writes. Tests on this
 * mount should use small arenas.
 */
public final class LazyFs implements AutoCloseable {
    public static final String BIN_PROPERTY = "lazyfs.bin";
    public static final String BIN_ENV = "LAZYFS_BIN";
    private static final Duration MOUNT_TIMEOUT = Duration.ofSeconds(60);
    private static final String CLEARED = "finished::clear-cache";
    private static final String STOP = "bigqueue::stop-reading";

    private final Path work;
    private final Path mountPoint;
    private final Process process;
    private final RandomAccessFile completed;
    private final BlockingQueue<String> notices = new LinkedBlockingQueue<>();
    private final Thread reader;

    private LazyFs(Path work, Path mountPoint, Process process, RandomAccessFile completed) {
        this.work = work;
        this.mountPoint = mountPoint;
        this.process = process;
        this.completed = completed;
        this.reader = new Thread(this::readNotices, "lazyfs-notices");
        reader.setDaemon(true);
        reader.start();
    }

    /** The configured LazyFS binary, or skips the calling test. */
    public static Path binaryOrSkip() {
        String bin = System.getProperty(BIN_PROPERTY, System.getenv(BIN_ENV));
        Assumptions.assumeTrue(bin != null && !bin.isBlank(), "skipped: no LazyFS given; build it and pass -D"
                + BIN_PROPERTY + "=/path/to/lazyfs (or set " + BIN_ENV + ") to run the power-loss test");
        Path path = Path.of(bin);
        Assumptions.assumeTrue(Files.isExecutable(path), "skipped: " + BIN_PROPERTY + " names " + path.toAbsolutePath()
                + ", which is not an executable file");
        Path fuse = Path.of("/dev/fuse");
        Assumptions.assumeTrue(Files.isReadable(fuse) && Files.isWritable(fuse), "skipped: /dev/fuse is missing or"
                + " not readable and writable by this user, so LazyFS cannot mount here");
        return path;
    }

    /**
     * Mounts LazyFS over a new empty directory, with a cache of {@code cacheMiB} MiB (allocated up
     * front by LazyFS), or skips the calling test if the mount does not come up: for a test's
     * first mount, which finds out whether FUSE works here at all.
     */
    public static LazyFs mountOrSkip(Path bin, int cacheMiB) throws IOException, InterruptedException {
        try {
            return mount(bin, cacheMiB);
        } catch (MountException e) {
            Assumptions.abort("skipped: " + e.getMessage());
            throw e;
        }
    }

    /**
     * Mounts LazyFS over a new empty directory, with a cache of {@code cacheMiB} MiB.
     *
     * @throws IOException if the mount does not come up, with LazyFS's output.
     */
    public static LazyFs mount(Path bin, int cacheMiB) throws IOException, InterruptedException {
        Path work = Files.createTempDirectory("bigqueue-lazyfs-");
        Path root = Files.createDirectory(work.resolve("root"));
        Path mountPoint = Files.createDirectory(work.resolve("mnt"));
        Path faults = work.resolve("faults.fifo");
        Path done = work.resolve("completed.fifo");
        Path config = work.resolve("lazyfs.toml");
        Files.writeString(config, String.join("\n",
                "[faults]",
                "fifo_path=\"" + faults + "\"",
                "fifo_path_completed=\"" + done + "\"",
                "[cache]",
                "apply_eviction=false",
                "[cache.simple]",
                "custom_size=\"" + cacheMiB + "mb\"",
                "blocks_per_page=1",
                "[filesystem]",
                "log_all_operations=false",
                "logfile=\"" + work.resolve("lazyfs.log") + "\"",
                ""));
        Process p = new ProcessBuilder(bin.toString(), mountPoint.toString(), "--config-path", config.toString(),
                "-o", "modules=subdir", "-o", "subdir=" + root, "-f")
                .directory(work.toFile()).redirectErrorStream(true)
                .redirectOutput(work.resolve("lazyfs.out").toFile()).start();
        long deadline = System.nanoTime() + MOUNT_TIMEOUT.toNanos();
        while (p.isAlive() && !(Files.exists(done) && isMounted(mountPoint)) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        if (!p.isAlive() || !isMounted(mountPoint) || !Files.exists(done)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            run("fusermount3", "-uz", mountPoint.toString());
            String out = Files.exists(work.resolve("lazyfs.out")) ? Files.readString(work.resolve("lazyfs.out")) : "";
            if (!isMounted(mountPoint)) {
                deleteTree(work);
            }
            throw new MountException("LazyFS (" + bin + ") did not mount " + mountPoint + " within " + MOUNT_TIMEOUT
                    + " (is FUSE permitted here?); its output:\n" + out);
        }
        // LazyFS opens the completion FIFO for writing, which waits for a reader: open it
        // read-write, which never blocks, and keep it open for the mount's life.
        return new LazyFs(work, mountPoint, p, new RandomAccessFile(done.toFile(), "rw"));
    }

    /** LazyFS did not come up. */
    static final class MountException extends IOException {
        private static final long serialVersionUID = 1L;

        MountException(String message) {
            super(message);
        }
    }

    /** The mounted directory: files here go through LazyFS's cache. */
    public Path path() {
        return mountPoint;
    }

    /**
     * Simulates a power loss: what the kernel holds dirty for this mount is written down to LazyFS
     * (as the page cache would have been lost with it), then LazyFS drops every byte not fsynced.
     * Returns when LazyFS says it is done. Kill every process writing here first: a live writer
     * would keep writing through the loss.
     */
    public void powerLoss() throws IOException, InterruptedException {
        // syncfs writes dirty pages back to the FUSE daemon without an fsync request (FUSE has no
        // sync_fs); without it a page dirtied before the loss would reach LazyFS after it.
        Process sync = new ProcessBuilder("sync", "-f", mountPoint.toString()).redirectErrorStream(true).start();
        if (!sync.waitFor(MOUNT_TIMEOUT.toSeconds(), TimeUnit.SECONDS) || sync.exitValue() != 0) {
            sync.destroyForcibly();
            throw new IOException("sync -f " + mountPoint + " failed: "
                    + new String(sync.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
        notices.clear();
        Files.writeString(work.resolve("faults.fifo"), "lazyfs::clear-cache\n");
        String notice = notices.poll(MOUNT_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        if (!CLEARED.equals(notice)) {
            throw new IOException("LazyFS did not confirm clear-cache within " + MOUNT_TIMEOUT + " (got " + notice
                    + "); its output:\n" + output());
        }
    }

    /**
     * Whether the LazyFS daemon itself has died (it segfaults now and then under load: "segfault
     * ... in libc" in dmesg); the mount then answers "Transport endpoint is not connected", and
     * nothing seen on it says anything about the queue.
     */
    public boolean crashed() {
        return !process.isAlive();
    }

    /**
     * Runs one test cycle on this mount and returns its result, or null if LazyFS died during it
     * (then whatever the cycle saw or threw came from the dead mount, not from the code under test).
     */
    public <T> T unlessCrashed(Callable<T> cycle) throws Exception {
        T result;
        try {
            result = cycle.call();
        } catch (Exception | AssertionError e) {
            if (!crashed()) {
                throw e;
            }
            return null;
        }
        return crashed() ? null : result;
    }

    /** LazyFS's own output so far (its log file), for failure messages. */
    public String output() {
        try {
            StringBuilder b = new StringBuilder();
            for (String name : List.of("lazyfs.out", "lazyfs.log")) {
                Path f = work.resolve(name);
                if (Files.exists(f)) {
                    b.append(Files.readString(f));
                }
            }
            return b.toString();
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    /** Unmounts, stops LazyFS and deletes its directories. Close the queue on the mount first. */
    @Override
    public void close() throws IOException, InterruptedException {
        try {
            int rc = run("fusermount3", "-u", mountPoint.toString());
            if (rc != 0) {
                run("fusermount3", "-uz", mountPoint.toString());
            }
            if (!process.waitFor(MOUNT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } finally {
            // The FIFO is open read-write here, so its reader never sees an end of file: stop it
            // with a line of our own, then close.
            completed.write((STOP + "\n").getBytes(StandardCharsets.US_ASCII));
            reader.join(MOUNT_TIMEOUT.toMillis());
            completed.close();
            if (!isMounted(mountPoint)) {
                deleteTree(work);
            }
        }
    }

    /** Collects LazyFS's completion notices until {@link #close()} writes {@value #STOP} itself. */
    private void readNotices() {
        try {
            String line;
            while ((line = completed.readLine()) != null && !line.equals(STOP)) {
                notices.add(line.trim());
            }
        } catch (IOException e) {
            notices.add("(completion FIFO unreadable: " + e + ")");
        }
    }

    private static boolean isMounted(Path mountPoint) throws IOException {
        String target = " " + mountPoint.toAbsolutePath() + " ";
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            if (line.contains(target) && line.contains("lazyfs")) {
                return true;
            }
        }
        return false;
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static int run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(MOUNT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }
}
