package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.testing.ChildJvm;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code inspect}, {@code consumers list} and {@code consume} (with and without {@code --follow})
 * on a queue that a writer in another process holds open and keeps writing: they read beside it,
 * read-only, without stopping it; and the other commands beside a {@code consume --follow} in
 * another process, which holds its consumer there.
 */
class LiveQueueCliTest {
    private static final int N = 2000;

    @TempDir
    Path tmp;

    record Result(int exitCode, String out, String err, String stdout) {
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        var old = ConsumeCommand.output;
        ConsumeCommand.output = Channels.newChannel(stdout);
        try {
            int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
            return new Result(code, out.toString(), err.toString(), stdout.toString(StandardCharsets.UTF_8));
        } finally {
            ConsumeCommand.output = old;
        }
    }

    private static String lines(int from, int to) {
        StringBuilder s = new StringBuilder();
        for (int i = from; i < to; i++) {
            s.append('m').append(i).append('\n');
        }
        return s.toString();
    }

    @Test
    void inspectConsumersAndConsume_workBesideALiveWriterInAnotherProcess() throws Exception {
        Path dir = tmp.resolve("q");
        Path go = tmp.resolve("go");
        try (ChildJvm writer = ChildJvm.start(LiveWriterChild.class, dir.toString(), Integer.toString(N),
                go.toString())) {
            writer.awaitLine("READY", Duration.ofMinutes(2));

            Result inspect = run("inspect", dir.toString());
            assertEquals(0, inspect.exitCode(), inspect.err());
            assertTrue(inspect.out().matches("(?s).*another process \\(pid \\d+\\) has the queue open.*"),
                    inspect.out());
            assertTrue(inspect.out().contains("tail " + N), inspect.out());
            assertTrue(inspect.out().contains("time range 20"), "read from two records beside the writer: "
                    + inspect.out());

            // --from and the print flags read-only beside the writer too.
            Result timed = run("consume", dir.toString(), "-c", "timed", "--from", "0", "--print-timestamp",
                    "--print-key", "--max", "1");
            assertEquals(0, timed.exitCode(), timed.err());
            assertTrue(timed.stdout().matches("\\d{4}-\\d\\d-\\d\\dT[^\t]*Z\t-\tm0\n"), timed.stdout());
            Result future = run("consume", dir.toString(), "-c", "future", "--from", "9999-01-01T00:00:00Z");
            assertEquals(0, future.exitCode(), future.err());
            assertEquals("", future.stdout());

            Result consume = run("consume", dir.toString(), "-c", "cli", "--max", "1500");
            assertEquals(0, consume.exitCode(), consume.err());
            assertEquals(lines(0, 1500), consume.stdout());

            Result list = run("consumers", dir.toString());
            assertEquals(0, list.exitCode(), list.err());
            assertTrue(list.out().matches("(?s).*cli\\s+1500\\s+1500\\s+500.*"), list.out());
            Result json = run("inspect", dir.toString(), "--json");
            assertEquals(0, json.exitCode(), json.err());
            assertTrue(json.out().contains("\"headOffset\":null"), json.out());

            // --follow: the rest, then what the writer appends while it follows.
            AtomicReference<Result> followed = new AtomicReference<>();
            Thread follower = new Thread(() -> followed.set(run("consume", dir.toString(), "-c", "cli", "--follow",
                    "--max", Integer.toString(2 * N - 1500))));
            follower.start();
            Files.createFile(go);
            writer.awaitLine("MORE", Duration.ofMinutes(2));
            follower.join(120_000);
            assertTrue(!follower.isAlive(), "consume --follow did not get the writer's new messages");
            assertEquals(0, followed.get().exitCode(), followed.get().err());
            assertEquals(lines(1500, 2 * N), followed.get().stdout());
            assertTrue(writer.isAlive(), "the writer had to stop");
        }
    }

    /**
     * One terminal runs {@code consume DIR -c app --follow} (the README's "one terminal can follow
     * while another produces"), with no writer: the follower holds consumer 'app' in its process.
     * Looking at the queue, collecting it and other consumers work; what needs 'app' itself is "in use"
     * (exit code 4) in the command line's words, never a Java exception.
     */
    @Test
    void aFollowingConsumeInAnotherProcess_leavesTheQueueToOtherCommands() throws Exception {
        Path dir = tmp.resolve("q");
        assertEquals(0, CliRun.run("one\ntwo\n", "produce", dir.toString(), "--arena-size", "64KB", "-q").exitCode());
        Path stderr = tmp.resolve("follow.err");
        Process follower = CliProcess.builder(List.of(), stderr, "consume", dir.toString(), "-c", "app", "--follow")
                .start();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(follower.getInputStream(),
                StandardCharsets.UTF_8))) {
            // Once it printed a message it has consumer 'app' open, and keeps it while it follows.
            assertEquals("one", lines.readLine(), Files.readString(stderr));

            CliRun inspect = CliRun.run("", "inspect", dir.toString());
            assertEquals(0, inspect.exitCode(), inspect.err());
            assertTrue(inspect.out().matches("(?s).*\\bapp\\s+\\d+\\s+\\d+\\s+\\d+.*"), inspect.out());
            CliRun list = CliRun.run("", "consumers", dir.toString());
            assertEquals(0, list.exitCode(), list.err());
            assertTrue(list.out().contains("app"), list.out());
            CliRun gc = CliRun.run("", "gc", dir.toString());
            assertEquals(0, gc.exitCode(), gc.err());
            assertEquals(0, CliRun.run("", "consume", dir.toString(), "-c", "other").exitCode());

            for (String[] args : List.of(new String[] {"consume", dir.toString(), "-c", "app"},
                    new String[] {"consumers", dir.toString(), "reset", "app", "--to-earliest"},
                    new String[] {"consumers", dir.toString(), "delete", "app"})) {
                CliRun held = CliRun.run("", args);
                String what = String.join(" ", args) + ": " + held.err();
                assertEquals(CliException.LOCKED, held.exitCode(), what);
                assertTrue(held.err().contains("consumer 'app'") && held.err().contains("in use"), what);
                assertFalse(held.err().contains("Exception") || held.err().contains("stack trace"), what);
            }
        } finally {
            follower.destroy();
            follower.waitFor();
        }
    }
}
