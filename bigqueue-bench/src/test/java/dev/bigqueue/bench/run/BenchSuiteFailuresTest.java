package dev.bigqueue.bench.run;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.bench.peer.PeerType;
import dev.bigqueue.testing.SmallTmpfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run that fails becomes a note of the results; the other runs and the tables go on. */
class BenchSuiteFailuresTest {
    @TempDir
    Path dir;

    private static BenchSuite.Settings settings(Path workDir, long budgetBytes) {
        // A minute per phase: the runs end on the byte budget (or the fault), never on the clock.
        return new BenchSuite.Settings(List.of(PeerType.RAW_MAPPED), List.of(4096), 60_000_000_000L, budgetBytes,
                128, 0, 1, 1, workDir, false, -1);
    }

    /**
     * The raw peer maps a sparse file larger than the disk; writing past the disk's end is a fault
     * in the mapped write, which the JVM throws as InternalError ("a fault occurred in a recent
     * unsafe memory access"). bench's space check keeps it from starting such a run; a disk that
     * fills from elsewhere meanwhile must still cost only that run.
     */
    @Test
    void aMappedWriteFaultOnAFullDiskIsANoteOfThatRun() throws Exception {
        try (SmallTmpfs disk = SmallTmpfs.mount(16L << 20)) {
            BenchSuite.Results results = new BenchSuite(settings(disk.path(), 64L << 20), (done, total, what) -> {
            }).run();
            assertTrue(results.notes().stream().anyMatch(n -> n.startsWith("raw 4 KiB throughput failed in round 1:")
                    && n.contains("InternalError") && n.contains("disk is full")), results.notes().toString());
        }
    }

    /** A work directory that cannot be listed: the run's own error stays, the cleanup's is a note. */
    @Test
    void aCleanupFailureIsANote_andDoesNotReplaceTheRunsError() throws Exception {
        Path notADirectory = Files.createFile(dir.resolve("work"));
        BenchSuite.Results results = new BenchSuite(settings(notADirectory, 4096), (done, total, what) -> {
        }).run();
        assertTrue(results.notes().stream().anyMatch(n -> n.contains("throughput failed in round 1")
                && n.contains("cannot create benchmark directory")), results.notes().toString());
        assertTrue(results.notes().stream().anyMatch(n -> n.startsWith("cannot clean benchmark directory")),
                results.notes().toString());
    }
}
