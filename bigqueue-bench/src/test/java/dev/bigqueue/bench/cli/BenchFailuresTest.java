package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.QueueConfig;
import dev.bigqueue.bench.peer.PeerType;
import dev.bigqueue.bench.run.BenchSuite;
import dev.bigqueue.testing.SmallTmpfs;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bigqueue bench} where its surroundings fail: standard output, the disk. */
class BenchFailuresTest {
    @TempDir
    Path dir;

    private static long entries(Path dir) throws IOException {
        try (Stream<Path> left = Files.list(dir)) {
            return left.count();
        }
    }

    /** {@code bigqueue bench | head -1}: Main's javadoc says a failed write to standard output is 1. */
    @Test
    void aFailedWriteToStandardOutputIsExitCode1_withoutAStackTrace() throws IOException {
        OutputStream closedPipe = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Broken pipe");
            }
        };
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"bench", "--peers", "bigqueue", "--sizes", "128", "--rate", "0",
            "--duration", "0.05", "--budget", "64KB", "--no-report", "--dir", dir.toString()},
                new PrintWriter(closedPipe, true), new PrintWriter(err, true));
        assertEquals(CliException.FAILED, code, err.toString());
        assertTrue(err.toString().contains("bench: error: cannot write to standard output"), err.toString());
        assertFalse(err.toString().contains("\tat "), err.toString());
        assertEquals(0, entries(dir), "the work directory is deleted");
    }

    /**
     * On a disk smaller than a run, the peers' mapped writes would fault mid-run (InternalError);
     * bench refuses before it starts, naming the free space and the options that help.
     */
    @Test
    void aDiskTooSmallForTheRunIsAUsageErrorNamingTheFreeSpaceAndTheOptions() throws Exception {
        try (SmallTmpfs disk = SmallTmpfs.mount(32L << 20)) {
            CliRun run = CliRun.run("", "bench", "--peers", "bigqueue,raw", "--sizes", "4KB", "--rate", "0",
                    "--budget", "64MB", "--no-report", "--dir", disk.path().toString());
            assertEquals(CliException.USAGE, run.exitCode(), run.err());
            assertTrue(run.err().contains("bench: error: " + disk.path() + " has 32"), run.err());
            assertTrue(run.err().contains("free, but the largest run needs about"), run.err());
            assertTrue(run.err().contains("--budget") && run.err().contains("--dir"), run.err());
            assertFalse(run.err().contains("\tat "), run.err());
            assertEquals(0, entries(disk.path()), "nothing was created there");
        }
    }

    @Test
    void theSpaceCheckCountsTheLargestRun_bigqueuesArenasAndTheRawBuffer() {
        BenchSuite.Settings small = settings(List.of(PeerType.BIGQUEUE), 1 << 20, 0);
        long arenas = 2 * QueueConfig.DEFAULT_ARENA_SIZE;
        assertTrue(BenchSuite.diskNeeded(small) >= arenas + (1 << 20), "two arenas and the budget");
        BenchCommand.checkFreeSpace(small, BenchSuite.diskNeeded(small));
        CliException e = assertThrows(CliException.class,
                () -> BenchCommand.checkFreeSpace(small, BenchSuite.diskNeeded(small) - 1));
        assertEquals(CliException.USAGE, e.exitCode());

        BenchSuite.Settings raw = settings(List.of(PeerType.RAW_MAPPED), 1L << 30, 0);
        assertTrue(BenchSuite.diskNeeded(raw) > 1L << 30, "the raw buffer holds the whole budget");
        BenchSuite.Settings latency = settings(List.of(PeerType.BIGQUEUE), 4096, 10_000_000);
        assertTrue(BenchSuite.diskNeeded(latency) > BenchSuite.diskNeeded(settings(List.of(PeerType.BIGQUEUE),
                4096, 0)), "a latency phase at 10M msg/s writes more than a 4 KiB budget");
    }

    private BenchSuite.Settings settings(List<PeerType> peers, long budget, long rate) {
        return new BenchSuite.Settings(peers, List.of(128), 2_000_000_000L, budget, 128, rate, 3, 1, dir, false, -1);
    }
}
