package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import dev.bigqueue.QueueConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** produce's --key/--header/--timestamp, consume's --print-* and --from, and inspect's time range. */
class MessageCliTest {
    @TempDir
    Path tmp;

    private static CliRun run(String stdin, String... args) {
        return CliRun.run(stdin, args);
    }

    private Path dir() {
        return tmp.resolve("q");
    }

    private void produce(String lines, String... options) {
        String[] args = new String[options.length + 4];
        args[0] = "produce";
        args[1] = dir().toString();
        args[2] = "--arena-size";
        args[3] = "64KB";
        System.arraycopy(options, 0, args, 4, options.length);
        CliRun r = run(lines, args);
        assertEquals(0, r.exitCode(), r.err());
    }

    @Test
    void keyHeadersAndTimestamp_areStored_andPrintedByConsume() {
        produce("one\ntwo\n", "--key", "user-7", "--header", "source=web", "--header", "trace=", "--timestamp",
                "2026-12-02T10:00:00.123Z");
        produce("three\n", "--timestamp", "1796205600000");

        try (BigQueue queue = BigQueue.open(dir())) {
            Message m = queue.dequeueMessage();
            assertEquals("user-7", m.keyString());
            assertEquals(Instant.parse("2026-12-02T10:00:00.123Z"), m.timestamp());
            assertEquals(2, m.headers().size());
            assertEquals("source", m.headers().get(0).name());
            assertEquals("web", m.headers().get(0).valueString());
            assertEquals("", m.headers().get(1).valueString());
            assertEquals("one", m.valueString());
        }

        CliRun all = run("", "consume", dir().toString(), "-c", "c", "--print-timestamp", "--print-key",
                "--print-headers");
        assertEquals(0, all.exitCode(), all.err());
        assertEquals("2026-12-02T10:00:00.123Z\tkey=user-7\tsource=web,trace=\tone\n"
                + "2026-12-02T10:00:00.123Z\tkey=user-7\tsource=web,trace=\ttwo\n"
                + Instant.ofEpochMilli(1796205600000L) + "\t-\t-\tthree\n", all.stdout());

        CliRun keyOnly = run("", "consume", dir().toString(), "-c", "d", "--print-key", "--max", "1");
        assertEquals("key=user-7\tone\n", keyOnly.stdout());
        // Committed what it printed: the next run goes on from there, printing the value alone.
        assertEquals("two\nthree\n", run("", "consume", dir().toString(), "-c", "d").stdout());
    }

    @Test
    void from_movesTheConsumerToTheFirstMessageAtOrAfterTheTime() {
        produce("a\n", "--timestamp", "2026-12-02T10:00:00Z");
        produce("b\nc\n", "--timestamp", "2026-12-02T11:00:00Z");
        produce("d\n", "--timestamp", "2026-12-02T12:00:00Z");

        assertEquals("b\nc\nd\n", run("", "consume", dir().toString(), "-c", "new", "--from",
                "2026-12-02T10:30:00Z").stdout());
        assertEquals("b\nc\nd\n", run("", "consume", dir().toString(), "-c", "exact", "--from",
                "2026-12-02T11:00:00Z").stdout());
        // An existing consumer that has read everything is moved back, and the move is committed.
        CliRun back = run("", "consume", dir().toString(), "-c", "new", "--from", "2026-12-02T11:30:00Z", "--max", "0");
        assertEquals(0, back.exitCode(), back.err());
        assertEquals("d\n", run("", "consume", dir().toString(), "-c", "new").stdout());
        // Before the first: everything; after the last: nothing, and the consumer waits at the tail.
        assertEquals("a\nb\nc\nd\n", run("", "consume", dir().toString(), "-c", "early", "--from", "0").stdout());
        assertEquals("", run("", "consume", dir().toString(), "-c", "late", "--from", "2027-01-01T00:00:00Z")
                .stdout());
        produce("e\n", "--timestamp", "2026-12-02T13:00:00Z");
        assertEquals("e\n", run("", "consume", dir().toString(), "-c", "late").stdout());
    }

    @Test
    void badValues_areUsageErrors_thatNameTheFlag_andChangeNothing() throws Exception {
        String[][] bad = {
            {"--timestamp", "yesterday"}, {"--timestamp", "2026-12-02 10:00"}, {"--timestamp", "2026-12-02"},
            {"--timestamp", ""}, {"--header", "novalue"}, {"--header", "=v"},
        };
        for (String[] option : bad) {
            CliRun r = run("x\n", "produce", dir().toString(), option[0], option[1]);
            assertEquals(CliException.USAGE, r.exitCode(), String.join(" ", option) + ": " + r.err());
            assertTrue(r.err().contains(option[0]), r.err());
            assertFalse(Files.exists(dir()), "a refused produce creates no queue");
        }
        CliRun ts = run("x\n", "produce", dir().toString(), "--timestamp", "soon");
        assertTrue(ts.err().contains("ISO-8601") && ts.err().contains("epoch milliseconds"), ts.err());
        CliRun header = run("x\n", "produce", dir().toString(), "--header", "novalue");
        assertTrue(header.err().contains("NAME=VALUE"), header.err());

        produce("a\nb\n");
        CliRun from = run("", "consume", dir().toString(), "-c", "c", "--from", "noon");
        assertEquals(CliException.USAGE, from.exitCode());
        assertTrue(from.err().contains("--from"), from.err());
        CliRun binary = run("", "consume", dir().toString(), "-c", "c", "--print-key", "--length-prefixed");
        assertEquals(CliException.USAGE, binary.exitCode());
        assertTrue(binary.err().contains("--length-prefixed"), binary.err());
        CliRun badProduce = run("z\n", "produce", dir().toString(), "--timestamp", "later");
        assertEquals(CliException.USAGE, badProduce.exitCode());
        // Nothing was read, committed or produced by the refused runs.
        assertEquals("a\nb\n", run("", "consume", dir().toString(), "-c", "c").stdout());
    }

    @Test
    void inspect_showsTheTimeRange() {
        BigQueue.open(dir(), QueueConfig.builder().arenaSize(64 * 1024).build()).close(); // a queue with no message
        CliRun none = run("", "inspect", dir().toString(), "--json");
        assertTrue(none.out().contains("\"earliestTimestamp\":null,\"latestTimestamp\":null"), none.out());
        assertTrue(run("", "inspect", dir().toString()).out().contains("time range none"));

        produce("a\n", "--timestamp", "2026-12-02T10:00:00Z");
        produce("b\nc\n", "--timestamp", "2026-12-02T12:30:00.5Z");
        CliRun text = run("", "inspect", dir().toString());
        assertEquals(0, text.exitCode(), text.err());
        assertTrue(text.out().contains("time range 2026-12-02T10:00:00Z (earliest message) .. 2026-12-02T12:30:00.500Z"
                + " (newest message)"), text.out());
        CliRun json = run("", "inspect", dir().toString(), "--json");
        assertTrue(json.out().contains("\"earliestTimestamp\":\"2026-12-02T10:00:00Z\","
                + "\"latestTimestamp\":\"2026-12-02T12:30:00.500Z\""), json.out());
    }

    @Test
    void inspect_showsEachArenasTimeIndex() {
        String lines = ("x".repeat(1000) + "\n").repeat(70); // a 64 KB arena holds ~63 of them
        produce(lines, "--timestamp", "2026-12-02T10:00:00Z");
        produce(lines, "--timestamp", "2026-12-02T11:00:00Z");
        produce(lines, "--timestamp", "2026-12-02T12:00:00Z");

        CliRun text = run("", "inspect", dir().toString());
        assertEquals(0, text.exitCode(), text.err());
        assertTrue(text.out().contains("time index (one entry per 64 KiB"), text.out());
        assertTrue(text.out().matches("(?s).*\n +0 +1 +0 +2026-12-02T10:00:00Z \\.\\. 2026-12-02T10:00:00Z\n.*"),
                "arena 0: one entry, at offset 0\n" + text.out());

        CliRun json = run("", "inspect", dir().toString(), "--json");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "\\{\"arena\":(\\d+),\"entries\":(\\d+),\"firstOffset\":(\\d+|null),"
                + "\"from\":(\"[^\"]+\"|null),\"to\":\"?([^\"]+?)\"?}")
                .matcher(json.out());
        long arenas = json.out().split("\"file\":").length - 1;
        int found = 0;
        int empty = 0;
        long lastOffset = -1;
        Instant lastTo = Instant.MIN;
        while (m.find()) {
            assertEquals(found++, Long.parseLong(m.group(1)), json.out());
            if (m.group(2).equals("0")) {
                empty++; // only the arena the writer's pretouch made ahead, holding no record yet
                continue;
            }
            assertEquals(0, empty, "an arena with records after one without\n" + json.out());
            assertEquals("1", m.group(2), "a 64 KB arena has one 64 KiB range: one entry\n" + json.out());
            long first = Long.parseLong(m.group(3));
            assertTrue(first > lastOffset, json.out());
            Instant to = Instant.parse(m.group(5));
            assertTrue(!to.isBefore(lastTo), "largest timestamp so far never goes down\n" + json.out());
            lastOffset = first;
            lastTo = to;
        }
        assertTrue(arenas >= 4 && empty <= 1, json.out());
        assertEquals(arenas, found, "one time-index summary per arena file\n" + json.out());
        assertEquals(Instant.parse("2026-12-02T12:00:00Z"), lastTo, json.out());
    }

    @Test
    void keySeparator_readsAKeyFromEachLine() {
        produce("user-1:{\"a\":1}\nuser-2:x:y\n:no key text\n", "--key-separator", ":");
        produce("k\tv\n", "--key-separator", "\\t", "--header", "h=1");
        CliRun all = run("", "consume", dir().toString(), "-c", "c", "--print-key", "--print-headers");
        assertEquals(0, all.exitCode(), all.err());
        assertEquals("key=user-1\t-\t{\"a\":1}\n" + "key=user-2\t-\tx:y\n" + "key=\t-\tno key text\n"
                + "key=k\th=1\tv\n", all.stdout());
    }

    @Test
    void keySeparator_aLineWithoutIt_stopsThereNamingIt_andWhatCameBeforeIsKept() {
        CliRun r = run("a:1\nb:2\nno separator\nc:3\n", "produce", dir().toString(), "--arena-size", "64KB",
                "--key-separator", ":");
        assertEquals(CliException.FAILED, r.exitCode(), r.err());
        assertTrue(r.err().contains("line 3 on standard input has no key separator ':'")
                && r.err().contains("the 2 lines before it were produced"), r.err());
        assertEquals("key=a\t1\nkey=b\t2\n", run("", "consume", dir().toString(), "-c", "c", "--print-key")
                .stdout());
    }

    @Test
    void keySeparator_refusedWithKeyOrLengthPrefixedOrEmpty_beforeAnythingIsCreated() {
        for (String[] bad : new String[][] {{"--key-separator", ":", "--key", "k"},
            {"--key-separator", ":", "--length-prefixed"}, {"--key-separator", ""}}) {
            String[] args = new String[bad.length + 2];
            args[0] = "produce";
            args[1] = dir().toString();
            System.arraycopy(bad, 0, args, 2, bad.length);
            CliRun r = run("a:1\n", args);
            assertEquals(CliException.USAGE, r.exitCode(), String.join(" ", bad) + ": " + r.err());
            assertTrue(r.err().contains("--key-separator"), r.err());
            assertFalse(Files.exists(dir()), "nothing created for " + String.join(" ", bad));
        }
    }

    /**
     * A value, key or header value holding a newline or a tab (any message enqueued through the
     * library, or produced --length-prefixed) prints as one line with --escape, its fields still split
     * at its tabs; with it a backslash is doubled, so the escaped text reads back unambiguously.
     */
    @Test
    void escape_printsEachMessageAsOneLine() {
        try (BigQueue queue = BigQueue.open(dir(), QueueConfig.builder().arenaSize(64 * 1024).build())) {
            queue.enqueue(Message.builder().key("k\t1").header("h", "a\nb").value("first\tline\nsecond \\ line")
                    .build());
            queue.enqueue(Message.builder().key("k2").value("next").build());
        }
        CliRun consume = run("", "consume", dir().toString(), "-c", "app", "--print-key", "--print-headers",
                "--escape");
        assertEquals(0, consume.exitCode(), consume.err());
        assertEquals("key=k\\t1\th=a\\nb\tfirst\\tline\\nsecond \\\\ line\nkey=k2\t-\tnext\n",
                consume.stdout());
        CliRun plain = run("", "consume", dir().toString(), "-c", "plain", "--escape");
        assertEquals("first\\tline\\nsecond \\\\ line\nnext\n", plain.stdout());

        CliRun refused = run("", "consume", dir().toString(), "-c", "other", "--escape", "--length-prefixed");
        assertEquals(CliException.USAGE, refused.exitCode(), refused.err());
    }
}
