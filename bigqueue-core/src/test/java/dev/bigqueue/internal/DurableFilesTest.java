package dev.bigqueue.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DurableFiles makes what it is asked to make (whether each directory's entry reached the disk is
 * for a power-loss run to tell; the LazyFS runs keep directory entries, so none can here).
 */
class DurableFilesTest {
    @TempDir
    Path tmp;

    @Test
    void createDirectories_makesEveryMissingLevel_andLeavesAnExistingOneAsItIs() throws Exception {
        Path deep = tmp.resolve("a").resolve("b").resolve("c");
        DurableFiles.createDirectories(deep);
        assertTrue(Files.isDirectory(deep));
        Path file = deep.resolve("f");
        DurableFiles.writeAtomically(file, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        DurableFiles.createDirectories(deep);
        DurableFiles.createDirectories(tmp.resolve("a"));
        assertEquals(3, Files.size(file), "an existing directory and what is in it are left alone");
        assertTrue(Files.notExists(deep.resolve("f.tmp")));
    }
}
