package dev.bigqueue.bench.kv;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.consumer.LatestValues;
import dev.bigqueue.consumer.LatestValuesOptions;
import java.nio.file.Path;
import java.time.Duration;

/**
 * bigqueue's {@link LatestValues} with its defaults, on a queue read only through named consumers.
 * To see what durability and bounded start-up cost in the workload (the peer has neither),
 * {@code -Dkv.flushIntervalMs=0} turns the periodic flush off and {@code -Dkv.checkpointEveryBytes=0}
 * the checkpoints by bytes (each rewrites the whole map, so with 100 KB values they write about as
 * much as the puts do).
 */
final class BigQueueKv implements KvPeer {
    private final BigQueue queue;
    private final LatestValues store;

    BigQueueKv(Path dir) {
        QueueConfig.Builder config = QueueConfig.builder().ownConsumer(false);
        String flushMs = System.getProperty("kv.flushIntervalMs");
        if (flushMs != null) {
            config.flushInterval(Duration.ofMillis(Long.parseLong(flushMs)));
        }
        LatestValuesOptions.Builder options = LatestValuesOptions.builder();
        String everyBytes = System.getProperty("kv.checkpointEveryBytes");
        if (everyBytes != null) {
            options.checkpointEveryBytes(Long.parseLong(everyBytes));
        }
        this.queue = BigQueue.open(dir, config.build());
        this.store = LatestValues.open(queue, "kv", options.build());
    }

    @Override
    public String name() {
        String flushMs = System.getProperty("kv.flushIntervalMs");
        String everyBytes = System.getProperty("kv.checkpointEveryBytes");
        return "bigqueue LatestValues" + (flushMs == null ? "" : ", flushInterval " + flushMs + " ms")
                + (everyBytes == null ? "" : ", checkpointEveryBytes " + everyBytes);
    }

    @Override
    public void put(String key, byte[] value) {
        store.put(key, value);
    }

    @Override
    public byte[] get(String key) {
        return store.get(key);
    }

    @Override
    public void close() {
        store.close();
        queue.close();
    }
}
