package dev.bigqueue.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.testing.ChildJvm;
import dev.bigqueue.testing.Soak;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chaos: the broker killed with {@code kill -9} and restarted twice during a stream, and the
 * forwarding process killed with {@code kill -9} at random points, sometimes while it enqueues.
 * Both check that every offset arrived, the first arrival of each in order within its partition,
 * and print the duplicates (at least once: a killed forwarder resends at most its in-flight
 * window). The default run streams {@code kafka.chaos.messages} 20,000 messages with 6 forwarder
 * kills ({@code kafka.chaos.cycles}); {@code -Pkafka-chaos} (or {@code -Psoak}) 100,000 and 25.
 */
class KafkaChaosTest extends OneBroker {
    private static final int CYCLES = Soak.rounds("kafka.chaos.cycles", 6, 25);
    private static final int MESSAGES = Soak.rounds("kafka.chaos.messages", 20_000, 100_000);

    @TempDir
    Path dir;

    @Test
    void brokerKilledTwiceDuringAStream_losesNothing_keepsOrder() throws Exception {
        broker.createTopic("chaos-broker", 3);
        long total = MESSAGES;
        long start = System.nanoTime();
        try (BigQueue q = BigQueue.open(dir, KafkaForwarderTest.config());
                KafkaForwarder f = KafkaForwarder.builder().queue(q).topic("chaos-broker")
                        .producerProperties(broker.producerProperties())
                        .retryBackoff(Duration.ofMillis(50), Duration.ofSeconds(1)).build()) {
            f.start();
            Thread producer = new Thread(() -> KafkaForwarderTest.enqueue(q, total), "test-producer");
            producer.start();
            for (long killAt : new long[] {total / 5, total * 3 / 5}) {
                Await.until(() -> f.committedOffset() >= killAt, () -> "committed " + f.committedOffset());
                broker.kill();
                Await.until(() -> f.lastError() != null, () -> "no failure seen");
                broker.restart();
            }
            producer.join();
            Await.until(() -> f.committedOffset() >= total, () -> "committed " + f.committedOffset()
                    + ", last error " + f.lastError());
        }
        Delivered d = Delivered.read(broker.bootstrap(), "chaos-broker", total, Await.HANG);
        System.out.println("CHAOS broker kill -9 x2: " + d.summary(total) + " in "
                + (System.nanoTime() - start) / 1_000_000 + " ms");
        assertEquals(0, d.lost(total), d.summary(total));
        assertEquals(0, d.outOfOrder(), d.summary(total));
    }

    @Test
    void forwarderKilledAtRandomPoints_resendsAtMostItsWindow() throws Exception {
        broker.createTopic("chaos-forwarder", 3);
        long seed = Long.getLong("kafka.chaos.seed", System.nanoTime());
        Random r = new Random(seed);
        long perCycle = MESSAGES / CYCLES;
        long start = System.nanoTime();
        int killedWhileEnqueuing = 0;
        for (int cycle = 0; cycle < CYCLES; cycle++) {
            try (ChildJvm child = ChildJvm.start(ForwarderChild.class, dir.toString(), broker.bootstrap(),
                    "chaos-forwarder", Long.toString(perCycle))) {
                child.awaitLine("OPENED", Await.HANG);
                if (r.nextInt(5) == 0) {
                    child.kill(); // while it enqueues, or opens the producer
                    killedWhileEnqueuing++;
                    continue;
                }
                long tail = Long.parseLong(child.awaitLine("ENQUEUED", Await.HANG).substring(9));
                long from = Long.parseLong(child.awaitLine("FROM", Await.HANG).substring(5));
                long target = from + (long) (r.nextDouble() * (tail - from));
                child.awaitLine(l -> l.startsWith("C ") && Long.parseLong(l.substring(2)) >= target, Await.HANG);
                child.kill();
            }
        }
        long tail;
        try (ChildJvm child = ChildJvm.start(ForwarderChild.class, dir.toString(), broker.bootstrap(),
                "chaos-forwarder", "0", "finish")) {
            tail = Long.parseLong(child.awaitLine("DONE", Await.HANG).substring(5));
        }
        Delivered d = Delivered.read(broker.bootstrap(), "chaos-forwarder", tail, Await.HANG);
        String summary = "CHAOS forwarder kill -9 x" + CYCLES + " (" + killedWhileEnqueuing + " while enqueuing,"
                + " seed " + seed + "): " + d.summary(tail) + " in " + (System.nanoTime() - start) / 1_000_000 + " ms";
        System.out.println(summary);
        assertTrue(tail >= perCycle, summary);
        assertEquals(0, d.lost(tail), summary);
        assertEquals(0, d.outOfOrder(), summary);
        assertTrue(d.duplicates() <= (long) CYCLES * 2_000, "more duplicates than the in-flight windows: " + summary);
    }
}
