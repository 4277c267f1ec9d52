package dev.bigqueue.bench.kv;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * The peer: a {@link ConcurrentHashMap} for reads and a Chronicle Queue journal (defaults, one
 * appender per thread) of every put, key and value, written before the map is updated. Both copy
 * the value on put and on get, as LatestValues does.
 */
final class ChronicleKv implements KvPeer {
    private final ChronicleQueue journal;
    private final ConcurrentHashMap<String, byte[]> map = new ConcurrentHashMap<>();

    ChronicleKv(Path dir) {
        System.setProperty("chronicle.analytics.disable", "true");
        this.journal = SingleChronicleQueueBuilder.single(dir.toFile()).build();
    }

    @Override
    public String name() {
        return "ConcurrentHashMap + Chronicle Queue";
    }

    @Override
    public void put(String key, byte[] value) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        try (DocumentContext dc = journal.acquireAppender().writingDocument()) {
            dc.wire().bytes().writeInt(k.length).write(k).writeInt(value.length).write(value);
        }
        map.put(key, value.clone());
    }

    @Override
    public byte[] get(String key) {
        byte[] v = map.get(key);
        return v == null ? null : v.clone();
    }

    @Override
    public void close() {
        journal.close();
    }
}
