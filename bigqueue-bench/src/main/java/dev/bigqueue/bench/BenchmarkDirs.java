package dev.bigqueue.bench;

import dev.bigqueue.bench.run.BenchSuite;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fresh queue directories for the JMH benchmarks, under {@code -Dbench.dir=DIR} (default: the
 * system temporary directory), deleted when a trial or iteration ends so a long run does not fill
 * the disk.
 */
final class BenchmarkDirs {
    private BenchmarkDirs() {
    }

    /** A new empty directory. */
    static Path create(String label) {
        try {
            Path parent = Path.of(System.getProperty("bench.dir", System.getProperty("java.io.tmpdir")));
            Files.createDirectories(parent);
            return Files.createTempDirectory(parent, "bigqueue-jmh-" + label + "-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a benchmark directory", e);
        }
    }

    /** Deletes {@code dir} and everything in it. */
    static void delete(Path dir) {
        try {
            BenchSuite.deleteTree(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete benchmark directory " + dir, e);
        }
    }

    /** A message of {@code size} bytes: the same non-zero pattern for every peer. */
    static byte[] message(int size) {
        byte[] message = new byte[size];
        for (int i = 0; i < size; i++) {
            message[i] = (byte) ('a' + i % 26);
        }
        return message;
    }
}
