package dev.bigqueue.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real ext4 file system on a loop device whose backing file lives on a small tmpfs, so that the
 * disk can be made to fail writes for real: {@link #breakWrites()} fills the tmpfs, after which
 * any write-back to a block of the image never written before fails in the block layer (the
 * kernel logs "critical space allocation error" and "Buffer I/O error"), and msync/fsync return
 * an error. Measured: the first megabyte or so written after the fill may still be taken, so
 * write several before expecting the failure. Blocks written before (metadata synced by
 * {@link #syncAll()}) keep working, and the file system has no journal (whose blocks would be
 * holes too: a refused journal write makes ext4 read-only), so it stays mounted and writable.
 * Needs root, loop devices and mkfs.ext4; elsewhere the calling test is skipped with a message
 * saying which step was refused. Close unmounts and detaches.
 */
public final class FailingDisk implements AutoCloseable {
    private final Path base;
    private final Path backing;
    private final Path mountPoint;
    private final List<String[]> undo = new ArrayList<>();
    private String loop;

    private FailingDisk(Path base) {
        this.base = base;
        this.backing = base.resolve("backing");
        this.mountPoint = base.resolve("ext4");
    }

    /** Mounts a {@code imageMiB} MiB ext4 on a loop device backed by a {@code tmpfsMiB} MiB tmpfs. */
    public static FailingDisk mount(int tmpfsMiB, int imageMiB) throws IOException, InterruptedException {
        FailingDisk d = new FailingDisk(Files.createTempDirectory("bigqueue-failing-disk"));
        try {
            Files.createDirectories(d.backing);
            Files.createDirectories(d.mountPoint);
            d.step("mount a tmpfs", "mount", "-t", "tmpfs", "-o", "size=" + tmpfsMiB + "m", "tmpfs",
                    d.backing.toString());
            d.undo.add(new String[] {"umount", "-l", d.backing.toString()});
            Path image = d.backing.resolve("disk.img");
            d.step("create the image", "truncate", "-s", imageMiB + "M", image.toString());
            d.step("mkfs.ext4", "mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-E", "lazy_itable_init=0",
                    image.toString());
            d.loop = d.output("attach a loop device", "losetup", "-f", "--show", image.toString()).trim();
            d.undo.add(0, new String[] {"losetup", "-d", d.loop});
            d.step("mount the loop device", "mount", "-o", "errors=continue", d.loop, d.mountPoint.toString());
            d.undo.add(0, new String[] {"umount", "-l", d.mountPoint.toString()});
            return d;
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            d.close();
            throw e;
        }
    }

    /** The ext4 file system's root. */
    public Path path() {
        return mountPoint;
    }

    /** sync(1): everything written so far, metadata included, reaches the image. */
    public void syncAll() throws IOException, InterruptedException {
        must("sync", "sync", "-f", mountPoint.toString());
    }

    /** Fills the tmpfs under the image: from now on, writes to blocks of the image never written before fail. */
    public void breakWrites() throws IOException {
        byte[] chunk = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(backing.resolve("filler"))) {
            while (true) {
                out.write(chunk);
            }
        } catch (IOException full) {
            // the tmpfs is full: what we wanted
        }
    }

    /** Empties the tmpfs again: writes to new blocks of the image succeed from now on. */
    public void healWrites() throws IOException {
        Files.deleteIfExists(backing.resolve("filler"));
    }

    /**
     * Unmounts and mounts the file system again: its page cache is gone, so files read back what
     * the image holds, as after a reboot.
     */
    public void remount() throws IOException, InterruptedException {
        must("unmount", "umount", mountPoint.toString());
        must("mount again", "mount", "-o", "errors=continue", loop, mountPoint.toString());
    }

    @Override
    public void close() throws IOException, InterruptedException {
        for (String[] cmd : undo) {
            run(cmd);
        }
        undo.clear();
        Files.deleteIfExists(mountPoint);
        Files.deleteIfExists(backing);
        Files.deleteIfExists(base);
    }

    private void step(String what, String... cmd) throws IOException, InterruptedException {
        output(what, cmd);
    }

    /** A step after set-up: failing it fails the test (it is not the machine's lack of a feature). */
    private static void must(String what, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("cannot " + what + ": '" + String.join(" ", cmd) + "' failed: " + out);
        }
    }

    private String output(String what, String... cmd) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("skipped: cannot " + what + " here (" + cmd[0] + " not found: " + e.getMessage()
                    + "); the write-back failure test needs root, loop devices and mkfs.ext4");
            throw e;
        }
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        int rc = p.isAlive() ? -1 : p.exitValue();
        String text = new String(out).trim();
        Assumptions.assumeTrue(rc == 0, "skipped: cannot " + what + " here ('" + String.join(" ", cmd) + "' exited "
                + rc + ": " + text + "); the write-back failure test needs root, loop devices and mkfs.ext4");
        return text;
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
    }
}
