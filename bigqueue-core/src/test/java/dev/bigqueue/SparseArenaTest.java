package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.QueueFiles;
import dev.bigqueue.testing.SmallTmpfs;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Guarantee 6 (a full disk is an error, never a JVM crash) for a queue directory copied or
 * restored sparse ({@code cp --sparse=always}, {@code rsync -S}, {@code tar -S}): the unwritten
 * part of its tail arena is a hole, and a mapped write into a hole on a full disk is a SIGBUS,
 * which the JVM reported after an enqueue had returned (the message was lost). The open now
 * allocates the holes of the arenas the writer may write, and on a full disk fails, naming the
 * file, before anything is written. Runs the writer in a child JVM, whose crash the test sees.
 */
class SparseArenaTest {
    private static final long ARENA = 256 * 1024;
    private static final int MESSAGES = 15;

    private static QueueConfig config() {
        return QueueConfig.builder().arenaSize(ARENA).gcInterval(Duration.ZERO).pretouch(false).build();
    }

    @Test
    void aSparseTailArena_onAFullDisk_failsTheOpenNamingIt_andWorksOnceThereIsRoom() throws Exception {
        try (SmallTmpfs fs = SmallTmpfs.mount(2 * 1024 * 1024)) {
            Path dir = fs.path().resolve("q");
            try (BigQueue q = BigQueue.open(dir, config())) {
                q.enqueue(new byte[100]);
            }
            Path arena = dir.resolve("arena-000000000000.dat");
            // The zeros after the tail become a hole, as a sparse copy leaves them.
            int rc = new ProcessBuilder("fallocate", "-p", "-o", "65536", "-l", String.valueOf(ARENA - 65536),
                    arena.toString()).inheritIO().start().waitFor();
            assertEquals(0, rc, "fallocate --punch-hole");
            Path filler = fs.path().resolve("filler");
            try (OutputStream out = Files.newOutputStream(filler)) {
                while (true) {
                    out.write(new byte[4096]);
                }
            } catch (IOException full) {
                // the disk is full now
            }
            TreeMap<String, byte[]> before = QueueFiles.snapshot(dir);
            String out = runWriter(dir);
            assertTrue(out.startsWith("OPEN-FAILED") && out.contains(arena.toAbsolutePath() + " has unallocated blocks")
                    && out.contains("free disk space"), out);
            QueueFiles.assertUnchanged(before, dir, "an open refused for lack of room");

            Files.delete(filler);
            out = runWriter(dir);
            assertTrue(out.endsWith("DONE"), out);
            try (BigQueue q = BigQueue.open(dir, config())) {
                assertEquals(100, q.dequeue().length);
                for (int i = 0; i < MESSAGES; i++) {
                    assertEquals(10_000, q.dequeue().length, "message " + i);
                }
                assertEquals(null, q.dequeue());
            }
        }
    }

    private static String runWriter(Path dir) throws Exception {
        try (ChildJvm child = ChildJvm.start(Writer.class, dir.toString())) {
            int exit = child.waitFor(Duration.ofSeconds(120));
            String out = String.join("\n", child.lines());
            assertEquals(0, exit, "the writer crashed (exit " + exit + "); stdout:\n" + out + "\nstderr:\n"
                    + child.stderr());
            return out;
        }
    }

    /** Enqueues 10 KB messages that all fit in arena 0 (no new arena is needed), once the open succeeds. */
    public static final class Writer {
        public static void main(String[] args) {
            BigQueue q;
            try {
                q = BigQueue.open(Path.of(args[0]), config());
            } catch (RuntimeException e) {
                System.out.println("OPEN-FAILED " + e.getMessage());
                return;
            }
            try (q) {
                for (int i = 0; i < MESSAGES; i++) {
                    q.enqueue(new byte[10_000]);
                }
            }
            System.out.println("DONE");
        }
    }
}
