package dev.bigqueue.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import dev.bigqueue.QueueConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Named consumers read messages with their fields, seek by time, and follow retention. */
class MessageConsumerTest {
    @TempDir
    Path dir;

    private static QueueConfig config(Duration retention) {
        return QueueConfig.builder().arenaSize(4096).pretouch(false).gcInterval(Duration.ZERO).ownConsumer(false)
                .retention(retention).build();
    }

    @Test
    void messageApi_andSeekToTime() throws InterruptedException {
        try (BigQueue q = BigQueue.open(dir, config(Duration.ZERO))) {
            for (int i = 0; i < 500; i++) {
                q.enqueue(Message.builder().key("k" + (i % 7)).header("i", String.valueOf(i))
                        .timestamp(Instant.ofEpochMilli(10_000 + i * 10L)).value("v" + i).build());
            }
            Consumer c = Consumers.of(q).open("reader");
            Message m = c.peekMessage();
            assertEquals(0, m.offset());
            assertEquals("k0", m.keyString());
            assertEquals("0", m.headers().get(0).valueString());
            assertEquals(m, c.dequeueMessage());
            assertEquals(1, c.takeMessage().offset());
            assertEquals(2, c.dequeueMessage(Duration.ofSeconds(1)).offset());
            c.seekToTime(Instant.ofEpochMilli(10_000 + 321 * 10L));
            assertEquals(321, c.position());
            assertEquals("v321", c.dequeueMessage().valueString());
            c.seekToTime(Instant.ofEpochMilli(10_000 + 321 * 10L - 5));
            assertEquals(321, c.position());
            c.seekToTime(Instant.ofEpochMilli(0));
            assertEquals(0, c.position());
            c.seekToTime(Instant.ofEpochMilli(1_000_000));
            assertEquals(500, c.position());
            assertNull(c.dequeueMessage());
            assertEquals("v", "v499".substring(0, 1));
        }
    }

    /** A requeued message keeps its key and headers, with the step's result as its value. */
    @Test
    void requeue_keepsKeyAndHeaders_andATombstoneStaysOne() {
        try (BigQueue q = BigQueue.open(dir, config(Duration.ZERO))) {
            q.enqueue(Message.builder().key("k1").header("h", "one").header("h", "two").value("v").build());
            q.enqueue(Message.builder().key("gone").value((byte[]) null).build());
            q.enqueueString("plain");
            Consumer c = Consumers.of(q).open("retry");
            for (int i = 0; i < 3; i++) {
                // A tombstone's value is empty: an empty result, so it stays a tombstone.
                assertTrue(c.requeue(v -> v.length == 0 ? v
                        : (new String(v, StandardCharsets.UTF_8) + "!").getBytes(StandardCharsets.UTF_8)));
            }
            Message keyed = c.dequeueMessage();
            assertEquals("k1", keyed.keyString());
            assertEquals("v!", keyed.valueString());
            assertEquals(2, keyed.headers().size());
            assertEquals("one", keyed.headers().get(0).valueString());
            assertEquals("two", keyed.headers().get(1).valueString());
            Message tombstone = c.dequeueMessage();
            assertEquals("gone", tombstone.keyString());
            assertTrue(tombstone.isTombstone(), "an empty result keeps a tombstone a tombstone");
            Message plain = c.dequeueMessage();
            assertNull(plain.key());
            assertEquals("plain!", plain.valueString());
            assertNull(c.dequeueMessage());
        }
    }

    @Test
    void retention_movesALaggingOpenConsumer_andAnUnopenedPersistedOne_toTheEarliest() {
        Instant old = Instant.now().minus(Duration.ofDays(2));
        try (BigQueue q = BigQueue.open(dir, config(Duration.ZERO))) {
            Consumers consumers = Consumers.of(q);
            consumers.open("lagging").close();
            consumers.open("unopened").close();
            for (int i = 0; i < 300; i++) {
                q.enqueue(Message.builder().timestamp(old).value(("old-" + i + "-" + "x".repeat(60)).getBytes())
                        .build());
            }
            for (int i = 0; i < 50; i++) {
                q.enqueue(("new-" + i).getBytes());
            }
            q.gc();
            assertEquals(0, q.earliestOffset(), "without retention the consumers hold everything");
        }
        try (BigQueue q = BigQueue.open(dir, config(Duration.ofDays(1)))) {
            Consumers consumers = Consumers.of(q);
            Consumer lagging = consumers.open("lagging");
            assertEquals(0, lagging.position());
            q.gc();
            long earliest = q.earliestOffset();
            assertTrue(earliest > 0 && earliest <= 300, "expired arenas went: " + earliest);
            Message first = lagging.dequeueMessage();
            assertEquals(earliest, first.offset(), "the lagging consumer resumes at the earliest message");
            lagging.close();
        }
        try (BigQueue q = BigQueue.open(dir, config(Duration.ZERO))) {
            Consumer unopened = Consumers.of(q).open("unopened");
            long earliest = q.earliestOffset();
            assertEquals(earliest, unopened.dequeueMessage().offset(), "the persisted consumer too, when opened");
            int rest = 0;
            while (unopened.dequeue() != null) {
                rest++;
            }
            assertEquals(350 - earliest - 1, rest);
        }
    }
}
