package dev.bigqueue.bench.cli;

import static dev.bigqueue.bench.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.internal.RefusedWriteBack;
import dev.bigqueue.internal.StreamPoint;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code inspect} tells an operator that a write-back failed (the marker a refused sync leaves),
 * which the next open that writes the queue rewrites (inspect itself only looks). The failure on a
 * real failing disk is bigqueue-core's {@code WriteBackFailureTest}; here the marker is left as that
 * failure leaves it.
 */
class WriteBackMarkerCliTest {
    @TempDir
    Path tmp;

    @Test
    void inspect_reportsTheRefusedWriteBack_andLeavesItToTheNextWritingOpen() throws Exception {
        Path dir = tmp.resolve("q");
        CliRun produce = run("a\nb\nc\n", "produce", dir.toString(), "--arena-size", "64KB");
        assertEquals(0, produce.exitCode(), produce.err());
        RefusedWriteBack.record(dir, new StreamPoint(1, 0));

        CliRun inspect = run("", "inspect", dir.toString());
        assertEquals(0, inspect.exitCode(), inspect.err());
        assertTrue(inspect.out().contains("write-back an earlier open's disk refused records from offset 1 on; the"
                + " next open that writes the queue (produce, gc, the application) rewrites them into new files"),
                inspect.out());
        assertTrue(Files.exists(dir.resolve("writeback-failed")), "inspect only looks: it changes no file");

        assertEquals(0, run("", "gc", dir.toString()).exitCode());
        assertFalse(Files.exists(dir.resolve("writeback-failed")), "gc's open rewrote them");
        CliRun json = run("", "inspect", dir.toString(), "--json");
        assertTrue(json.out().contains("\"writeBackRefusedFrom\":null"), json.out());
        assertFalse(json.out().contains("write-back"), json.out());
    }
}
