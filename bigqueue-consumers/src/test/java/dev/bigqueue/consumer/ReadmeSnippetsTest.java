package dev.bigqueue.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.bigqueue.BigQueue;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's quick start, kept compiling and running (change both together). */
class ReadmeSnippetsTest {
    @TempDir
    Path tmp;

    @Test
    void quickStart() throws InterruptedException {
        Path events = tmp.resolve("events");
        // --- README: Quick start ---
        try (BigQueue queue = BigQueue.open(events)) {
            queue.enqueueString("order #1");                 // returns the offset: 0, 1, 2, ...
            String next = queue.dequeueString();             // the queue's own consumer; null when empty

            Consumers consumers = Consumers.of(queue);       // module bigqueue-consumers
            Consumer billing = consumers.open("billing");    // resumes at its committed offset
            byte[] event = billing.take();                   // waits for a message

            Consumer audit = consumers.open("audit");
            List<byte[]> batch = new ArrayList<>();
            int n = audit.drainTo(batch, 500, Duration.ofSeconds(1)); // up to 500; waits up to 1 s for one
            audit.read((offset, view) -> index(view), 500); // read-only views, no array per message

            Consumer ledger = consumers.open("ledger", CommitMode.MANUAL);
            byte[] entry = ledger.dequeue();
            // ... process entry ...
            ledger.commit();                                 // a crash before this redelivers entry
            // --- end ---
            assertEquals("order #1", next);
            assertArrayEquals("order #1".getBytes(), event);
            assertEquals(1, n);
            assertArrayEquals("order #1".getBytes(), batch.get(0));
            assertArrayEquals("order #1".getBytes(), entry);
            assertEquals(1, ledger.committedPosition());
        }
    }

    private static void index(ByteBuffer view) {
        throw new AssertionError("audit drained the only message: nothing is left to index");
    }
}
