package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.internal.FileFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bigqueue gc}: a queue made and read only through the command line frees its disk. */
class GcCommandTest {
    @TempDir
    Path tmp;

    private static CliRun run(String stdin, String... args) {
        return CliRun.run(stdin, args);
    }

    private static long arenaFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> FileFormat.arenaIdOf(f.getFileName().toString()) >= 0).count();
        }
    }

    /**
     * 2,000 lines of 91 digits in 64 KiB arenas: four arenas or more. 91, not 99 as with format 1:
     * a format-2 record has an 8-byte stamp more, and 91-byte messages keep each record at 112
     * bytes, so the tail again sits before the middle of its arena, where the pretoucher has not
     * yet made the next one (which "gc" would rightly keep too).
     */
    private Path producedQueue() throws IOException {
        Path dir = tmp.resolve("q");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 2000; i++) {
            lines.append(String.format("%091d", i)).append('\n');
        }
        CliRun produced = run(lines.toString(), "produce", dir.toString(), "--arena-size", "64KB");
        assertEquals(0, produced.exitCode(), produced.err());
        assertTrue(arenaFiles(dir) >= 4, arenaFiles(dir) + " arenas");
        return dir;
    }

    @Test
    void namedConsumersFreeDiskOnceTheOwnConsumerIsLeftOut() throws IOException {
        Path dir = producedQueue();
        long arenas = arenaFiles(dir);
        CliRun consumed = run("", "consume", dir.toString(), "-c", "reader");
        assertEquals(0, consumed.exitCode(), consumed.err());

        CliRun held = run("", "gc", dir.toString());
        assertEquals(0, held.exitCode(), held.err());
        assertEquals(arenas, arenaFiles(dir), "the queue's own consumer, at offset 0, holds every arena");
        assertTrue(held.out().contains("held by the queue's own consumer at offset 0"), held.out());
        assertTrue(held.out().contains("bigqueue gc " + dir.toAbsolutePath() + " --ignore-own-consumer"), held.out());
        assertTrue(run("", "inspect", dir.toString()).out().contains("--ignore-own-consumer"), "inspect says so too");

        CliRun freed = run("", "gc", dir.toString(), "--ignore-own-consumer");
        assertEquals(0, freed.exitCode(), freed.err());
        assertEquals(1, arenaFiles(dir), "only the arena being written is left\n" + freed.out());
        assertTrue(freed.out().startsWith("deleted " + (arenas - 1) + " arena files"), freed.out());
        assertTrue(freed.out().contains("the arena being written is always kept"), freed.out());

        // What is left still reads, and the own consumer moved up with the start: the queue opens as before.
        CliRun late = run("", "consume", dir.toString(), "-c", "late");
        assertEquals(0, late.exitCode(), late.err());
        assertTrue(late.stdout().endsWith(String.format("%091d", 1999) + "\n"));
        assertEquals(0, run("more\n", "produce", dir.toString()).exitCode());
        try (BigQueue queue = BigQueue.open(dir, QueueConfig.builder().arenaSize(64 * 1024).build())) {
            assertEquals(queue.earliestOffset(), queue.headOffset());
        }
    }

    @Test
    void withoutTheFlag_anApplicationsOwnConsumerIsRespected() throws IOException {
        Path dir = producedQueue();
        run("", "consume", dir.toString(), "-c", "reader");
        try (BigQueue queue = BigQueue.open(dir, QueueConfig.builder().arenaSize(64 * 1024).build())) {
            for (int i = 0; i < 10; i++) {
                queue.dequeue();
            }
        }
        long arenas = arenaFiles(dir);
        CliRun result = run("", "gc", dir.toString());
        assertEquals(0, result.exitCode(), result.err());
        assertEquals(arenas, arenaFiles(dir), "the application's consumer has not left the first arena");
        assertTrue(result.out().contains("held by the queue's own consumer at offset 10"), result.out());
    }

    @Test
    void aQueueWithoutConsumersKeepsEverything() throws IOException {
        Path dir = producedQueue();
        long arenas = arenaFiles(dir);
        CliRun result = run("", "gc", dir.toString(), "--ignore-own-consumer");
        assertEquals(0, result.exitCode(), result.err());
        assertEquals(arenas, arenaFiles(dir));
        assertTrue(result.out().contains("no consumer counts"), result.out());
    }
}
