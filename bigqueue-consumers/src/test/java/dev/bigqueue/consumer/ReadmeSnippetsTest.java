package dev.bigqueue.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.bigqueue.BigQueue;
import java.nio.file.Path;
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

            Consumer ledger = consumers.open("ledger", CommitMode.MANUAL);
            byte[] entry = ledger.dequeue();
            // ... process entry ...
            ledger.commit();                                 // a crash before this redelivers entry
            // --- end ---
            assertEquals("order #1", next);
            assertArrayEquals("order #1".getBytes(), event);
            assertArrayEquals("order #1".getBytes(), entry);
            assertEquals(1, ledger.committedPosition());
        }
    }
}
