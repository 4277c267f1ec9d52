package dev.bigqueue.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * What a topic holds, read back with a plain KafkaConsumer, checked against the queue offsets
 * that were forwarded: every one arrived (none lost), the first arrival of each offset comes in
 * queue order within its partition (a resend after a failure repeats a run, it never lets a later
 * message overtake an earlier one), and how many arrived more than once (at least once).
 */
final class Delivered {
    /** Queue offsets as they arrived, per partition. */
    final Map<Integer, List<Long>> byPartition = new HashMap<>();
    long records;

    static String payload(long offset) {
        int pad = (int) (offset * 31 % 97);
        return "o" + offset + "|" + "p".repeat(pad);
    }

    static long offsetOf(byte[] value) {
        String s = new String(value, StandardCharsets.UTF_8);
        int bar = s.indexOf('|');
        long offset = Long.parseLong(s.substring(1, bar));
        if (!s.equals(payload(offset))) {
            throw new AssertionError("record for offset " + offset + " is damaged: " + s);
        }
        return offset;
    }

    /**
     * Reads the whole topic until it holds every offset below {@code expected} (or the hang
     * limit passes, and the check below reports what is missing).
     */
    static Delivered read(String bootstrap, String topic, long expected, Duration hangLimit) {
        Delivered d = new Delivered();
        BitSet seen = new BitSet();
        try (KafkaConsumer<byte[], byte[]> c = fromTheBeginning(bootstrap, topic)) {
            long deadline = System.nanoTime() + hangLimit.toNanos();
            while (seen.cardinality() < expected && System.nanoTime() - deadline < 0) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    long offset = offsetOf(r.value());
                    d.byPartition.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(offset);
                    d.records++;
                    seen.set((int) offset);
                }
            }
        }
        return d;
    }

    /** A consumer of every partition of {@code topic}, at the beginning of each (no group, no commits). */
    static KafkaConsumer<byte[], byte[]> fromTheBeginning(String bootstrap, String topic) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        p.put("enable.auto.commit", "false");
        p.put("max.poll.records", "5000");
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p);
        List<TopicPartition> parts = new ArrayList<>();
        for (PartitionInfo info : c.partitionsFor(topic, Duration.ofMinutes(1))) {
            parts.add(new TopicPartition(topic, info.partition()));
        }
        c.assign(parts);
        c.seekToBeginning(parts);
        return c;
    }

    /** Offsets below {@code expected} that never arrived. */
    long lost(long expected) {
        BitSet seen = new BitSet();
        byPartition.values().forEach(l -> l.forEach(o -> seen.set((int) (long) o)));
        return expected - seen.get(0, (int) expected).cardinality();
    }

    /** Records that repeat an offset that had arrived before. */
    long duplicates() {
        BitSet seen = new BitSet();
        long dup = 0;
        for (List<Long> l : byPartition.values()) {
            for (long o : l) {
                if (seen.get((int) o)) {
                    dup++;
                }
                seen.set((int) o);
            }
        }
        return dup;
    }

    /** First arrivals that came after a later offset's first arrival in the same partition. */
    long outOfOrder() {
        long bad = 0;
        for (List<Long> l : byPartition.values()) {
            BitSet seen = new BitSet();
            long highest = -1;
            for (long o : l) {
                if (!seen.get((int) o)) {
                    if (o < highest) {
                        bad++;
                    }
                    highest = Math.max(highest, o);
                    seen.set((int) o);
                }
            }
        }
        return bad;
    }

    String summary(long expected) {
        return records + " records for " + expected + " offsets: lost " + lost(expected) + ", out of order "
                + outOfOrder() + ", duplicates " + duplicates();
    }
}
