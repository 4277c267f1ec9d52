package dev.bigqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.testing.ChildJvm;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every field of a message survives kill -9 of the writing JVM: each acknowledged message comes
 * back whole, with its key, headers, timestamp and value, and the time index answers by the rule.
 */
class MessageCrashTest {
    private static final QueueConfig CONFIG = QueueConfig.builder().arenaSize(64 * 1024).build();

    @TempDir
    Path tmp;

    /** Message i, the same in the child and the test. */
    static Message message(long i) {
        Random r = new Random(i);
        Message.Builder b = Message.builder();
        if (i % 3 != 0) {
            b.key("key-" + i);
        }
        for (int h = 0; h < i % 4; h++) {
            b.header("h" + h, ("value-" + i + "-" + h).getBytes());
        }
        // Timestamps go forward, now and then back.
        b.timestamp(Instant.ofEpochMilli(1_000_000 + i * 3 - (i % 17 == 0 ? 50 : 0)));
        if (i % 11 == 5) {
            return b.key("gone-" + i).value((byte[]) null).build();
        }
        byte[] v = new byte[i % 50 == 0 ? 70_000 : r.nextInt(300)];
        r.nextBytes(v);
        return b.value(v).build();
    }

    /** The child: appends message(i) for ever from its tail, saying "ACK i" once enqueue returned. */
    public static final class Writer {
        public static void main(String[] args) {
            try (BigQueue q = BigQueue.open(Path.of(args[0]), CONFIG)) {
                System.out.println("READY " + q.tailOffset());
                System.out.flush();
                for (long i = q.tailOffset(); ; i++) {
                    long offset = q.enqueue(message(i));
                    System.out.println("ACK " + offset);
                    if (offset % 64 == 0) {
                        System.out.flush();
                    }
                }
            }
        }
    }

    @Test
    void everyAcknowledgedMessage_survivesKill9_withEveryField() throws Exception {
        Path dir = tmp.resolve("q");
        Random random = new Random();
        long acked = -1;
        for (int round = 0; round < 3; round++) {
            try (ChildJvm child = ChildJvm.start(Writer.class, dir.toString())) {
                child.awaitLine("READY", Duration.ofSeconds(30));
                long target = acked + 500 + random.nextInt(3000);
                String line = child.awaitLine(l -> l.startsWith("ACK ") && Long.parseLong(l.substring(4)) >= target,
                        Duration.ofSeconds(60));
                child.kill();
                for (String l : child.lines()) {
                    if (l.startsWith("ACK ")) {
                        acked = Math.max(acked, Long.parseLong(l.substring(4)));
                    }
                }
                assertTrue(line != null && acked >= target);
            }
            try (BigQueue q = BigQueue.open(dir, CONFIG)) {
                long tail = q.tailOffset();
                assertTrue(tail > acked, "round " + round + ": every acknowledged message is there (" + acked + " < "
                        + tail + ")");
                long[] ts = new long[(int) tail];
                for (int i = 0; i < tail; i++) {
                    ts[i] = message(i).timestamp().toEpochMilli();
                }
                for (long i = q.headOffset(); i < tail; i++) {
                    Message expected = message(i);
                    Message m = q.dequeueMessage();
                    assertEquals(i, m.offset());
                    assertEquals(expected.timestamp(), m.timestamp(), "timestamp of " + i);
                    assertArrayEquals(expected.key(), m.key(), "key of " + i);
                    assertEquals(expected.headers(), m.headers(), "headers of " + i);
                    assertArrayEquals(expected.value(), m.value(), "value of " + i);
                }
                int from = (int) q.earliestOffset();
                for (int k = 0; k < 50; k++) {
                    long t = 1_000_000 + random.nextInt((int) (tail * 3 + 10));
                    assertEquals(OffsetForTimeTest.model(ts, from, t), q.offsetForTime(Instant.ofEpochMilli(t)),
                            "t " + t);
                }
            }
        }
    }
}
