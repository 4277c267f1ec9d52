package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.payload;
import static dev.bigqueue.consumer.Fixtures.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.testing.CapturedLog;
import dev.bigqueue.testing.QueueFiles;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A consumer "file" that cannot be read at all (here a directory under a consumer file's name; a
 * file the process may not read, or an I/O error, go the same way) is a consumer whose position is
 * unknown, like a damaged one: opening that consumer fails naming it; collection keeps every arena
 * (guarantee 6) and says which file stopped it; the queue opens, also after a crash, and the other
 * consumers are moved back to a recovered tail as usual. Before, the IOException of that one file
 * escaped the whole listing: every gc() failed with "Is a directory" without naming the file, and
 * an unclean queue could not be opened at all.
 */
class UnreadableConsumerFileTest {
    @TempDir
    Path dir;

    private static QueueConfig config() {
        return small().toBuilder().ownConsumer(false).build();
    }

    /**
     * The WARN of a collection stopped by an unreadable consumer file comes once per problem, not
     * once per pass: a BLOCK writer at maxDiskBytes runs a pass every few milliseconds, which logged
     * it hundreds of times a second. A problem that comes back after being mended is said again.
     */
    @Test
    void theCollectionsWarnOfAnUnreadableFile_comesOncePerProblem() throws Exception {
        Path stray = dir.resolve("consumers").resolve("stray.consumer");
        try (BigQueue q = BigQueue.open(dir, config()); CapturedLog log = new CapturedLog()) {
            Consumer reader = Consumers.of(q).open("reader");
            q.enqueueString(payload(0));
            Files.createDirectories(stray);
            for (int i = 0; i < 5; i++) {
                q.gc();
            }
            assertEquals(1, skipped(log), log.text());
            Files.delete(stray);
            q.gc();
            Files.createDirectories(stray);
            q.gc();
            q.gc();
            assertEquals(2, skipped(log), "said again once it came back: " + log.text());
            reader.close();
        }
    }

    private static long skipped(CapturedLog log) {
        return log.warnings("dev.bigqueue.").stream().filter(l -> l.contains("garbage collection skipped")).count();
    }

    @Test
    void aConsumerFileThatCannotBeRead_keepsEveryArena_andNamesItself_andTheQueueStillOpens() throws Exception {
        Path stray = dir.resolve("consumers").resolve("stray.consumer");
        try (BigQueue q = BigQueue.open(dir, config())) {
            Consumers consumers = Consumers.of(q);
            Consumer reader = consumers.open("reader");
            for (int i = 0; i < 300; i++) {
                q.enqueueString(payload(i));
            }
            Files.createDirectories(stray);
            while (reader.dequeue() != null) {
                // read everything: only the stray consumer could hold arenas now
            }
            q.gc();
            assertEquals(0, q.earliestOffset(), "a consumer of unknown position keeps every arena");
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> consumers.open("stray"));
            assertTrue(e.getMessage().contains(stray.toAbsolutePath().toString()), e.getMessage());
            assertEquals(Set.of("reader", "stray"), consumers.names());
        }
        // As a kill -9 leaves it: the open recovers and checks every consumer against the tail.
        QueueFiles.markUnclean(dir);
        try (BigQueue q = BigQueue.open(dir, config())) {
            Consumers consumers = Consumers.of(q);
            assertEquals(300, consumers.open("reader").position());
            q.gc();
            assertEquals(0, q.earliestOffset());
            assertTrue(consumers.delete("stray") || !Files.exists(stray));
        }
    }
}
