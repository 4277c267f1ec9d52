package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.testing.QueueFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code inspect} and {@code consumers} (list) only look: on a queue nobody holds they leave every
 * file as it was, byte for byte (queue.lock aside): no rewritten queue.meta, no consumer file moved
 * to another commit mode, no arena made ahead by a pretoucher; and {@code consume}, which writes
 * only its consumer's file, makes no arena ahead either.
 */
class ReadCommandsChangeNothingTest {
    @TempDir
    Path tmp;

    @Test
    void inspectAndConsumersList_changeNoFileOfAFreeQueue() throws IOException {
        Path dir = tmp.resolve("q");
        assertEquals(0, CliRun.run("a\nb\nc\n", "produce", dir.toString(), "--arena-size", "64KB", "-q").exitCode());
        // consume commits in MANUAL mode, which its consumer file records.
        CliRun consume = CliRun.run("", "consume", dir.toString(), "-c", "app", "--max", "1");
        assertEquals(0, consume.exitCode(), consume.err());
        TreeMap<String, byte[]> before = QueueFiles.snapshot(dir);

        CliRun inspect = CliRun.run("", "inspect", dir.toString());
        assertEquals(0, inspect.exitCode(), inspect.err());
        assertTrue(inspect.out().contains("head 0, tail 3, durable below 3"), inspect.out());
        QueueFiles.assertUnchanged(before, dir, "inspect");
        CliRun json = CliRun.run("", "inspect", dir.toString(), "--json");
        assertTrue(json.out().contains("{\"name\":\"app\",\"position\":1,\"committedPosition\":1,\"lag\":2}"),
                json.out());
        QueueFiles.assertUnchanged(before, dir, "inspect --json");
        CliRun list = CliRun.run("", "consumers", dir.toString());
        assertEquals(0, list.exitCode(), list.err());
        assertTrue(list.out().matches("(?s).*app\\s+1\\s+1\\s+2.*"), list.out());
        QueueFiles.assertUnchanged(before, dir, "consumers list");
    }

    /** A free queue whose writer is past half of its arena: an owner's open would pretouch the next one. */
    private Path queuePastHalfOfItsArena() {
        Path dir = tmp.resolve("q");
        try (BigQueue queue = BigQueue.open(dir, QueueConfig.builder().arenaSize(64 * 1024).pretouch(false).build())) {
            byte[] message = new byte[1000];
            for (int i = 0; i < 50; i++) {
                queue.enqueue(message);
            }
        }
        return dir;
    }

    @Test
    void inspect_makesNoArenaAhead() throws IOException {
        Path dir = queuePastHalfOfItsArena();
        TreeMap<String, byte[]> before = QueueFiles.snapshot(dir);
        CliRun inspect = CliRun.run("", "inspect", dir.toString());
        assertEquals(0, inspect.exitCode(), inspect.err());
        QueueFiles.assertUnchanged(before, dir, "inspect");
    }

    /** consume writes its consumer's file, but no message: it has no use for an arena ahead either. */
    @Test
    void consume_makesNoArenaAhead() throws IOException {
        Path dir = queuePastHalfOfItsArena();
        TreeMap<String, byte[]> before = QueueFiles.snapshot(dir);
        CliRun consume = CliRun.run("", "consume", dir.toString(), "-c", "app", "--max", "1");
        assertEquals(0, consume.exitCode(), consume.err());
        assertEquals(before.keySet(), QueueFiles.snapshot(dir).keySet().stream()
                .filter(name -> !name.startsWith("consumers")).collect(Collectors.toSet()), "consume made an arena");
    }
}
