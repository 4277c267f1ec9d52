package dev.bigqueue.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** Writing a small file so that it exists whole and durable, or not at all; making directories durably. */
final class DurableFiles {
    private DurableFiles() {
    }

    /**
     * {@link Files#createDirectories}, then a sync of the parent of each directory it made: a file
     * fsynced into a new directory survives a power loss only if the directory's own entry does
     * (POSIX asks for the parent's fsync; ext4's journal happens to order it, other file systems
     * need not). Nothing is synced when {@code dir} existed.
     */
    static void createDirectories(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        Path top = dir.toAbsolutePath();
        while (top.getParent() != null && !Files.exists(top.getParent())) {
            top = top.getParent();
        }
        Files.createDirectories(dir);
        for (Path d = dir.toAbsolutePath(); d.getParent() != null && d.startsWith(top); d = d.getParent()) {
            NativeIO.syncDirectory(d.getParent());
        }
    }

    /** Writes {@code content} to a temporary file, syncs it, renames it to {@code file}, syncs the directory. */
    static void writeAtomically(Path file, ByteBuffer content) throws IOException {
        // Use a temp file so that a crash never leaves a partially-written file under the real name.
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Uninterruptible.run(() -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                while (content.hasRemaining()) {
                    ch.write(content);
                }
                ch.force(true);
            }
        });
        // A rename is atomic.
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        NativeIO.syncDirectory(file.getParent());
    }
}
