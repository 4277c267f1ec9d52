package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.bench.peer.ChronicleAvailable;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A smoke test of every command of the {@code bigqueue} tool, and of its errors and exit codes. */
class MainTest {
    @TempDir
    Path tmp;

    record Result(int exitCode, String out, String err, byte[] stdout) {
        String stdoutText() {
            return new String(stdout, StandardCharsets.UTF_8);
        }
    }

    private static Result run(byte[] stdin, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        InputStream oldInput = ProduceCommand.input;
        WritableByteChannel oldOutput = ConsumeCommand.output;
        ProduceCommand.input = new ByteArrayInputStream(stdin);
        ConsumeCommand.output = Channels.newChannel(stdout);
        try {
            int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
            return new Result(code, out.toString(), err.toString(), stdout.toByteArray());
        } finally {
            ProduceCommand.input = oldInput;
            ConsumeCommand.output = oldOutput;
        }
    }

    private static Result run(String... args) {
        return run(new byte[0], args);
    }

    private Path produce(String lines) {
        Path dir = tmp.resolve("q");
        Result result = run(lines.getBytes(StandardCharsets.UTF_8), "produce", dir.toString(), "--arena-size", "64KB");
        assertEquals(0, result.exitCode(), result.err());
        return dir;
    }

    @Test
    void produceThenInspectShowsOffsetsAndArenas() {
        Path dir = produce("a\nb\nc\n");
        Result text = run("inspect", dir.toString());
        assertEquals(0, text.exitCode(), text.err());
        assertTrue(text.out().contains("tail 3, durable below 3"), text.out());
        assertTrue(text.out().contains("arena-000000000000.dat"), text.out());
        assertTrue(text.out().contains("64 KiB"), text.out());

        Result json = run("inspect", dir.toString(), "--json");
        assertEquals(0, json.exitCode(), json.err());
        assertTrue(json.out().startsWith("{\"directory\":"), json.out());
        assertTrue(json.out().contains("\"tailOffset\":3,\"durableOffset\":3"), json.out());
        assertTrue(json.out().contains("\"arenaSize\":65536"), json.out());
    }

    @Test
    void consumeReadsEachMessageOncePerConsumerAndCommits() {
        Path dir = produce("one\ntwo\nthree\n");
        Result first = run("consume", dir.toString(), "--consumer", "billing", "--max", "2");
        assertEquals(0, first.exitCode(), first.err());
        assertEquals("one\ntwo\n", first.stdoutText());
        Result rest = run("consume", dir.toString(), "-c", "billing");
        assertEquals("three\n", rest.stdoutText());
        assertEquals("", run("consume", dir.toString(), "-c", "billing").stdoutText());
        assertEquals("one\ntwo\nthree\n", run("consume", dir.toString(), "-c", "audit").stdoutText());

        Result list = run("consumers", dir.toString());
        assertEquals(0, list.exitCode(), list.err());
        assertTrue(list.out().contains("billing") && list.out().contains("audit"), list.out());
    }

    @Test
    void consumersResetAndDelete() {
        Path dir = produce("one\ntwo\nthree\n");
        run("consume", dir.toString(), "-c", "billing");
        Result reset = run("consumers", dir.toString(), "reset", "billing", "--offset", "1");
        assertEquals(0, reset.exitCode(), reset.err());
        assertEquals("two\nthree\n", run("consume", dir.toString(), "-c", "billing").stdoutText());
        assertEquals(0, run("consumers", dir.toString(), "reset", "billing", "--to-earliest").exitCode());
        assertEquals("one\ntwo\nthree\n", run("consume", dir.toString(), "-c", "billing").stdoutText());

        assertEquals(0, run("consumers", dir.toString(), "delete", "billing").exitCode());
        assertTrue(run("consumers", dir.toString(), "list").out().contains("no consumers"));
        Result missing = run("consumers", dir.toString(), "delete", "billing");
        assertEquals(CliException.FAILED, missing.exitCode());
        assertTrue(missing.err().contains("no consumer named 'billing'"), missing.err());
    }

    @Test
    void lengthPrefixedRecordsRoundTrip() throws IOException {
        ByteArrayOutputStream records = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(records);
        byte[][] messages = {new byte[0], "with\nnewline".getBytes(StandardCharsets.UTF_8), new byte[70_000]};
        for (byte[] message : messages) {
            out.writeInt(message.length);
            out.write(message);
        }
        Path dir = tmp.resolve("binary");
        assertEquals(0, run(records.toByteArray(), "produce", dir.toString(), "--length-prefixed").exitCode());
        Result consumed = run("consume", dir.toString(), "-c", "reader", "--length-prefixed");
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(consumed.stdout()));
        for (byte[] message : messages) {
            byte[] got = new byte[in.readInt()];
            in.readFully(got);
            assertEquals(new String(message, StandardCharsets.UTF_8), new String(got, StandardCharsets.UTF_8));
        }
        assertEquals(0, in.available());
    }

    @Test
    void missingDirectoryIsExitCode3() {
        Result result = run("inspect", tmp.resolve("nope").toString());
        assertEquals(CliException.NOT_A_QUEUE, result.exitCode());
        assertTrue(result.err().contains("does not exist"), result.err());
        assertEquals(CliException.NOT_A_QUEUE, run("consume", tmp.resolve("nope").toString(), "-c", "x").exitCode());
        assertEquals(CliException.NOT_A_QUEUE, run("consumers", tmp.resolve("nope").toString()).exitCode());
    }

    @Test
    void foreignDirectoryIsExitCode3AndLeftAlone() throws IOException {
        Path foreign = Files.createDirectories(tmp.resolve("photos"));
        Files.writeString(foreign.resolve("cat.jpg"), "meow");
        Result inspect = run("inspect", foreign.toString());
        assertEquals(CliException.NOT_A_QUEUE, inspect.exitCode());
        assertTrue(inspect.err().contains("not a bigqueue directory"), inspect.err());
        assertEquals(CliException.NOT_A_QUEUE, run("x\n".getBytes(StandardCharsets.UTF_8), "produce",
                foreign.toString()).exitCode());
        try (Stream<Path> files = Files.list(foreign)) {
            assertEquals(1, files.count(), "produce must not write into a foreign directory");
        }
    }

    @Test
    void lockedQueueIsExitCode4_forProduce_whileReadersReadBesideTheWriter() {
        Path dir = produce("a\n");
        try (BigQueue held = BigQueue.open(dir)) {
            // The kernel reports no lock conflict within one process, so inspect cannot tell this holder
            // from none; it reads read-only either way.
            Result result = run("inspect", dir.toString());
            assertEquals(0, result.exitCode(), result.err());
            assertTrue(result.out().contains("tail 1"), result.out());
            long start = System.nanoTime();
            Result produce = run("b\n".getBytes(StandardCharsets.UTF_8), "produce", dir.toString(), "--wait", "0.3");
            long waitedMs = (System.nanoTime() - start) / 1_000_000;
            assertEquals(CliException.LOCKED, produce.exitCode(), produce.err());
            assertTrue(waitedMs >= 250, "produce gave up after " + waitedMs + " ms, before its --wait");
        }
    }

    @Test
    void consumeFollow_readsBesideTheWriter_soAProducerGetsIn() throws InterruptedException {
        Path dir = produce("one\n");
        AtomicReference<Result> followed = new AtomicReference<>();
        Thread follower = new Thread(() -> followed.set(run("consume", dir.toString(), "-c", "tail", "--follow",
                "--max", "3")));
        follower.start();
        Thread.sleep(300);
        // The follower reads read-only: it never holds the queue against a producer.
        Result more = run("two\nthree\n".getBytes(StandardCharsets.UTF_8), "produce", dir.toString());
        assertEquals(0, more.exitCode(), more.err());
        follower.join(30_000);
        assertTrue(!follower.isAlive(), "consume --follow --max 3 did not stop after three messages");
        assertEquals(0, followed.get().exitCode(), followed.get().err());
        assertEquals("one\ntwo\nthree\n", followed.get().stdoutText());
        assertEquals("", run("consume", dir.toString(), "-c", "tail").stdoutText(), "all three were committed");
    }

    @Test
    void badOptionsAreExitCode2() {
        assertEquals(CliException.USAGE, run("inspect").exitCode());
        assertEquals(CliException.USAGE, run("inspect", tmp.toString(), "--colour").exitCode());
        assertEquals(CliException.USAGE, run("consume", tmp.toString()).exitCode(), "--consumer is required");
        assertEquals(CliException.USAGE, run("bench", "--sizes", "12Q").exitCode());
        assertEquals(CliException.USAGE, run("bench", "--peers", "kafka").exitCode());
        assertEquals(CliException.USAGE, run("bench", "--duration", "-1").exitCode());
        assertEquals(CliException.USAGE, run("bench", "--latency-rounds", "0").exitCode());
        assertEquals(CliException.USAGE, run("bench", "--rounds", "0").exitCode());
        assertEquals(CliException.USAGE, run("bench", "--flush-interval", "-5").exitCode());
        assertEquals(CliException.USAGE, run("nosuchcommand").exitCode());
        Path dir = produce("a\n");
        assertEquals(CliException.USAGE, run("consume", dir.toString(), "-c", "bad name").exitCode());
        assertEquals(CliException.USAGE, run("consumers", dir.toString(), "reset", "x").exitCode());
        assertEquals(CliException.USAGE, run("consumers", dir.toString(), "frobnicate").exitCode());
    }

    /**
     * upgrade and repair on damage they cannot get past: exit code 1 and the damage in the core's
     * own words, naming the file, without a Java class name. Before, the message of the core's
     * QueueCorruptedException came through as "java.io.IOException: ...".
     */
    @ParameterizedTest
    @ValueSource(strings = {"upgrade", "repair"})
    void damageThatStopsUpgradeOrRepair_isExitCode1_inTheCoresWords_withoutAClassName(String command)
            throws Exception {
        Path queue = tmp.resolve("q");
        String damaged;
        if (command.equals("upgrade")) {
            Files.createDirectories(queue.resolve("consumers"));
            for (String file : new String[] {"queue.meta", "arena-000000000000.dat", "arena-000000000001.dat",
                "arena-000000000002.dat", "consumers/billing.consumer"}) {
                try (InputStream in = MainTest.class.getResourceAsStream("/fixtures/v1-upgrade/" + file)) {
                    Files.copy(in, queue.resolve(file));
                }
            }
            damaged = "billing.consumer";
            Files.write(queue.resolve("consumers").resolve(damaged), new byte[16]); // magic gone
        } else {
            produce("a\nb\n");
            damaged = "queue.meta";
            byte[] meta = Files.readAllBytes(queue.resolve(damaged));
            meta[9] ^= 1; // the version field
            Files.write(queue.resolve(damaged), meta);
        }
        Result r = run(command, queue.toString());
        assertEquals(1, r.exitCode(), r.err());
        assertTrue(r.err().startsWith(command + ": error: cannot " + command + " " + queue + ": ")
                && r.err().contains(damaged) && !r.err().contains("java."), r.err());
    }

    @Test
    void aVersion1Queue_isRefusedNamingTheUpgrade_whichMakesItReadable() throws Exception {
        // The format-1 fixture, written by the format-1 code (bigqueue-core's test resources).
        Path dir = Files.createDirectories(tmp.resolve("old").resolve("consumers"));
        for (String file : new String[] {"queue.meta", "arena-000000000000.dat", "arena-000000000001.dat",
            "arena-000000000002.dat", "consumers/billing.consumer"}) {
            try (InputStream in = MainTest.class.getResourceAsStream("/fixtures/v1-upgrade/" + file)) {
                assertNotNull(in, "fixture file " + file);
                Files.copy(in, dir.getParent().resolve(file));
            }
        }
        Path queue = dir.getParent();
        Result refused = run("inspect", queue.toString());
        assertNotEquals(0, refused.exitCode());
        assertTrue(refused.err().contains("bigqueue upgrade"), refused.err());
        Result upgraded = run("upgrade", queue.toString());
        assertEquals(0, upgraded.exitCode(), upgraded.err());
        assertTrue(upgraded.out().contains("upgraded from format version 1 to 2"), upgraded.out());
        Result again = run("upgrade", queue.toString());
        assertEquals(0, again.exitCode(), again.err());
        assertTrue(again.out().contains("already in format version 2"), again.out());
        Result inspect = run("inspect", queue.toString());
        assertEquals(0, inspect.exitCode(), inspect.err());
        assertTrue(inspect.out().contains("billing"), inspect.out());
        assertEquals(3, run("upgrade", tmp.resolve("missing").toString()).exitCode());
    }

    @ParameterizedTest
    @ValueSource(strings = {"bench", "inspect", "produce", "consume", "consumers", "gc", "repair", "upgrade",
        "workload", "jmh", "forward"})
    void everyCommandHasHelp(String command) {
        Result result = run(command, "--help");
        assertEquals(0, result.exitCode(), result.err());
    }

    @Test
    void topLevelHelpListsCommands() {
        Result result = run("--help");
        assertEquals(0, result.exitCode());
        for (String command : new String[] {"bench", "inspect", "produce", "consume", "consumers", "workload", "jmh"}) {
            assertTrue(result.out().contains(command), result.out());
        }
    }

    @Test
    void benchComparesEveryPeerAndWritesAReport() throws IOException {
        ChronicleAvailable.assume();
        Path reports = tmp.resolve("reports");
        // Tape syncs every operation, which makes it slow here; QueuePeerTest covers it.
        Result result = run("bench", "--duration", "0.05", "--sizes", "128", "--budget", "256KB", "--rate", "2000",
                "--rounds", "2", "--peers", "bigqueue,chronicle,raw", "--dir", tmp.toString(), "--report-dir",
                reports.toString());
        assertEquals(0, result.exitCode(), result.err() + result.out());
        for (String peer : new String[] {"bigqueue", "chronicle", "raw"}) {
            assertTrue(result.out().contains(peer), peer + " missing from\n" + result.out());
        }
        assertTrue(result.out().contains("p99"), result.out());
        assertTrue(result.out().contains("bigqueue latency p99 by round:"), "three latency rounds by default\n"
                + result.out());
        assertTrue(result.out().contains("raw 128 B M msg/s by round: write "), "two throughput rounds\n"
                + result.out());
        try (Stream<Path> files = Files.list(reports)) {
            Path markdown = files.filter(f -> f.toString().endsWith(".md")).findFirst().orElseThrow();
            String report = Files.readString(markdown);
            for (String op : new String[] {"write", "read", "drain"}) {
                assertTrue(report.contains("| " + op + " | 128 B | bigqueue |"), report);
            }
            assertTrue(report.contains("## Machine"), report);
            assertTrue(report.contains("Command: `bigqueue bench --duration 0.05 "), "the command, once:\n" + report);
        }
        try (Stream<Path> left = Files.list(tmp)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().startsWith("bigqueue-bench-")),
                    "bench deletes its queues");
        }
    }

    @Test
    void workloadRunsWritersAndReadersOnEachPeer() {
        ChronicleAvailable.assume();
        Result result = run("workload", "--scale", "0.025", "--record-size", "1KB", "--peers", "bigqueue,chronicle",
                "--dir", tmp.toString());
        assertEquals(0, result.exitCode(), result.err() + result.out());
        assertTrue(result.out().contains("60 of 60"), result.out());
        assertEquals(CliException.USAGE, run("workload", "--peers", "raw").exitCode());
    }
}
