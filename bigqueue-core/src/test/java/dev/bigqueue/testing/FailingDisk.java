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
    private final SmallTmpfs backing;
    private final Path mountPoint;
    /** Commands that undo the set-up, last step first. */
    private final List<String[]> undo = new ArrayList<>();
    private String loop;

    private FailingDisk(SmallTmpfs backing, Path mountPoint) {
        this.backing = backing;
        this.mountPoint = mountPoint;
    }

    /** Mounts a {@code imageMiB} MiB ext4 on a loop device backed by a {@code tmpfsMiB} MiB tmpfs. */
    public static FailingDisk mount(int tmpfsMiB, int imageMiB) throws IOException, InterruptedException {
        SmallTmpfs tmpfs = SmallTmpfs.mount((long) tmpfsMiB << 20);
        FailingDisk d = new FailingDisk(tmpfs, Files.createTempDirectory("bigqueue-failing-disk"));
        try {
            Path image = tmpfs.path().resolve("disk.img");
            d.setUp("create the image", "truncate", "-s", imageMiB + "M", image.toString());
            d.setUp("mkfs.ext4", "mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-E", "lazy_itable_init=0",
                    image.toString());
            d.loop = d.setUp("attach a loop device", "losetup", "-f", "--show", image.toString());
            d.undo.add(0, new String[] {"losetup", "-d", d.loop});
            d.setUp("mount the loop device", "mount", "-o", "errors=continue", d.loop, d.mountPoint.toString());
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
        try (OutputStream out = Files.newOutputStream(backing.path().resolve("filler"))) {
            while (true) {
                out.write(chunk);
            }
        } catch (IOException full) {
            // the tmpfs is full: what we wanted
        }
    }

    /** Empties the tmpfs again: writes to new blocks of the image succeed from now on. */
    public void healWrites() throws IOException {
        Files.deleteIfExists(backing.path().resolve("filler"));
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
            SmallTmpfs.run(cmd);
        }
        undo.clear();
        Files.deleteIfExists(mountPoint);
        backing.close();
    }

    /** A set-up step: where the machine cannot do it, the calling test is skipped saying which. */
    private String setUp(String what, String... cmd) throws IOException, InterruptedException {
        String[] result = exec(cmd);
        Assumptions.assumeTrue(result[0].equals("0"), "skipped: cannot " + what + " here ('" + String.join(" ", cmd)
                + "' " + result[1] + "); the write-back failure test needs root, loop devices and mkfs.ext4");
        return result[1];
    }

    /** A step after set-up: failing it fails the test (it is not the machine's lack of a feature). */
    private static void must(String what, String... cmd) throws IOException, InterruptedException {
        String[] result = exec(cmd);
        if (!result[0].equals("0")) {
            throw new IOException("cannot " + what + ": '" + String.join(" ", cmd) + "' " + result[1]);
        }
    }

    /** {exit code, or "not started"/"hung"; its output, trimmed}. */
    private static String[] exec(String... cmd) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return new String[] {"not started", "could not start: " + e.getMessage()};
        }
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new String[] {"hung", "did not end in 60 s: " + out};
        }
        return p.exitValue() == 0 ? new String[] {"0", out}
                : new String[] {Integer.toString(p.exitValue()), "exited " + p.exitValue() + ": " + out};
    }
}
