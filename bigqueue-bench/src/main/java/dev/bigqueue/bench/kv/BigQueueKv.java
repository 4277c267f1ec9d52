package dev.bigqueue.bench.kv;

import dev.bigqueue.BigQueue;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.consumer.LatestValues;
import dev.bigqueue.consumer.LatestValuesOptions;
import java.nio.file.Path;

/** bigqueue's {@link LatestValues} with its defaults, on a queue read only through named consumers. */
final class BigQueueKv implements KvPeer {
    private final BigQueue queue;
    private final LatestValues store;

    BigQueueKv(Path dir) {
        this.queue = BigQueue.open(dir, QueueConfig.builder().ownConsumer(false).build());
        this.store = LatestValues.open(queue, "kv", LatestValuesOptions.defaults());
    }

    @Override
    public String name() {
        return "bigqueue LatestValues";
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
