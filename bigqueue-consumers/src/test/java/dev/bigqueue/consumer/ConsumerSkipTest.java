package dev.bigqueue.consumer;

import static dev.bigqueue.consumer.Fixtures.offsetOf;
import static dev.bigqueue.consumer.Fixtures.payload;
import static dev.bigqueue.consumer.Fixtures.small;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueClosedException;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code Consumer.skipOwn}, the way LatestValues' follower passes its own puts without reading them
 * back: it moves exactly one record (records of every size, straddling and spanning arenas), only
 * when the offset named is the next one and is in the queue, and commits like a dequeue.
 */
class ConsumerSkipTest {
    @TempDir
    Path dir;

    @Test
    void skipsAndDequeues_inRandomOrder_matchTheModel_acrossArenasAndReopen() {
        Random r = new Random(7);
        long next = 0;
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumer c = Consumers.of(q).open("c");
            for (int round = 0; round < 40; round++) {
                int add = r.nextInt(60);
                for (int i = 0; i < add; i++) {
                    q.enqueueString(payload(q.tailOffset()));
                }
                while (next < q.tailOffset() && r.nextInt(8) != 0) {
                    if (r.nextBoolean()) {
                        assertFalse(c.skipOwn(next + 1 + r.nextInt(3)), "skip of an offset that is not next");
                        assertTrue(c.skipOwn(next), "skip of offset " + next);
                    } else {
                        byte[] m = c.dequeue();
                        assertNotNull(m, "offset " + next);
                        assertEquals(next, offsetOf(m), "dequeue after skips");
                    }
                    next++;
                    assertEquals(next, c.position());
                }
            }
            while (next < q.tailOffset()) {
                assertTrue(c.skipOwn(next++));
            }
            assertFalse(c.skipOwn(next), "skip at the tail");
            assertNull(c.dequeue());
            q.enqueueString(payload(next));
        }
        try (BigQueue q = BigQueue.open(dir, small())) {
            Consumer c = Consumers.of(q).open("c");
            assertEquals(next, c.position(), "the skips were committed");
            assertEquals(next, offsetOf(c.dequeue()));
        }
    }

    @Test
    void skipOwn_afterClose_throws() {
        BigQueue q = BigQueue.open(dir, small());
        q.enqueueString(payload(0));
        Consumer c = Consumers.of(q).open("c");
        q.close();
        assertThrows(QueueClosedException.class, () -> c.skipOwn(0));
    }
}
