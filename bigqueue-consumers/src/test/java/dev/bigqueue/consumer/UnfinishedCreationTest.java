package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.internal.ConsumerOwnership;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code Consumers.of} deletes what a crash left of a consumer creation ({@code NAME.consumer.tmp},
 * never renamed into place), but never the temporary file of a creation in progress: a read-only
 * open in another process (or beside the writer in this one) runs {@code Consumers.of} at any
 * moment, while the writer creates a consumer. Deleting that file made the creation fail with a
 * NoSuchFileException on its rename.
 */
class UnfinishedCreationTest {
    @TempDir
    Path dir;

    private static QueueConfig readOnly() {
        return QueueConfig.builder().readOnly(true).build();
    }

    /** The creation in progress, frozen: its owner holds the name and its temporary file is there. */
    @Test
    void aCreationInProgress_keepsItsTemporaryFile_whenAnotherOpenCleansUp() throws Exception {
        try (BigQueue q = BigQueue.open(dir, small())) {
            q.enqueueString("x");
        }
        Path tmp = dir.resolve("consumers").resolve("busy.consumer.tmp");
        Path leftover = dir.resolve("consumers").resolve("crashed.consumer.tmp");
        try (ConsumerOwnership creating = ConsumerOwnership.acquire(dir, "busy")) {
            Files.write(tmp, new byte[17]);
            Files.write(leftover, new byte[17]);
            try (BigQueue ro = BigQueue.open(dir, readOnly())) {
                Consumers.of(ro);
            }
            assertTrue(Files.exists(tmp), "the temporary file of a creation in progress was deleted");
            assertFalse(Files.exists(leftover), "what a crash left is deleted");
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumers.of(q);
            assertFalse(Files.exists(tmp), "once nobody holds the name, its leftover goes too");
        }
    }

    /** The real race: the writer creates consumers while read-only opens come and go. */
    @Test
    void writerCreatingConsumers_whileReadOnlyOpensComeAndGo_everyCreationSucceeds() throws Exception {
        int creations = Integer.getInteger("bigqueue.unfinishedCreation.rounds", 300);
        try (BigQueue q = BigQueue.open(dir, small().toBuilder().ownConsumer(false).build())) {
            q.enqueueString("x");
            Consumers consumers = Consumers.of(q);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> readerError = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                while (!stop.get()) {
                    try (BigQueue ro = BigQueue.open(dir, readOnly())) {
                        Consumers.of(ro);
                    } catch (Throwable t) {
                        readerError.compareAndSet(null, t);
                        return;
                    }
                }
            }, "read-only opens");
            reader.start();
            List<String> failed = new ArrayList<>();
            try {
                for (int i = 0; i < creations && failed.size() < 3; i++) {
                    try {
                        assertEquals(0, consumers.open("c" + i).position());
                    } catch (RuntimeException e) {
                        failed.add("c" + i + ": " + e);
                    }
                }
            } finally {
                stop.set(true);
                reader.join();
            }
            assertNull(readerError.get(), () -> "a read-only open failed: " + readerError.get());
            assertEquals(List.of(), failed, "creations failed while read-only opens cleaned up");
        }
    }
}
