package dev.bigqueue.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real, small tmpfs mounted for a disk-full test (needs root). Where mounting is not permitted
 * the test is skipped with a message saying so. Unmount in teardown with {@link #close()}.
 */
public final class SmallTmpfs implements AutoCloseable {
    private final Path mountPoint;

    private SmallTmpfs(Path mountPoint) {
        this.mountPoint = mountPoint;
    }

    /** Mounts a tmpfs of {@code sizeBytes} at a new directory, or skips the calling test. */
    public static SmallTmpfs mount(long sizeBytes) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("bigqueue-tmpfs");
        int rc = run("mount", "-t", "tmpfs", "-o", "size=" + sizeBytes, "tmpfs", dir.toString());
        if (rc != 0) {
            Files.deleteIfExists(dir);
        }
        Assumptions.assumeTrue(rc == 0, "skipped: cannot mount a tmpfs here (needs root and mount permission;"
                + " 'mount -t tmpfs' exited " + rc + "), so this test cannot run on this machine");
        return new SmallTmpfs(dir);
    }

    public Path path() {
        return mountPoint;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        run("umount", "-l", mountPoint.toString());
        Files.deleteIfExists(mountPoint);
    }

    /** Runs {@code cmd}, output discarded; its exit code, or -1 if it did not start or end in 30 s. */
    static int run(String... cmd) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            return -1;
        }
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }
}
