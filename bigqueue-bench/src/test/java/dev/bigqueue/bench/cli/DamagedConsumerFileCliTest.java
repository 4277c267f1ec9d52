package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A damaged consumer file: {@code inspect} and {@code consumers} (list) still show the rest of the
 * queue, the damaged consumer as a row, then fail (exit code 1) with a message that names the file,
 * says what to do, and does not read like an uncaught exception (a class name, a stack trace).
 */
class DamagedConsumerFileCliTest {
    @TempDir
    Path tmp;

    private Path queueWithDamagedConsumer() throws IOException {
        Path dir = tmp.resolve("q");
        assertEquals(0, CliRun.run("a\nb\n", "produce", dir.toString(), "--arena-size", "64KB", "-q").exitCode());
        assertEquals(0, CliRun.run("", "consume", dir.toString(), "-c", "app", "--max", "1").exitCode());
        assertEquals(0, CliRun.run("", "consume", dir.toString(), "-c", "good").exitCode());
        Files.writeString(dir.resolve("consumers").resolve("app.consumer"), "junkjunkjunk");
        return dir;
    }

    private static void assertReadsLikeTheCommandLine(CliRun run) {
        assertEquals(CliException.FAILED, run.exitCode(), run.err());
        assertTrue(run.err().contains("consumer 'app' is damaged") && run.err().contains("app.consumer")
                && run.err().contains("bigqueue repair"), run.err());
        assertFalse(run.err().contains("Exception") || run.err().contains("java.") || run.err().contains("stack"),
                run.err());
        assertEquals(1, run.err().lines().count(), run.err());
    }

    @Test
    void inspect_showsTheDamagedConsumerAsARow_thenFails() throws IOException {
        Path dir = queueWithDamagedConsumer();
        CliRun inspect = CliRun.run("", "inspect", dir.toString());
        assertReadsLikeTheCommandLine(inspect);
        assertTrue(inspect.out().matches("(?s).*tail 2.*app\\s+damaged\\s+damaged.*good\\s+2\\s+2\\s+0.*"),
                inspect.out());
        CliRun json = CliRun.run("", "inspect", dir.toString(), "--json");
        assertReadsLikeTheCommandLine(json);
        assertTrue(json.out().contains("{\"name\":\"app\",\"position\":null,\"committedPosition\":null,\"lag\":null,"
                + "\"damaged\":"), json.out());
    }

    @Test
    void consumersList_showsTheDamagedConsumerAsARow_thenFails() throws IOException {
        Path dir = queueWithDamagedConsumer();
        CliRun list = CliRun.run("", "consumers", dir.toString());
        assertReadsLikeTheCommandLine(list);
        assertTrue(list.out().matches("(?s).*app\\s+damaged\\s+damaged.*good\\s+2\\s+2\\s+0.*"), list.out());
    }

    /** After the open, as when the consume command opens the damaged consumer itself. */
    @Test
    void consume_ofTheDamagedConsumer_failsInTheCommandLinesWords() throws IOException {
        Path dir = queueWithDamagedConsumer();
        CliRun consume = CliRun.run("", "consume", dir.toString(), "-c", "app");
        assertEquals(CliException.FAILED, consume.exitCode(), consume.err());
        assertTrue(consume.err().contains("app.consumer") && consume.err().contains("bigqueue repair"),
                consume.err());
        assertFalse(consume.err().contains("Exception") || consume.err().contains("java.")
                || consume.err().contains("stack trace"), consume.err());
    }
}
