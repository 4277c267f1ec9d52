package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The options that shape a queue on disk, as the command line takes and explains them. */
class QueueOptionsTest {
    @TempDir
    Path tmp;

    record Result(int exitCode, String out, String err) {
    }

    private static Result run(String stdin, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        InputStream oldInput = ProduceCommand.input;
        ProduceCommand.input = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
        try {
            int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
            return new Result(code, out.toString(), err.toString());
        } finally {
            ProduceCommand.input = oldInput;
        }
    }

    @Test
    void arenaSizeCannotChangeOnAnExistingQueue_andTheErrorNamesTheFlag() {
        Path dir = tmp.resolve("q");
        assertEquals(0, run("a\n", "produce", dir.toString(), "--arena-size", "64KB").exitCode());
        Result other = run("b\n", "produce", dir.toString(), "--arena-size", "1MB");
        assertEquals(CliException.USAGE, other.exitCode(), other.err());
        assertTrue(other.err().contains("--arena-size 1 MiB cannot apply to the queue at " + dir), other.err());
        assertTrue(other.err().contains("created with arena size 64 KiB"), other.err());
        assertEquals(0, run("c\n", "produce", dir.toString(), "--arena-size", "64KiB").exitCode(), "the same size");
        assertEquals(0, run("d\n", "produce", dir.toString()).exitCode(), "no size: the queue's own");
        assertTrue(run("", "inspect", dir.toString()).out().contains("tail 3"));
    }

    @Test
    void arenaSizeZeroOrOutOfRangeIsAUsageError_andCreatesNothing() {
        Path dir = tmp.resolve("q");
        for (String size : new String[] {"0", "1000", "2GB"}) {
            Result result = run("a\n", "produce", dir.toString(), "--arena-size", size);
            assertEquals(CliException.USAGE, result.exitCode(), size + ": " + result.err());
            assertTrue(result.err().contains("--arena-size must be 4 KiB..1 GiB, got " + size), result.err());
            assertFalse(Files.exists(dir), "nothing created for " + size);
        }
    }

    @Test
    void aNewQueueGetsSmallArenas_andTheOutputSaysTheyArePreallocated() throws Exception {
        Path dir = tmp.resolve("q");
        Result produced = run("line\n".repeat(1000), "produce", dir.toString());
        assertEquals(0, produced.exitCode(), produced.err());
        assertTrue(produced.err().contains("created the queue with arena size 4 MiB: every arena file is"
                + " preallocated"), produced.err());
        assertEquals(4L << 20, Files.size(dir.resolve("arena-000000000000.dat")));
        assertFalse(run("more\n", "produce", dir.toString()).err().contains("created"), "said only on creation");
        assertTrue(run("", "inspect", dir.toString()).out().contains("arena size 4 MiB (4,194,304 bytes),"
                + " preallocated"));
    }

    @Test
    void configErrorsSpeakOfFlagsNotOfJavaBuilders() {
        assertEquals("--arena-size must be from 4096 to 1073741824 bytes, got 1000; set --arena-size",
                QueueDirectory.inCommandLineWords("arenaSize must be from 4096 to 1073741824 bytes, got 1000; set"
                        + " QueueConfig.builder().arenaSize(..) or bigqueue.arenaSize"));
        assertEquals("maxDiskBytes must be 0 (unbounded) or at least two arenas; set the option maxDiskBytes (no"
                + " command-line flag sets it)", QueueDirectory.inCommandLineWords("maxDiskBytes must be 0"
                + " (unbounded) or at least two arenas; set QueueConfig.builder().maxDiskBytes(..) or"
                + " bigqueue.maxDiskBytes"));
    }
}
