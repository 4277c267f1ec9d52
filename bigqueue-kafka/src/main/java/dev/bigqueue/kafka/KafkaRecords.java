package dev.bigqueue.kafka;

import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The one place where a queue record becomes a Kafka record. Today a queue record is its value
 * alone: the Kafka record has a null key, no headers and the producer's clock as timestamp. Once
 * queue records carry a key, headers and a timestamp ({@code Message}), they map here, and
 * nowhere else.
 *
 * <p><b>Partition of a record without a key.</b> Kafka's default for a null key (the sticky
 * partitioner) picks partitions by batch, so a record sent again after a failure could land in
 * another partition than its first attempt, after records that followed it in the queue: per
 * partition order would break. Here a keyless record goes to a partition chosen by its queue
 * offset, {@code (offset / STRIPE) % partitions}: a resend lands where the first send went,
 * runs of {@value #STRIPE} records keep Kafka's batches full, and a window of in-flight records
 * spans several partitions. (A record with a key will go by the key's hash, as in Kafka.)
 */
final class KafkaRecords {
    /** Consecutive offsets sent to one partition. */
    static final int STRIPE = 1024;

    private KafkaRecords() {
    }

    static ProducerRecord<byte[], byte[]> of(String topic, int partitions, long offset, byte[] value) {
        int partition = (int) ((offset / STRIPE) % partitions);
        return new ProducerRecord<>(topic, partition, null, null, value);
    }
}
