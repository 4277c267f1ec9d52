package dev.bigqueue.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** Writing a small file so that it exists whole and durable, or not at all. */
final class DurableFiles {
    private DurableFiles() {
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
