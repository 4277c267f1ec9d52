package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.internal.FileFormat;
import dev.bigqueue.testing.ChildJvm;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code inspect} of a queue whose writer was killed (kill -9 of a child JVM) and that no writer
 * has opened since: it shows what a reader sees and says that the queue was not closed cleanly and
 * which messages the writer had not synced. It showed the recorded durable point beside the
 * recovered tail, as if nothing were amiss ("durable below 0" when the writer never flushed).
 */
class CrashedWriterInspectTest {
    private static final int N = 1000;

    @TempDir
    Path tmp;

    private Path killedWriter() throws Exception {
        Path dir = tmp.resolve("q");
        try (ChildJvm writer = ChildJvm.start(CrashedWriterChild.class, dir.toString(), Integer.toString(N))) {
            writer.awaitLine("READY", Duration.ofMinutes(2));
            writer.kill();
        }
        return dir;
    }

    @Test
    void inspectAfterAWriterWasKilled_saysSo_andWhatItHadNotSynced() throws Exception {
        Path dir = killedWriter();

        CliRun text = CliRun.run("", "inspect", dir.toString());
        assertEquals(0, text.exitCode(), text.err());
        assertTrue(text.out().contains("writer     none, but the last one did not close the queue (it was killed or"
                + " crashed): shown as a reader sees it"), text.out());
        assertTrue(text.out().contains("offsets    earliest 0, head 0, tail " + 2 * N + ", durable below " + N),
                text.out());
        assertTrue(text.out().contains("the writer stopped before it synced messages " + N + ".." + (2 * N - 1)),
                text.out());
        CliRun json = CliRun.run("", "inspect", dir.toString(), "--json");
        assertEquals(0, json.exitCode(), json.err());
        assertTrue(json.out().contains("\"tailOffset\":" + 2 * N + ",\"durableOffset\":" + N
                + ",\"closedCleanly\":false"), json.out());

        // A writer's open recovers it (the same tail) and syncs it; closed, it is clean.
        try (BigQueue queue = BigQueue.open(dir)) {
            assertEquals(2 * N, queue.tailOffset(), "the tail inspect showed is the one recovered");
        }
        CliRun clean = CliRun.run("", "inspect", dir.toString());
        assertTrue(clean.out().contains("tail " + 2 * N + ", durable below " + 2 * N), clean.out());
        assertFalse(clean.out().contains("did not close"), clean.out());
        assertTrue(CliRun.run("", "inspect", dir.toString(), "--json").out().contains("\"closedCleanly\":true"));
    }

    /**
     * After a restart of the machine (another boot id than the one queue.meta recorded), everything
     * a reader sees was read back from the disk: it is durable.
     */
    @Test
    void inspectAfterAWriterDiedAndTheMachineRestarted_showsEverythingDurable() throws Exception {
        Path dir = killedWriter();
        try (RandomAccessFile meta = new RandomAccessFile(dir.resolve(FileFormat.META_FILE).toFile(), "rw")) {
            meta.seek(FileFormat.META_BOOT_ID_OFFSET);
            meta.writeLong(0x0123456789abcdefL); // a boot id no kernel of this machine has now
        }
        CliRun text = CliRun.run("", "inspect", dir.toString());
        assertEquals(0, text.exitCode(), text.err());
        assertTrue(text.out().contains("did not close the queue (it was killed or crashed, and the machine has"
                + " restarted since)"), text.out());
        assertTrue(text.out().contains("tail " + 2 * N + ", durable below " + 2 * N), text.out());
        assertTrue(text.out().contains("read back from the disk after the restart"), text.out());
    }
}
