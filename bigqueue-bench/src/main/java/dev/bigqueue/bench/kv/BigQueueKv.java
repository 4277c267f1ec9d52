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
    private static final String FLUSH_MS = System.getProperty("kv.flushIntervalMs");
    private static final String EVERY_BYTES = System.getProperty("kv.checkpointEveryBytes");

    private final BigQueue queue;
    private final LatestValues store;

    BigQueueKv(Path dir) {
        QueueConfig.Builder config = QueueConfig.builder().ownConsumer(false);
        if (FLUSH_MS != null) {
            config.flushInterval(Duration.ofMillis(Long.parseLong(FLUSH_MS)));
        }
        LatestValuesOptions.Builder options = LatestValuesOptions.builder();
        if (EVERY_BYTES != null) {
            options.checkpointEveryBytes(Long.parseLong(EVERY_BYTES));
        }
        this.queue = BigQueue.open(dir, config.build());
        this.store = LatestValues.open(queue, "kv", options.build());
    }

    @Override
    public String name() {
        return "bigqueue LatestValues" + (FLUSH_MS == null ? "" : ", flushInterval " + FLUSH_MS + " ms")
                + (EVERY_BYTES == null ? "" : ", checkpointEveryBytes " + EVERY_BYTES);
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
