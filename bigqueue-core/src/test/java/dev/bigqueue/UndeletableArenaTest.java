package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * maxDiskBytes counts the arena files really on disk: a collection that cannot delete the file of
 * an arena it frees (permission denied; here an immutable file, the one way to refuse root a
 * delete) reports it, and the file keeps counting until a later pass deletes it. It used to leave
 * the count at once, so the queue made arenas past the cap.
 */
class UndeletableArenaTest {
    private static final int ARENA = 8192;

    @TempDir
    Path tmp;

    @Test
    void anArenaFileThatCannotBeDeleted_keepsCountingAgainstMaxDiskBytes_untilItIsGone() throws Exception {
        Path dir = tmp.resolve("q");
        QueueConfig c = QueueConfig.builder().arenaSize(ARENA).gcInterval(Duration.ZERO).pretouch(false)
                .maxDiskBytes(3 * ARENA).whenFull(WhenFull.FAIL).build();
        try (BigQueue q = BigQueue.open(dir, c)) {
            while (arenaFiles(dir) < 3) {
                q.enqueue(new byte[1000]);
            }
            while (q.dequeue() != null) {
                // everything read: the two oldest arenas may go
            }
            Path oldest = dir.resolve("arena-000000000000.dat");
            Assumptions.assumeTrue(run("chattr", "+i", oldest.toString()) == 0,
                    "skipped: chattr +i is not supported on " + tmp + " (it stands in for a delete refused)");
            try {
                RuntimeException e = assertThrows(RuntimeException.class, q::gc);
                assertTrue(String.valueOf(e.getMessage()).contains(oldest.getFileName().toString()), e.toString());
                // The file is still there: it counts, and the cap holds with it.
                for (int i = 0; i < 40; i++) {
                    try {
                        q.enqueue(new byte[1000]);
                    } catch (QueueFullException full) {
                        break;
                    }
                    q.dequeue();
                    assertTrue(arenaFiles(dir) <= 3, "arena files past maxDiskBytes of 3 arenas: " + names(dir));
                }
            } finally {
                assertEquals(0, run("chattr", "-i", oldest.toString()));
            }
            // Deletable again: the next pass that removes or makes an arena deletes it, and the queue goes on.
            for (int i = 0; i < 40; i++) {
                q.enqueue(new byte[1000]);
                q.dequeue();
                q.gc();
                assertTrue(arenaFiles(dir) <= 3, "arena files past maxDiskBytes of 3 arenas: " + names(dir));
            }
            assertTrue(Files.notExists(oldest), names(dir));
        }
    }

    private static int run(String... cmd) throws IOException, InterruptedException {
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start().waitFor();
    }

    private static long arenaFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("(arena|pool)-\\d{12}\\.dat")).count();
        }
    }

    private static String names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList().toString();
        }
    }
}
