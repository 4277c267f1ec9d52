package dev.bigqueue.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What makes records the disk refused durable after all: the {@code writeback-failed} marker
 * ({@link FileFormat}) and the rewrite the next writer open does because of it.
 *
 * <p>Why: after a failed write-back the kernel still shows the refused records from the page cache,
 * but counts them as written, and on ext4 their blocks stay "unwritten" even when the same bytes are
 * written again through the same file. A later open in the same boot would read them, recover them
 * as the tail, and its flushes would vouch for them; after a reboot they read as zeros, and recovery
 * would cut the log there, taking every later record with it, durable or not. So the open that
 * meets the failure leaves this marker, and the next writer open copies every arena from the one
 * holding the durable point into a new file (new blocks), syncs it and renames it over the old one,
 * before anything maps them. Records the cache no longer holds are copied as what the disk has, and
 * recovery ends the log at the first of them, as after a power loss.
 *
 * <p>Threads: {@link #record} runs on the thread whose sync failed, once per open; {@link #rewrite}
 * runs on the opening thread under the directory lock, before the queue's threads exist.
 */
public final class RefusedWriteBack {
    private static final Logger LOG = LoggerFactory.getLogger(RefusedWriteBack.class);
    private static final int COPY_CHUNK = 1 << 20;

    private RefusedWriteBack() {
    }

    /** Leaves the marker for {@code durable}, the durable point the failure left. Never throws. */
    public static void record(Path dir, StreamPoint durable) {
        ByteBuffer b = ByteBuffer.allocate(FileFormat.WRITEBACK_FAILED_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(FileFormat.WRITEBACK_FAILED_MAGIC).putLong(durable.offset()).putLong(durable.position())
                .putLong(check(durable.offset(), durable.position())).flip();
        // Written in place, not through a temporary file and a rename: the disk is refusing writes,
        // so the sync may fail, and the file must exist for this boot's next open even then (the
        // page cache holds it). A torn marker fails its check, which means "rewrite every arena".
        Path marker = dir.resolve(FileFormat.WRITEBACK_FAILED_FILE);
        try (FileChannel ch = FileChannel.open(marker, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
            NativeIO.syncDirectory(dir);
        } catch (IOException | RuntimeException e) {
            LOG.warn("queue {}: the write-back failure marker {} could not be made durable ({}); the next open in"
                    + " this boot still sees it", dir, marker.getFileName(), e.toString());
        }
    }

    /**
     * The offset from which an open's write-back failed, if the marker is there and not yet dealt
     * with by a writer open: 0 if the marker is damaged (then every arena is rewritten).
     */
    public static OptionalLong recordedOffset(Path dir) throws IOException {
        Marker m = read(dir.resolve(FileFormat.WRITEBACK_FAILED_FILE));
        return m == null ? OptionalLong.empty() : OptionalLong.of(Math.max(0, m.offset));
    }

    /** The marker's fields; offset -1 and position 0 when it is damaged. Null if there is none. */
    private record Marker(long offset, long position) {
    }

    private static Marker read(Path marker) throws IOException {
        if (Files.isDirectory(marker)) {
            throw new IOException(marker.toAbsolutePath() + " is a directory, not bigqueue's: the queue keeps"
                    + " a 32-byte marker file under this name after a disk refused a write-back; move the"
                    + " directory out of the queue directory and open again");
        }
        ByteBuffer b = ByteBuffer.allocate(FileFormat.WRITEBACK_FAILED_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(marker, StandardOpenOption.READ)) {
            while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
                // keep reading
            }
        } catch (NoSuchFileException none) {
            return null;
        } catch (IOException e) {
            throw new IOException("cannot read the write-back failure marker " + marker.toAbsolutePath() + ": "
                    + e.getMessage() + "; it says which arenas the next open must rewrite, so keep it and make"
                    + " it readable", e);
        }
        if (!b.hasRemaining() && b.getLong(0) == FileFormat.WRITEBACK_FAILED_MAGIC
                && b.getLong(24) == check(b.getLong(8), b.getLong(16))) {
            return new Marker(b.getLong(8), Math.max(0, b.getLong(16)));
        }
        return new Marker(-1, 0);
    }

    /**
     * If the marker is there, rewrites the arenas from the one holding its durable point, then
     * deletes it. Called by a writer open before the arenas are registered or mapped.
     */
    static void rewrite(Path dir, long arenaSize, ArenaScan scan) throws IOException {
        Path marker = dir.resolve(FileFormat.WRITEBACK_FAILED_FILE);
        Marker m = read(marker);
        if (m == null) {
            return;
        }
        long offset = m.offset;
        long position = m.position;
        long firstArena = position / FileFormat.dataBytes(arenaSize);
        int rewritten = 0;
        for (long id : scan.arenaIds().tailSet(firstArena, true)) {
            copyOver(FileFormat.arenaFile(dir, id));
            rewritten++;
        }
        // The renames reach the disk before the marker's deletion can: a file system that orders
        // directory changes less strictly than ext4's journal must not keep the deletion alone.
        NativeIO.syncDirectory(dir);
        Files.delete(marker);
        NativeIO.syncDirectory(dir);
        LOG.warn("queue {}: the disk refused records in an earlier open ({}); rewrote {} arena file(s) from arena {}"
                + " into new files from what the page cache still held, so those records are on disk now (any the"
                + " cache had lost end the log at recovery)", dir,
                offset < 0 ? "damaged marker: every arena rewritten" : "from offset " + offset, rewritten, firstArena);
    }

    /** Copies {@code file} into a new file (new blocks), syncs it, and renames it over {@code file}. */
    private static void copyOver(Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Uninterruptible.run(() -> {
            try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ);
                    FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE,
                            StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                // Plain reads and writes: a kernel-side copy could share or skip the refused blocks.
                ByteBuffer chunk = ByteBuffer.allocate(COPY_CHUNK);
                long size = in.size();
                for (long at = 0; at < size; ) {
                    chunk.clear().limit((int) Math.min(COPY_CHUNK, size - at));
                    int n = in.read(chunk, at);
                    if (n < 0) {
                        throw new IOException(file + " ended at byte " + at + " while being rewritten");
                    }
                    chunk.flip();
                    while (chunk.hasRemaining()) {
                        out.write(chunk, at + chunk.position());
                    }
                    at += n;
                }
                out.force(true);
            }
        });
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static long check(long offset, long position) {
        return FileFormat.mix64(FileFormat.mix64(offset ^ FileFormat.WRITEBACK_FAILED_MAGIC) + position) | 1;
    }
}
