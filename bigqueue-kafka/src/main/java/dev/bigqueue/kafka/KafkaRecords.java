package dev.bigqueue.kafka;

import dev.bigqueue.Header;
import dev.bigqueue.Message;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The one place where a queue message becomes a Kafka record: its key, headers (in order, names
 * may repeat, as in Kafka), timestamp and value become the record's; a tombstone (a keyed message
 * with no value) becomes a Kafka tombstone, which a compacted topic understands the same way.
 *
 * <p><b>Partition.</b> A keyed record goes by the key's hash, as in Kafka, so a resend lands where
 * its first attempt went. Kafka's default for a null key (the sticky partitioner) picks partitions
 * by batch, so a record sent again after a failure could land in another partition than its first
 * attempt, after records that followed it in the queue: per-partition order would break. So a
 * keyless record goes to a partition chosen by its queue offset, {@code (offset / STRIPE) %
 * partitions}: a resend lands where the first send went, runs of {@value #STRIPE} records keep
 * Kafka's batches full, and a window of in-flight records spans several partitions.
 */
final class KafkaRecords {
    /** Consecutive offsets sent to one partition. */
    static final int STRIPE = 1024;

    private KafkaRecords() {
    }

    static ProducerRecord<byte[], byte[]> of(String topic, int partitions, Message message) {
        byte[] key = message.key();
        Integer partition = key == null ? Integer.valueOf((int) ((message.offset() / STRIPE) % partitions)) : null;
        return new ProducerRecord<>(topic, partition, message.timestamp().toEpochMilli(), key, message.value(),
                headers(message.headers()));
    }

    private static RecordHeaders headers(List<Header> headers) {
        RecordHeaders out = new RecordHeaders();
        for (Header h : headers) {
            out.add(new RecordHeader(h.name(), h.value()));
        }
        return out;
    }
}
